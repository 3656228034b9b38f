"""AutoTCL: hard-concrete mask, augmentation network, alternating steps, resume, datasets, run layer, presets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks as _data
from tscl.augment.network import AugmentationNetwork, hard_concrete_sample, temporal_consistency
from tscl.augment.windows import random_windows
from tscl.errors import ConfigError
from tscl.model import ContrastiveModel
from tscl.objectives import create_objective, list_objectives
from tscl.objectives.autotcl import AutoTCLObjective

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu"}
AUG = {"aug_hidden_dims": 8, "aug_dims": 4, "window": 24}


def _weights(model: ContrastiveModel) -> dict[str, torch.Tensor]:
    state = {f"net.{k}": v for k, v in model.net.state_dict().items()}
    state.update({f"avg.{k}": v for k, v in model.averaged.state_dict().items()})
    state.update({f"aug.{k}": v for k, v in model.objective.augmenter.state_dict().items()})  # type: ignore[attr-defined]
    return state


# -- hard concrete and the augmentation network ---------------------------------------------------------
def test_hard_concrete_range_hardness_and_straight_through() -> None:
    logits = torch.zeros(4, 30, 3, requires_grad=True)
    soft = hard_concrete_sample(logits, 0.5, 0.1, 0.05, hard=False, generator=torch.Generator().manual_seed(0))
    assert soft.min() >= 0 and soft.max() <= 1 and ((soft > 0) & (soft < 1)).any()
    hard = hard_concrete_sample(logits, 0.5, 0.1, 0.05, hard=True, generator=torch.Generator().manual_seed(0))
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    hard.sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0  # straight-through gradient
    again = hard_concrete_sample(logits, 0.5, 0.1, 0.05, hard=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(hard, again)
    # Logits reach every keep probability (no sigmoid-of-a-sigmoid squeeze into [0.47, 0.74]).
    high = hard_concrete_sample(torch.full((1000,), 8.0), 0.5, 0.05, 0.05, True, torch.Generator().manual_seed(1))
    low = hard_concrete_sample(torch.full((1000,), -8.0), 0.5, 0.05, 0.05, True, torch.Generator().manual_seed(1))
    assert high.mean() > 0.99 and low.mean() < 0.01


def test_temporal_consistency_penalises_only_changes() -> None:
    assert float(temporal_consistency(torch.ones(2, 10, 3))) == 0.0
    alternating = torch.arange(10).remainder(2).float().view(1, 10, 1)
    assert float(temporal_consistency(alternating)) == pytest.approx(1.0)


def test_view_keeps_covariates_and_missing_values() -> None:
    net = AugmentationNetwork(4, n_covariates=2, hidden_dims=8, aug_dims=4, noise_std=0.1)
    x = torch.randn(3, 20, 4)
    x[0, 5, 3] = float("nan")
    x[1, 15:, :] = float("nan")  # variable-length padding
    view = net(x, generator=torch.Generator().manual_seed(0))
    assert view.values.shape == x.shape and view.mask.shape == (3, 20, 2)
    assert torch.equal(torch.isnan(view.values), torch.isnan(x))  # NaN exactly where the input is NaN
    same_covariates = torch.where(torch.isnan(x[..., :2]), 0.0, x[..., :2] - view.values[..., :2])
    assert same_covariates.abs().max() == 0
    assert view.keep_rate().item() > 0


def test_scale_can_shrink_and_enlarge_and_inference_is_deterministic() -> None:
    net = AugmentationNetwork(2, hidden_dims=8, aug_dims=4, max_scale=3.0, noise_std=0.0)
    x = torch.randn(2, 16, 2)
    with torch.no_grad():
        net.transform_head.bias.fill_(20.0)
        assert torch.allclose(net.heads(x)[1], torch.tensor(3.0), rtol=1e-4)
        net.transform_head.bias.fill_(-20.0)
        assert torch.allclose(net.heads(x)[1], torch.tensor(1 / 3), rtol=1e-4)
        net.mask_head.bias.fill_(20.0)
        net.transform_head.bias.fill_(0.0)
        net.transform_head.weight.zero_()
        kept = net(x, sample=False)
    assert torch.allclose(kept.values, x, atol=1e-5)  # sigmoid(w) ~ 1, g = 1, no noise at inference
    assert torch.equal(net(x, sample=False).values, kept.values)


def test_random_windows_stay_inside_observed_span() -> None:
    x = torch.full((3, 100, 2), float("nan"))
    x[0, 10:60] = 1.0
    x[1, :] = 2.0
    x[2, 40:45] = 3.0  # shorter than the window: the window starts at its first value
    windows = random_windows(x, 20, 60, torch.Generator().manual_seed(0))
    assert windows.shape == (60, 20, 2)
    first = windows[:, 0, 0]
    assert set(first.tolist()) == {1.0, 2.0, 3.0}  # every series is drawn, always from an observed step
    assert not torch.isnan(windows[first != 3.0]).any()  # long enough: no padding inside the window
    short = windows[first == 3.0]
    assert (short[:, :5] == 3.0).all() and torch.isnan(short[:, 5:]).all()
    assert random_windows(x, 200, 5, torch.Generator()) is x
    assert random_windows(x, None, 5, torch.Generator()) is x


# -- alternating optimisation ---------------------------------------------------------------------------
def _objective(**options: object) -> tuple[AutoTCLObjective, torch.nn.Module]:
    from tscl.models import create_encoder

    torch.manual_seed(0)
    encoder = create_encoder("ts2vec", input_dims=2, output_dims=8, hidden_dims=8, depth=1)
    objective = create_objective("autotcl", encoder, input_dims=2, **{**AUG, **options})
    return objective, encoder  # type: ignore[return-value]


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


@pytest.mark.parametrize("aug_objective", ["fidelity", "adversarial"])
def test_augmenter_step_freezes_encoder_and_encoder_step_freezes_augmenter(aug_objective: str) -> None:
    objective, encoder = _objective(aug_objective=aug_objective)
    x = torch.from_numpy(_data(n=4, t=24))
    g = torch.Generator().manual_seed(0)
    enc, aug = _params(encoder), _params(objective.augmenter)
    objective._augmenter_step(x, g)
    assert _changed(aug, objective.augmenter) and not _changed(enc, encoder)
    assert all(p.requires_grad for p in encoder.parameters())
    aug = _params(objective.augmenter)
    objective._encoder_step(x, g)
    assert _changed(enc, encoder) and not _changed(aug, objective.augmenter)


def test_ratio_step_spaces_augmenter_updates() -> None:
    objective, _ = _objective(ratio_step=3)
    x = torch.from_numpy(_data(n=4, t=24))
    g = torch.Generator().manual_seed(0)
    updates = []
    for _ in range(6):
        before = _params(objective.augmenter)
        objective.training_step(x, g)
        updates.append(_changed(before, objective.augmenter))
    assert updates == [True, False, False, True, False, False]
    assert math.isnan(objective.diagnostics["mmd"]) and 0 <= objective.diagnostics["keep_rate"] <= 1


@pytest.mark.parametrize("loss", ["infonce", "hierarchical", "dcl", "siglip"])
def test_every_loss_trains(loss: str) -> None:
    model = ContrastiveModel(**SMALL, objective="autotcl", objective_options={**AUG, "loss": loss})
    model.fit(_data(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))
    assert set(model.objective.diagnostics) >= {"keep_rate", "view_distance", "mmd", "aug_loss"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("loss", ["hierarchical", "infonce"])
def test_context_crop_contrasts_x_and_its_view_on_the_crop_overlap(loss: str) -> None:
    from tscl.training.views import crop_views, draw_crop

    objective, encoder = _objective(context_crop=True, loss=loss, noise_std=0.3)
    encoder.eval()  # no dropout: the check below replays the generator's draws
    x = torch.from_numpy(_data(n=4, t=24))
    x[1, :5] = float("nan")
    g, replay = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        expected_view = objective.augmenter(x, generator=replay).values
        plan = draw_crop(4, 24, 0, replay)
        crop_x, crop_v = crop_views(x, plan, second=expected_view)
        zx = encoder(crop_x, generator=replay)[:, -plan.crop_length :]
        zv = encoder(crop_v, generator=replay)[:, : plan.crop_length]
        expected = objective.encoder_loss(zx, zv)
    loss_value, view = objective._encoder_step(x, g)  # after: the step updates the encoder
    torch.testing.assert_close(view.values, expected_view, atol=0, rtol=0, equal_nan=True)
    assert loss_value == pytest.approx(float(expected), rel=1e-5)
    assert plan.crop_length < 24  # a real crop was drawn for this seed
    model = ContrastiveModel(**SMALL, objective="autotcl", objective_options={**AUG, "context_crop": True})
    model.fit(_data(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))


def test_options_are_validated() -> None:
    assert "autotcl" in list_objectives()
    for bad in ({"loss": "ntxent"}, {"ratio_step": 0}, {"gumbel_bias": 0.6}, {"aug_objective": "x"},
                {"max_scale": 0.5}, {"temperature": 0}, {"aug_optimizer": "sgd"}):  # fmt: skip
        with pytest.raises(ConfigError, match="must be"):
            _objective(**bad)
    with pytest.raises(ConfigError, match="n_covariates"):
        _objective(n_covariates=2)


# -- exact resume, determinism, datasets ----------------------------------------------------------------
def test_resume_equals_straight_run(tmp_path) -> None:
    X = _data(n=10)
    X[0, 30:] = np.nan
    options = {**AUG, "ratio_step": 2, "loss": "siglip"}
    straight = ContrastiveModel(**SMALL, objective="autotcl", objective_options=options).fit(X, n_iters=6)
    first = ContrastiveModel(**SMALL, objective="autotcl", objective_options=options).fit(X, n_iters=3)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(X, n_iters=6)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
    assert resumed.progress.losses == pytest.approx(straight.progress.losses)
    assert resumed.objective.iteration == 6  # type: ignore[attr-defined]


def test_global_random_state_untouched() -> None:
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    ContrastiveModel(**SMALL, objective="autotcl", objective_options=AUG).fit(_data(), n_iters=2)
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize("name", ["GunPoint", "BasicMotions", "JapaneseVowels"])
def test_classification_datasets(name: str) -> None:
    from tscl.data import load_dataset

    data = load_dataset(name)
    model = ContrastiveModel(**SMALL, objective="autotcl", objective_options=AUG).fit(data.X_train[:24], n_iters=2)
    reprs = model.encode(data.X_test[:10])
    assert reprs.shape == (10, 16) and np.isfinite(reprs).all()


def test_forecasting_with_covariates(shared_datasets) -> None:
    from tscl.data import load_dataset

    data = load_dataset("ETTh1", shared_datasets, univariate=True)
    X = data.pretrain_array()[:, :600]
    options = {**AUG, "n_covariates": data.n_covariates, "window_batch": 6}
    model = ContrastiveModel(**SMALL, objective="autotcl", objective_options=options).fit(X, n_iters=2)
    assert model.objective.augmenter.mask_head.out_features == 1  # type: ignore[attr-defined]
    assert np.isfinite(model.encode(X[:, :50], mode="timestamp")).all()


# -- run layer, presets, CLI ----------------------------------------------------------------------------
def _config(**changes: object):
    from tscl.training.config import PretrainConfig

    base = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "iters": 3, "device": "cpu",
            "checkpoint_every": 2, "objective": "autotcl", "aug_hidden_dims": 8, "aug_dims": 4}  # fmt: skip
    return PretrainConfig(**{**base, **changes})  # type: ignore[arg-type]


def test_run_writes_diagnostics_and_representation_quality(tmp_path) -> None:
    from tscl.pretraining import pretrain

    result = pretrain(_config(), run_dir=tmp_path / "run")
    lines = (result.run_dir / "diagnostics.csv").read_text().splitlines()
    assert lines[0].split(",")[:3] == ["step", "loss", "aug_loss"] and "keep_rate" in lines[0]
    assert len(lines) == 4
    assert (result.run_dir / "plots" / "diagnostics.png").stat().st_size > 0
    meta = json.loads((result.run_dir / "meta.json").read_text())
    quality = meta["representation"]
    assert 0 <= quality["alignment"] <= 4 and -4 <= quality["uniformity"] <= 0
    assert quality["held_out"].startswith("test split")


def test_resumed_run_continues_the_diagnostics(tmp_path) -> None:
    from tscl.pretraining import pretrain, resume

    run = pretrain(_config(iters=3), run_dir=tmp_path / "run").run_dir
    resume(run, iters=5)
    steps = [line.split(",")[0] for line in (run / "diagnostics.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3", "4", "5"]


def test_context_crop_defaults_to_on_for_classification_only(tmp_path) -> None:
    from tscl.pretraining import objective_options, pretrain, task_defaults
    from tscl.training.config import load_config

    assert task_defaults(_config(), "classification").context_crop is True
    assert task_defaults(_config(), "forecasting").context_crop is None  # the objective's default: whole
    assert task_defaults(_config(context_crop=False), "classification").context_crop is False  # --whole-views
    ts2vec = _config(objective="ts2vec", aug_hidden_dims=None, aug_dims=None)
    assert task_defaults(ts2vec, "classification").context_crop is None
    assert "context_crop" not in objective_options(_config())
    run = pretrain(_config(iters=1), run_dir=tmp_path / "run").run_dir  # the offline default: classification
    assert "context_crop = true" in (run / "config.toml").read_text()
    assert 'encoder = "ts2vec"' in (run / "config.toml").read_text()
    resumed = load_config(run / "config.toml")
    assert resumed.context_crop is True and objective_options(resumed)["context_crop"] is True


def test_autotcl_defaults_to_cost_and_infonce_on_forecasting_only() -> None:
    from tscl.pretraining import task_defaults

    assert task_defaults(_config(), "forecasting").encoder == "cost"
    assert task_defaults(_config(), "forecasting").loss == "infonce"
    assert task_defaults(_config(loss="dcl"), "forecasting").loss == "dcl"  # --loss wins
    assert task_defaults(_config(), "classification").encoder == "ts2vec"
    assert task_defaults(_config(), "classification").loss is None  # the objective's own: hierarchical
    assert task_defaults(_config(encoder="ts2vec"), "forecasting").encoder == "ts2vec"  # --encoder wins
    ts2vec = _config(objective="ts2vec", aug_hidden_dims=None, aug_dims=None)
    assert task_defaults(ts2vec, "forecasting").encoder == "ts2vec"
    assert task_defaults(ts2vec.replace(encoder="cost"), "classification").encoder == "cost"


def test_objective_options_are_checked_against_the_objective() -> None:
    from tscl.pretraining import objective_options

    assert objective_options(_config(reg_weight=0.5), n_covariates=7)["n_covariates"] == 7
    assert objective_options(_config())["window_batch"] == 4
    with pytest.raises(ConfigError, match="reg_weight must not be set for objective ts2vec"):
        objective_options(_config(objective="ts2vec", aug_hidden_dims=None, aug_dims=None, reg_weight=0.5))
    with pytest.raises(ConfigError, match="gamma_zeta"):
        _config(gamma_zeta=2.0)


def test_preset_precedence(tmp_path) -> None:
    from tscl.objectives.presets import get_preset, list_presets
    from tscl.training.config import resolve_config

    assert "autotcl-etth1-univariate" in list_presets()
    preset = resolve_config(preset="autotcl-etth1-univariate")
    assert (preset.lr, preset.window, preset.iters, preset.objective) == (3e-5, 257, 115, "autotcl")
    from_file = resolve_config(preset="autotcl-etth1-univariate", file_values={"lr": 1e-4, "window": 300})
    assert (from_file.lr, from_file.window, from_file.reg_weight) == (1e-4, 300, 0.003)
    flags = resolve_config(file_values={"preset": "autotcl-ettm1-univariate", "lr": 1e-4}, lr=2e-4)
    assert (flags.lr, flags.preset, flags.window) == (2e-4, "autotcl-ettm1-univariate", 512)
    with pytest.raises(ConfigError, match="autotcl-etth1-multivariate"):
        get_preset("autotcl")


def test_cli_flags_reach_the_run(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from tscl.cli import main

    run = tmp_path / "cli"
    args = ["pretrain", "--objective", "autotcl", "--iters", "2", "--repr-dims", "8", "--hidden-dims", "8",
            "--depth", "1", "--device", "cpu", "--run-dir", str(run), "--aug-dims", "4", "--aug-hidden-dims", "8",
            "--reg-weight", "0.2", "--soft-mask", "--loss", "dcl", "--context-crop", "--json"]  # fmt: skip
    main(args)
    assert json.loads(capsys.readouterr().out)["steps"] == 2
    text = (run / "config.toml").read_text()
    assert "reg_weight = 0.2" in text and "hard_mask = false" in text and 'loss = "dcl"' in text
    assert "context_crop = true" in text
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--preset", "nope", "--run-dir", str(tmp_path / "x")])
    assert exit_info.value.code == 1 and "autotcl-etth1-univariate" in capsys.readouterr().err
