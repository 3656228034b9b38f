"""DBPM: summary and weights against loops, injected bad pairs found, wrapping refused where it cannot work."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from tscl.config import RunConfig, resolve_for_task
from tscl.encoders import ENCODERS, register_encoder
from tscl.errors import ConfigError
from tscl.losses import LOSSES, register_loss
from tscl.objectives.dbpm import bad_pair_weights, history_summary
from tscl.training.model import ContrastiveModel
from tscl.views import VIEWS, register_views

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"name": "ts2vec", "options": {"repr_dims": 8, "hidden_dims": 8, "depth": 2}}
FAULTY, NOISY = (3, 17, 40), (8, 29, 51)


def ref_summary(history: np.ndarray, recency: float) -> list[float]:
    out = []
    for n in range(history.shape[1]):
        total = norm = 0.0
        for e in range(history.shape[0]):
            if not math.isnan(history[e, n]):
                total += (e + 1) ** recency * history[e, n]
                norm += (e + 1) ** recency
        out.append(total / norm if norm else math.nan)
    return out


@pytest.mark.parametrize("recency", [0.0, 1.0, 2.5])
def test_summary_matches_loop_and_weighs_recent_epochs(recency: float) -> None:
    history = np.random.default_rng(1).normal(size=(5, 7))
    history[1, 2] = history[4, 3] = np.nan
    history[:, 6] = np.nan
    got = history_summary(torch.from_numpy(history), recency).numpy()
    np.testing.assert_allclose(got, ref_summary(history, recency), rtol=1e-12)
    assert math.isnan(got[6])
    rising = history_summary(torch.tensor([[0.0], [1.0]], dtype=torch.float64), 1.0)
    assert float(rising[0]) == pytest.approx(2 / 3)  # epoch 2 weighs twice epoch 1


@pytest.mark.parametrize("recency", [0.0, 1.0, 2.0])
def test_running_sums_give_the_summary_of_the_whole_history(recency: float) -> None:
    from tscl.encoders import create_encoder
    from tscl.losses import create_loss
    from tscl.objectives import create_objective
    from tscl.objectives.base import Setup
    from tscl.views import create_views

    setup = Setup(create_encoder("ts2vec", 1, depth=1), create_loss("infonce"), 1, views=create_views("tsaug"))
    objective = create_objective("dbpm", setup, recency=recency)
    history = np.random.default_rng(3).uniform(size=(6, 5))
    history[2, 1] = history[0, 4] = np.nan  # not seen in those epochs
    objective._grow(5)
    for epoch in history:
        seen = torch.from_numpy(~np.isnan(epoch))
        objective.epoch_sum = torch.from_numpy(np.nan_to_num(epoch) * 2)  # each seen twice
        objective.epoch_count = seen.double() * 2
        objective._end_epoch()
    expected = history_summary(torch.from_numpy(history), recency)
    torch.testing.assert_close(objective.summaries(), expected)


def ref_weights(s: list[float], noisy_cut: float, faulty_cut: float) -> tuple[list[float], list[bool], list[bool]]:
    known = [v for v in s if not math.isnan(v)]
    mu = sum(known) / len(known)
    sigma = math.sqrt(sum((v - mu) ** 2 for v in known) / len(known))
    weights, noisy, faulty = [], [], []
    for v in s:
        z = 0.0 if math.isnan(v) else (v - mu) / sigma
        noisy.append(not math.isnan(v) and z <= -noisy_cut)
        faulty.append(not math.isnan(v) and z >= faulty_cut)
        weights.append(math.exp(-z * z / 2) if noisy[-1] or faulty[-1] else 1.0)
    return weights, noisy, faulty


@pytest.mark.parametrize(("noisy_cut", "faulty_cut"), [(2.0, 3.0), (1.0, 1.5), (0.5, 0.5)])
@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_weights_match_loop_and_never_exceed_one(noisy_cut: float, faulty_cut: float, scale: float) -> None:
    rng = np.random.default_rng(2)
    s = np.concatenate([rng.normal(size=40), [6.0, 7.0, -5.0, np.nan]]) * scale + 1.0
    weights, noisy, faulty = bad_pair_weights(torch.from_numpy(s), noisy_cut, faulty_cut)
    expected = ref_weights(list(s), noisy_cut, faulty_cut)
    np.testing.assert_allclose(weights.numpy(), expected[0], rtol=1e-12)
    assert noisy.tolist() == expected[1] and faulty.tolist() == expected[2]
    assert bool(faulty[40]) and bool(faulty[41]) and not bool(noisy[43] or faulty[43])
    assert (weights <= 1).all() and (weights > 0).all()
    sigma = float(np.nanstd(s))
    density = 1 / (sigma * math.sqrt(2 * math.pi)) * math.exp(-0.5 * ((s[40] - np.nanmean(s)) / sigma) ** 2)
    if scale < 1:  # the public code's raw density would up-weight this faulty pair
        assert density > 1 and float(weights[40]) < 1


def test_weights_closed_form() -> None:
    s = torch.tensor([0.0] * 8 + [3.0], dtype=torch.float64)  # mu = 1/3, sigma = sqrt(8)/3
    weights, noisy, faulty = bad_pair_weights(s, 2.0, 2.5)
    z = (3.0 - 1 / 3) / (math.sqrt(8) / 3)
    assert z == pytest.approx(2.828427, rel=1e-6)
    assert faulty.tolist() == [False] * 8 + [True] and not noisy.any()
    assert float(weights[8]) == pytest.approx(math.exp(-z * z / 2)) and (weights[:8] == 1).all()
    same = bad_pair_weights(torch.ones(5, dtype=torch.float64))
    assert (same[0] == 1).all() and not same[1].any() and not same[2].any()  # sigma 0: nothing to flag


class CorruptingViews:
    """Jittered views (noise 0.3); a series marked 100 at step 0 gets a second view with twice the
    noise (a faulty pair), one marked -100 two identical views (a noisy pair)."""

    time_aligned = True

    def __init__(self, n_covariates: int = 0, meaningless: bool = False) -> None:
        self.meaningless = meaningless  # the faulty second view: pure noise instead

    def views(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        marker = x[:, 0, 0].clone()
        x = x.clone()
        x[:, 0, 0] = x[:, 1, 0]
        v1 = x + 0.3 * torch.randn(x.shape, generator=generator)
        v2 = x + 0.3 * torch.randn(x.shape, generator=generator)
        corrupted = (0 if self.meaningless else x) + (2 if self.meaningless else 0.6) * torch.randn(
            x.shape, generator=generator
        )
        v2 = torch.where((marker > 50)[:, None, None], corrupted, v2)
        v2 = torch.where((marker < -50)[:, None, None], v1, v2)
        return v1, v2


@pytest.fixture
def corrupting_views() -> Any:
    register_views("corrupting-test", CorruptingViews)
    yield
    VIEWS._registered.pop("corrupting-test", None)


def _marked_sines(n: int = 64, t: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    steps = np.arange(t)
    x = np.sin(2 * np.pi * steps / rng.uniform(6, 20, size=(n, 1)) + rng.uniform(0, 6, size=(n, 1)))
    x = x[:, :, None].astype(np.float32)
    x[list(FAULTY), 0, 0] = 100.0
    x[list(NOISY), 0, 0] = -100.0
    return x


class PairDistance(torch.nn.Module):
    """Mean squared difference of the two views' representations, per series."""

    aligned_views = True

    def per_sample(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return (z1 - z2).square().mean(dim=(1, 2))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return self.per_sample(z1, z2).mean()


class Scale(torch.nn.Module):
    """An encoder that only scales its input: the loss of a pair is then the views' own distance."""

    def __init__(self, input_dims: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor, mask: Any = None, generator: Any = None) -> torch.Tensor:
        return x * self.weight


@pytest.fixture
def pair_distance() -> Any:
    register_loss("pair-distance-test", PairDistance)
    register_encoder("scale-test", Scale)
    yield
    LOSSES._registered.pop("pair-distance-test", None)
    ENCODERS._registered.pop("scale-test", None)


def _model(loss: Any, encoder: Any = TINY, meaningless: bool = False) -> ContrastiveModel:
    objective = {"name": "dbpm", "options": {"inner": "augment"}}
    views = {"name": "corrupting-test", "options": {"meaningless": meaningless}}
    return ContrastiveModel(1, objective=objective, encoder=encoder, views=views, lr=3e-3,
                            batch_size=16, device="cpu", loss=loss)  # fmt: skip


def _indices(mask: torch.Tensor) -> set[int]:
    return set(torch.nonzero(mask).flatten().tolist())


def test_each_series_history_finds_the_injected_noisy_and_faulty_pairs(
    corrupting_views: Any, pair_distance: Any, tmp_path: Any
) -> None:
    model = _model("pair-distance-test", "scale-test").fit(_marked_sines(), n_epochs=10)  # 4 iterations per epoch
    objective = model.objective
    log = objective.epoch_log
    assert [row["epoch"] for row in log] == list(range(1, 11)) and [row["step"] for row in log][:2] == [4, 8]
    assert all(row["noisy"] == row["faulty"] == 0 for row in log[:5]), "nothing is flagged during the warm-up"
    assert objective.summaries().shape == (64,) and not objective.summaries().isnan().any()
    noisy, faulty = objective.flags()
    assert _indices(noisy) == set(NOISY) and _indices(faulty) == set(FAULTY)
    assert all(row["noisy"] == len(NOISY) and row["faulty"] == len(FAULTY) for row in log[5:])
    flagged = list(NOISY + FAULTY)
    assert (objective.weights[flagged] < 0.5).all() and (objective.weights.max() == 1)
    # stopped after 7 of its 10 epochs (the warm-up is a share of the planned epochs), it resumes exactly
    first = _model("pair-distance-test", "scale-test")
    first.fit(_marked_sines(), n_epochs=10, should_stop=lambda: first.progress.epoch >= 7)
    assert first.progress.epoch == 7
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(_marked_sines(), n_epochs=10)
    assert resumed.progress.losses == pytest.approx(model.progress.losses, rel=1e-6)
    resumed_log = resumed.objective.epoch_log
    assert len(resumed_log) == len(log)
    assert all(row == pytest.approx(ref) for row, ref in zip(resumed_log, log, strict=True))


def test_with_nt_xent_it_flags_a_small_share_mostly_the_corrupted_pairs(corrupting_views: Any) -> None:
    loss = {"name": "infonce", "options": {"temperature": 0.2}}  # the paper's NT-Xent setting
    objective = _model(loss, meaningless=True).fit(_marked_sines(), n_epochs=10).objective
    noisy, faulty = objective.flags()
    flagged = _indices(noisy | faulty)
    assert 0 < len(flagged) < 64 // 4, "a non-zero, non-total share is flagged after the warm-up"
    assert len(flagged & set(FAULTY)) >= 2 and len(flagged - set(FAULTY + NOISY)) <= 1


def test_it_takes_the_wrapped_objectives_needs_and_refuses_what_cannot_be_wrapped() -> None:
    def resolved(options: dict[str, Any], **sections: Any) -> RunConfig:
        values = {"objective": {"name": "dbpm", "options": options}, **sections}
        return resolve_for_task(RunConfig.model_validate(values), "classification")

    config = resolved({})
    assert (config.encoder.name, config.loss.name, config.views.name) == ("ts2vec", "infonce", "tsaug")
    assert resolved({"inner": "ts2vec"}, loss={"name": "infonce"}).views.name is None
    with pytest.raises(ConfigError, match="objective.inner must be another objective"):
        resolved({"inner": "dbpm"})
    with pytest.raises(ConfigError, match="objective.inner must be one of augment, .* but got 'nosuch'"):
        resolved({"inner": "nosuch"})
    x = np.zeros((4, 16, 1), dtype=np.float32)

    def build(options: dict[str, Any], **kwargs: Any) -> None:
        ContrastiveModel(1, objective={"name": "dbpm", "options": options}, encoder=TINY, **kwargs).fit(x, n_iters=1)

    with pytest.raises(ConfigError, match="built on a \\[loss\\] but timae has a loss of its own"):
        build({"inner": "timae"})
    with pytest.raises(ConfigError, match="must give per-series losses"):
        build({"inner": "ts2vec"})  # hierarchical gives none
    with pytest.raises(ConfigError, match="inner_options.window must be 0"):
        build({"inner_options": {"window": 8}})
    with pytest.raises(ConfigError, match=r"objective\.inner_options\.no_such is not an option of augment"):
        build({"inner_options": {"no_such": 1}})
    build({"inner": "ts2vec"}, loss="infonce")  # the crops keep one row per series


def test_five_values_can_reach_the_noisy_cutoff_four_cannot() -> None:
    # The bound run_notes relies on: with the population std no z-score of N values exceeds sqrt(N - 1).
    _, noisy, _ = bad_pair_weights(torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0], dtype=torch.float64))
    assert _indices(noisy) == {4}
    _, noisy, faulty = bad_pair_weights(torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64))
    assert not (noisy | faulty).any()


