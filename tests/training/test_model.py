"""Trainer behaviour: determinism, exact resume, iteration rule, cropping, encoding shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks
from tscl.training.model import ContrastiveModel
from tscl.views.crop import crop_views, draw_crop, prepare_training_array


def _data(n: int = 12, t: int = 40, c: int = 2, seed: int = 0) -> np.ndarray:
    return random_walks(n, t, c, seed)


SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu"}


def _weights(model: ContrastiveModel) -> dict[str, torch.Tensor]:
    state = {f"net.{k}": v for k, v in model.net.state_dict().items()}
    state.update({f"avg.{k}": v for k, v in model.averaged.state_dict().items()})
    return state


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=atol), key


def test_same_seed_gives_identical_weights() -> None:
    X = _data()
    a = ContrastiveModel(**SMALL, seed=3).fit(X, n_iters=6)
    b = ContrastiveModel(**SMALL, seed=3).fit(X, n_iters=6)
    _assert_same(_weights(a), _weights(b), atol=0)
    c = ContrastiveModel(**SMALL, seed=4).fit(X, n_iters=6)
    assert not torch.equal(a.net.input_fc.weight, c.net.input_fc.weight)


def test_training_does_not_touch_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ContrastiveModel(**SMALL).fit(_data(), n_iters=2)
    assert torch.equal(torch.rand(3), expected)


def test_resume_equals_straight_run(tmp_path) -> None:
    X = _data(n=10)  # 10 series, batch 4: epochs of 2 batches, so resume happens mid-epoch too
    straight = ContrastiveModel(**SMALL).fit(X, n_iters=7)
    first = ContrastiveModel(**SMALL).fit(X, n_iters=3)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(X, n_iters=7)
    _assert_same(_weights(straight), _weights(resumed))
    assert resumed.progress.step == 7
    assert resumed.progress.losses == pytest.approx(straight.progress.losses)


def test_checkpoints_keep_their_dropout_stream(tmp_path) -> None:
    # New runs draw dropout masks with numpy; checkpoints written before that (no "dropout_stream" entry)
    # continue with torch's bernoulli_, so that they resume exactly as the version that wrote them would.
    X = _data(n=10)
    model = ContrastiveModel(**SMALL).fit(X, n_iters=2)
    state = model.state_dict()
    assert state["dropout_stream"] == "numpy" and model.net.dropout_stream == "numpy"
    old = {key: value for key, value in state.items() if key != "dropout_stream"}
    loaded = ContrastiveModel.from_state(old, device="cpu")
    assert loaded.net.dropout_stream == "torch" and loaded.averaged.module.dropout_stream == "torch"
    x = torch.randn(3, 12, 2)
    outputs = []
    for stream in ("torch", "numpy"):
        loaded.net.train()
        loaded.net.dropout_stream = stream
        torch.manual_seed(5)
        outputs.append(loaded.net(x, mask="all_true"))
    assert not torch.equal(*outputs)  # the stream decides the masks (tests/test_config_migration: exact resume)
    assert ContrastiveModel.from_state(state, device="cpu").net.dropout_stream == "numpy"


def test_epochs_and_default_iteration_rule() -> None:
    X = _data(n=10)
    model = ContrastiveModel(**SMALL).fit(X, n_epochs=2)
    assert model.progress.epoch == 2 and model.progress.step == 4  # 10 // 4 = 2 batches per epoch
    assert len(model.progress.epoch_losses) == 2
    assert model.default_iters(np.zeros((10, 10_000, 1))) == 200
    assert model.default_iters(np.zeros((10, 10_001, 1))) == 600


def test_crop_views_overlap_on_the_same_timestamps() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(50, dtype=torch.float32).reshape(1, 50, 1).repeat(5, 1, 1)
    for _ in range(50):
        plan = draw_crop(5, 50, 0, gen)
        v1, v2 = crop_views(x, plan)
        overlap1 = v1[:, -plan.crop_length :]
        overlap2 = v2[:, : plan.crop_length]
        assert torch.equal(overlap1, overlap2)
        assert 2 <= plan.crop_length <= 50
        assert (v1 >= 0).all() and (v2 <= 49).all()


def test_crop_views_cut_the_second_view_from_a_time_aligned_series() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.arange(40, dtype=torch.float32).reshape(1, 40, 1).repeat(3, 1, 1)
    for _ in range(20):
        plan = draw_crop(3, 40, 0, gen)
        v1, v2 = crop_views(x, plan, second=-x)
        w1, w2 = crop_views(x, plan)
        assert torch.equal(v1, w1) and torch.equal(v2, -w2)
        assert torch.equal(v1[:, -plan.crop_length :], -v2[:, : plan.crop_length])


def test_long_series_are_sectioned_and_variable_length_centred() -> None:
    X = np.ones((2, 7000, 1), dtype=np.float32)
    out = prepare_training_array(X, max_train_length=3000)
    assert out.shape == (4, 3500, 1)
    Y = np.full((1, 10, 1), np.nan, dtype=np.float32)
    Y[0, :4] = 1.0
    centred = prepare_training_array(Y, max_train_length=3000)
    assert np.isnan(centred[0, :3]).all() and (centred[0, 3:7] == 1).all() and np.isnan(centred[0, 7:]).all()


def test_encode_shapes_and_nan_inputs() -> None:
    X = _data(n=5, t=30)
    X[0, 5:, :] = np.nan  # variable length
    X[1, 3, 0] = np.nan  # a missing value
    model = ContrastiveModel(**SMALL).fit(X, n_iters=2)
    inst = model.encode(X)
    steps = model.encode(X, mode="timestamp")
    causal = model.encode(X, mode="timestamp", causal_window=9)
    assert inst.shape == (5, 16) and steps.shape == (5, 30, 16) and causal.shape == (5, 30, 16)
    assert np.isfinite(inst).all() and np.isfinite(steps).all() and np.isfinite(causal).all()


def test_causal_encoding_equals_per_window_encoding() -> None:
    X = _data(n=2, t=25)
    model = ContrastiveModel(**SMALL).fit(X, n_iters=2)
    window = 7
    fast = model.encode(X, mode="timestamp", causal_window=window)
    net = model.averaged.module.eval()
    for i in range(2):
        for t in range(25):
            piece = X[i, max(0, t - window + 1) : t + 1]
            pad = np.full((window - piece.shape[0], 2), np.nan, dtype=np.float32)
            x = torch.from_numpy(np.concatenate([pad, piece]))[None]
            with torch.no_grad():
                slow = net(x)[0, -1].numpy()
            np.testing.assert_allclose(fast[i, t], slow, atol=1e-5)


def test_causal_representation_ignores_the_future() -> None:
    X = _data(n=1, t=30)
    model = ContrastiveModel(**SMALL).fit(X, n_iters=2)
    before = model.encode(X, mode="timestamp", causal_window=11)
    X2 = X.copy()
    X2[0, 20:] += 100.0
    after = model.encode(X2, mode="timestamp", causal_window=11)
    np.testing.assert_allclose(before[0, :20], after[0, :20], atol=1e-6)
    assert not np.allclose(before[0, 20:], after[0, 20:])


def test_channel_mismatch_is_a_clear_error() -> None:
    from tscl.errors import DataError

    model = ContrastiveModel(**SMALL).fit(_data(c=2), n_iters=1)
    with pytest.raises(DataError, match="must have 2 channels"):
        model.encode(_data(c=3))


def test_averaged_encoder_is_the_mean_of_initial_and_every_step() -> None:
    X = _data(n=8)
    model = ContrastiveModel(2, **SMALL, seed=5)
    snapshots = [model.net.input_fc.weight.detach().clone()]
    model.fit(X, n_iters=3, callback=lambda m, _loss: snapshots.append(m.net.input_fc.weight.detach().clone()))
    expected = torch.stack(snapshots).mean(dim=0)
    torch.testing.assert_close(model.averaged.module.input_fc.weight, expected, atol=1e-6, rtol=1e-5)


def test_a_section_mapping_with_flat_options_is_an_error_not_the_defaults() -> None:
    # {"name": ..., "repr_dims": 4} used to drop repr_dims silently and build the default encoder.
    from tscl.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown key 'encoder.repr_dims'") as info:
        ContrastiveModel(1, device="cpu", encoder={"name": "ts2vec", "repr_dims": 4})
    assert info.value.hint is not None and "encoder.options" in info.value.hint
    model = ContrastiveModel(1, device="cpu", encoder={"name": "ts2vec", "options": {"repr_dims": 4}})
    assert model.net.output_dims == 4
