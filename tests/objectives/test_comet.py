"""COMET: the id-level loss against a loop, the pyramid terms, level weights, the group-aware sampler, training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_helpers import one_line_error, run_cli
from tscl.data.group_sampler import group_batch_order
from tscl.encoders import create_encoder
from tscl.errors import ConfigError
from tscl.losses._id_contrast import id_contrastive_loss, pyramid_loss
from tscl.losses.hierarchical import hierarchical_contrastive_loss, instance_contrastive_loss
from tscl.objectives import create_objective
from tscl.objectives.base import Setup
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 8, "hidden_dims": 8, "depth": 1}


def loop_reference(z1: torch.Tensor, z2: torch.Tensor, ids: list[int], temperature: float) -> float:
    """Every same-id pair (i != j), both directions, as plain Python sums of exponentials."""
    a = [v / math.sqrt(float(v @ v)) for v in z1.double()]
    b = [v / math.sqrt(float(v @ v)) for v in z2.double()]
    n = len(ids)
    sim = [[float(a[i] @ b[j]) / temperature for j in range(n)] for i in range(n)]
    forward, backward = [], []
    for i in range(n):
        for j in range(n):
            if i != j and ids[i] == ids[j]:
                forward.append(-(sim[i][j] - math.log(sum(math.exp(sim[i][k]) for k in range(n)))))
                backward.append(-(sim[i][j] - math.log(sum(math.exp(sim[k][j]) for k in range(n)))))
    if not forward:
        return 0.0
    return (sum(forward) / len(forward) + sum(backward) / len(backward)) / 2


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
@pytest.mark.parametrize(
    "ids",
    [[0, 0, 1, 1, 2, 2], [0, 1, 0, 2, 1, 3, 3], [5, 5, 5, 5], [0, 1, 2, 3], [7, 7, 1]],
    ids=["pairs", "mixed", "single group", "no same-id pair", "one pair"],
)
def test_id_loss_matches_the_loop(ids: list[int], temperature: float) -> None:
    g = torch.Generator().manual_seed(len(ids))
    z1 = torch.randn(len(ids), 5, generator=g, requires_grad=True)
    z2 = torch.randn(len(ids), 5, generator=g, requires_grad=True)
    value = id_contrastive_loss(z1, z2, torch.tensor(ids), temperature)
    assert value.item() == pytest.approx(loop_reference(z1.detach(), z2.detach(), ids, temperature), rel=1e-5, abs=1e-7)
    value.backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all()
    if len(set(ids)) == len(ids):
        assert value.item() == 0 and not z1.grad.any()


def test_id_loss_closed_form() -> None:
    # Orthonormal views equal in both passes: S = I / t, so each pair costs log(1 + e^(1/t)).
    z = torch.eye(2)
    value = id_contrastive_loss(z, z, torch.tensor([3, 3]), 0.1)
    assert value.item() == pytest.approx(math.log(1 + math.exp(10)), rel=1e-6)


def test_id_loss_refuses_bad_shapes() -> None:
    with pytest.raises(Exception, match="must be"):
        id_contrastive_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))


def test_pyramid_instance_term_is_ts2vec_with_alpha_one() -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 13, 6, generator=g), torch.randn(4, 13, 6, generator=g)
    ours = pyramid_loss(z1, z2, instance_contrastive_loss, last_scale=True)
    assert ours.item() == pytest.approx(hierarchical_contrastive_loss(z1, z2, alpha=1.0).item(), rel=1e-5)


def _setup(lr: float = 1e-3) -> Setup:
    torch.manual_seed(0)
    return Setup(create_encoder("ts2vec", 2, **SMALL), None, 2, lr=lr)


class CountingEncoder(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    def forward(
        self, x: torch.Tensor, mask: str | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        self.calls.append(mask)
        return self.inner(x, mask=mask, generator=generator)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("weights", "passes"),
    [({}, 8), ({"patient_weight": 0}, 6), ({"patient_weight": 0, "trial_weight": 0, "observation_weight": 0}, 2),
     ({"sample_weight": 0, "observation_weight": 0}, 4)],
)  # fmt: skip
def test_weight_zero_skips_the_levels_forward_passes(weights: dict[str, float], passes: int) -> None:
    setup = _setup()
    counting = CountingEncoder(setup.encoder)
    setup.encoder = counting
    objective = create_objective("comet", setup, **weights)
    x = torch.randn(8, 16, 2, generator=torch.Generator().manual_seed(1))
    ids = {"subject": torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), "trial": torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])}
    objective.training_step(x, torch.Generator().manual_seed(2), ids=ids)
    assert len(counting.calls) == passes
    off = {name.removesuffix("_weight") for name in weights}
    assert set(objective.diagnostics) == {f"{level}_loss" for level in ("patient", "trial", "sample", "observation")
                                          if level not in off}  # fmt: skip
    assert counting.calls.count("all_true") == 2 * len({"patient", "trial"} - off)


def test_all_levels_off_is_refused() -> None:
    weights = {f"{level}_weight": 0 for level in ("patient", "trial", "sample", "observation")}
    with pytest.raises(
        ConfigError, match="at least one of patient_weight, trial_weight, sample_weight, observation_weight"
    ):
        create_objective("comet", _setup(), **weights)


def test_all_levels_off_is_a_one_line_error_naming_the_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = [f"objective.{level}_weight=0" for level in ("patient", "trial", "sample", "observation")]
    run = tmp_path / "run"
    args = ["pretrain", "--objective", "comet", "--iters", "1", "--threads", "1", "--device", "cpu"]
    code, _, err = run_cli([*args, *(f"--set={value}" for value in off), "--run-dir", str(run)], capsys)
    line = one_line_error(code, err, "at least one of patient_weight")
    assert line.startswith("error: objective comet is invalid: ")
    assert not run.exists()


def test_loss_goes_down_on_a_fixed_batch() -> None:
    objective = create_objective("comet", _setup(lr=3e-3))
    g = torch.Generator().manual_seed(0)
    x = torch.cumsum(torch.randn(8, 32, 2, generator=g), dim=1)
    ids = {"subject": torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), "trial": torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])}
    losses = [objective.training_step(x, torch.Generator().manual_seed(step), ids=ids) for step in range(25)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def _ids(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    subjects, trials = [], []
    for subject in range(7):
        for trial in range(int(rng.integers(1, 5))):
            n = int(rng.integers(3, 30))
            subjects += [subject] * n
            trials += [subject * 10 + trial] * n
    return np.array(subjects), np.array(trials)


@pytest.mark.parametrize("batch_size", [8, 9, 12, 16, 31, 32, 64])
def test_sampler_puts_both_kinds_of_pair_in_every_full_batch(batch_size: int) -> None:
    subjects, trials = _ids(np.random.default_rng(batch_size))
    order = group_batch_order(subjects, trials, batch_size, seed=3)
    assert sorted(order) == list(range(len(subjects)))
    assert order == group_batch_order(subjects, trials, batch_size, seed=3)
    assert order != group_batch_order(subjects, trials, batch_size, seed=4)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        rows = np.array(order[start : start + batch_size])
        t, s = trials[rows], subjects[rows]
        assert any((t == trial).sum() >= 2 for trial in np.unique(t)), f"batch at {start}: no same-trial pair"
        assert len(set(s[:4].tolist())) == 1, f"batch at {start} does not start with a block of one subject"


@pytest.mark.parametrize("batch_size", [8, 16, 32])
def test_sampler_pairs_two_trials_of_a_subject_when_trials_are_alike(batch_size: int) -> None:
    # watch.npz-like: every subject has several recordings of similar length
    rng = np.random.default_rng(batch_size)
    sizes = rng.integers(9, 13, size=(6, 5))
    subjects = np.concatenate([np.full(n, s) for s in range(6) for n in sizes[s]])
    trials = np.concatenate([np.full(n, s * 10 + t) for s in range(6) for t, n in enumerate(sizes[s])])
    order = group_batch_order(subjects, trials, batch_size, seed=0)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        rows = np.array(order[start : start + batch_size])
        t, s = trials[rows], subjects[rows]
        assert any(len(np.unique(t[s == subject])) >= 2 for subject in np.unique(s)), f"batch at {start}"


def test_sampler_refuses_small_batches() -> None:
    with pytest.raises(ConfigError, match="at least 8"):
        group_batch_order(np.zeros(10), np.zeros(10), 4, seed=0)


def test_model_feeds_ids_and_orders_epochs_with_the_sampler() -> None:
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(24, 16, 2)), axis=1).astype(np.float32)
    groups = {"subject": np.repeat([0, 1, 2], 8), "trial": np.repeat(np.arange(6), 4)}
    model = ContrastiveModel(2, objective="comet", batch_size=8, seed=1, device="cpu", **SMALL)
    model.fit(X, n_iters=2, groups=groups)
    assert model.objective.diagnostics["patient_loss"] > 0 and model.objective.diagnostics["trial_loss"] > 0
    order = model.progress.epoch_order
    assert sorted(order) == list(range(24)) and order != sorted(order)
    alone = ContrastiveModel(2, objective="comet", batch_size=8, seed=1, device="cpu", **SMALL).fit(X, n_iters=1)
    assert alone.objective.diagnostics["patient_loss"] == 0  # no ids: every series is its own patient


def test_a_run_whose_id_levels_never_had_a_positive_pair_ends_with_a_note_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(24, 16, 2)), axis=1).astype(np.float32)
    groups = {"subject": np.repeat([0, 1, 2], 8), "trial": np.repeat(np.arange(6), 4)}
    grouped = ContrastiveModel(2, objective="comet", batch_size=8, seed=1, device="cpu", **SMALL)
    assert grouped.fit(X, n_iters=2, groups=groups).objective.run_notes() == []
    one_trial_each = {"subject": groups["subject"], "trial": np.arange(24)}  # subjects pair, recordings cannot
    alone = ContrastiveModel(2, objective="comet", batch_size=8, seed=1, device="cpu", **SMALL)
    (note,) = alone.fit(X, n_iters=2, groups=one_trial_each).objective.run_notes()
    assert note.startswith("comet's trial level was 0 at every step: no two series of a batch shared a trial id")
    assert "only the patient, sample and observation levels trained" in note
    assert "--set objective.trial_weight=0" in note
    # The command line, on data without subject or trial ids (GunPoint, bundled with aeon):
    run = tmp_path / "run"
    args = ["pretrain", "--objective", "comet", "--dataset", "GunPoint", "--iters", "1", "--run-dir", str(run),
            "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1"]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "note: comet's patient and trial levels were 0 at every step" in err, err
    assert "only the sample and observation levels trained" in err and "grouped data" in err
    off = ["--set", "objective.patient_weight=0", "--set", "objective.trial_weight=0"]
    code, _, err = run_cli([*args[:-10], "--run-dir", str(tmp_path / "off"), *args[-8:], *off], capsys)
    assert code == 0 and "note:" not in err, err


def test_the_run_notes_are_kept_in_meta_json_beside_the_warnings(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    tiny = ["--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1", "--device", "cpu"]
    code, _, err = run_cli(["pretrain", "--objective", "comet", "--dataset", "GunPoint", "--iters", "1",
                            "--run-dir", str(run), *tiny], capsys)  # fmt: skip
    printed = [line.removeprefix("note: ") for line in err.splitlines() if line.startswith("note: ")]
    meta = json.loads((run / "meta.json").read_text())
    assert code == 0 and meta["status"] == "finished" and printed, err
    assert meta["notes"] == printed and meta["notes"][0].startswith("comet's patient and trial levels were 0")
    # a continuation says it again, from its own training (the file never keeps an earlier session's notes)
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "2", "--threads", "1"], capsys)
    meta = json.loads((run / "meta.json").read_text())
    assert code == 0 and meta["step"] == 2 and meta["notes"] == printed, err
    off = tmp_path / "off"
    code, _, err = run_cli(["pretrain", "--objective", "comet", "--dataset", "GunPoint", "--iters", "1",
                            "--run-dir", str(off), *tiny, "--set", "objective.patient_weight=0", "--set",
                            "objective.trial_weight=0"], capsys)  # fmt: skip
    assert code == 0 and "notes" not in json.loads((off / "meta.json").read_text()), err