def test_it_says_when_the_data_or_the_length_of_training_let_it_weigh_nothing(
    corrupting_views: Any, pair_distance: Any
) -> None:
    full = _model("pair-distance-test", "scale-test").fit(_marked_sines(), n_epochs=10)
    assert full.objective.run_notes() == []
    short = _model("pair-distance-test", "scale-test").fit(_marked_sines(), n_epochs=1)
    (note,) = short.objective.run_notes()
    assert note.startswith("dbpm weighed no pair: training ended after 1 epoch(s), within its warm-up of 1")
    few = _model("pair-distance-test", "scale-test").fit(_marked_sines()[:4], n_epochs=10)
    (note,) = few.objective.run_notes()
    assert "with 4 training series no z-score exceeds sqrt(4 - 1) = 1.73" in note
    assert note.endswith("it needs at least 5 series")


def test_the_command_line_prints_the_note(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli_helpers import run_cli

    data = tmp_path / "three.npy"
    np.save(data, np.random.default_rng(0).normal(size=(3, 40, 1)).astype(np.float32))
    args = ["pretrain", "--dataset", str(data), "--objective", "dbpm", "--iters", "2", "--device", "cpu",
            "--set", "encoder.depth=1", "--run-dir", str(tmp_path / "run")]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "note: dbpm could flag no pair: with 3 training series" in " ".join(err.split())


def test_too_few_series_gets_a_remedy_dbpm_accepts(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli_helpers import one_line_error, run_cli

    data = tmp_path / "one.npy"
    np.save(data, np.random.default_rng(0).normal(size=(1, 40, 1)).astype(np.float32))
    run = tmp_path / "run"
    args = ["pretrain", "--dataset", str(data), "--objective", "dbpm", "--iters", "1", "--device", "cpu",
            "--set", "encoder.depth=1", "--run-dir", str(run)]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    one_line_error(code, err, "at least 2 series", "wrapped by objective dbpm")
    hint = err.strip().splitlines()[1]
    assert "dbpm weighs whole series" in hint and "objective.window" not in hint  # dbpm refuses windows
    assert not run.exists()
