"""REBAR: its InfoNCE and distance against loops, no leak of hidden steps, the two stages, resume in either."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from tscl.config import RunConfig, resolve_for_task
from tscl.errors import ConfigError
from tscl.objectives.rebar import (
    RetrievalReconstructor,
    cut,
    draw_hidden,
    draw_starts,
    masked_pair_error,
    normalise,
    retrieval_info_nce,
)
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"name": "ts2vec", "options": {"repr_dims": 8, "hidden_dims": 8, "depth": 2}}


def ref_retrieval_info_nce(a: torch.Tensor, c: torch.Tensor, positive: torch.Tensor, tau: float) -> float:
    batch, count, _ = c.shape
    total = 0.0
    for b in range(batch):
        sims = []
        for other in range(batch):
            for k in range(count):
                u, v = a[b].double(), c[other, k].double()
                sims.append(float(u @ v / (u.norm() * v.norm())) / tau)
        top = max(sims)
        log_sum = top + math.log(sum(math.exp(s - top) for s in sims))
        total += log_sum - sims[b * count + int(positive[b])]
    return total / batch


@pytest.mark.parametrize(("batch", "count", "dims"), [(1, 2, 3), (3, 4, 5), (6, 3, 16)])
@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0])
def test_info_nce_matches_loop(batch: int, count: int, dims: int, tau: float) -> None:
    g = torch.Generator().manual_seed(batch * 10 + count)
    a, c = torch.randn(batch, dims, generator=g), torch.randn(batch, count, dims, generator=g)
    positive = torch.randint(0, count, (batch,), generator=g)
    got = float(retrieval_info_nce(a, c, positive, tau))
    assert got == pytest.approx(ref_retrieval_info_nce(a, c, positive, tau), rel=1e-4, abs=1e-5)


def test_info_nce_closed_form_and_gradients() -> None:
    # one anchor equal to its positive, orthogonal to its other candidate: log(1 + e^(-1/tau))
    a = torch.tensor([[1.0, 0.0]], requires_grad=True)
    c = torch.tensor([[[0.0, 1.0], [2.0, 0.0]]])
    loss = retrieval_info_nce(a, c, torch.tensor([1]), 0.5)
    assert float(loss.detach()) == pytest.approx(math.log(1 + math.exp(-2.0)))
    loss.backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_distance_matches_loop_over_hidden_observed_values() -> None:
    g = torch.Generator().manual_seed(4)
    recon, target = torch.randn(3, 6, 2, generator=g), torch.randn(3, 6, 2, generator=g)
    hidden = draw_hidden(3, 6, 0.5, g)
    observed = torch.ones(3, 6, 2, dtype=torch.bool)
    observed[1, 2, 1] = False
    got = masked_pair_error(recon, target, hidden, observed)
    for n in range(3):
        terms = [float(recon[n, t, c] - target[n, t, c]) ** 2
                 for t in range(6) for c in range(2) if hidden[n, t] and observed[n, t, c]]  # fmt: skip
        assert float(got[n]) == pytest.approx(sum(terms) / len(terms), rel=1e-6)
    assert (hidden.sum(dim=1) == 3).all() and (hidden.int().diff(dim=1).abs().sum(dim=1) <= 2).all()  # one block


def test_hidden_steps_do_not_leak_into_the_reconstruction() -> None:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = RetrievalReconstructor(2, 8, 2)
    window, candidate = torch.randn(2, 16, 2, generator=g), torch.randn(2, 16, 2, generator=g)
    hidden = draw_hidden(2, 16, 0.25, g)
    changed = window.clone()
    changed[hidden] = 50.0  # other values at the hidden steps
    first = model(normalise(window, ~hidden), hidden, normalise(candidate, torch.ones_like(hidden)))
    second = model(normalise(changed, ~hidden), hidden, normalise(candidate, torch.ones_like(hidden)))
    torch.testing.assert_close(first, second)


def test_windows_stay_inside_the_observed_span() -> None:
    x = torch.randn(2, 30, 1)
    x[1, 20:] = float("nan")
    starts = draw_starts(x, 8, 50, torch.Generator().manual_seed(1))
    assert starts.shape == (2, 50) and starts.min() >= 0 and starts[0].max() <= 22 and starts[1].max() <= 12
    windows = cut(x, starts, 8)
    assert windows.shape == (100, 8, 1) and not torch.isnan(windows).any()
    torch.testing.assert_close(windows[50 + 3], x[1, int(starts[1, 3]) : int(starts[1, 3]) + 8])


def _regimes(n: int = 8, t: int = 256) -> np.ndarray:
    """Series alternating between a slow and a fast sine every 32 steps, noise added."""
    rng = np.random.default_rng(0)
    steps = np.arange(t)
    slow, fast = np.sin(2 * np.pi * steps / 32), np.sin(2 * np.pi * steps / 6)
    x = np.where((steps // 32) % 2 == 0, slow, fast)[None] + 0.05 * rng.normal(size=(n, t))
    return x[:, :, None].astype(np.float32)


def _model(**options: Any) -> ContrastiveModel:
    objective = {"name": "rebar", "options": {"subseq_len": 32, "candidates": 4, "retrieval_dims": 16, **options}}
    return ContrastiveModel(1, objective=objective, encoder=TINY, lr=1e-3, batch_size=4, device="cpu")


def test_stage_one_trains_the_retrieval_model_only_then_stage_two_the_encoder() -> None:
    model = _model(stage1_share=0.5)
    objective = model.objective
    initial = {k: v.clone() for k, v in model.net.state_dict().items()}
    retrieval = {k: v.clone() for k, v in objective.retrieval.state_dict().items()}
    model.fit(_regimes(), n_iters=8)  # planned 8: stage 1 ends after 4
    assert objective.stage1_end == 4 and objective.stage == 2
    assert int(model.averaged.n_averaged) == 1 + 4, "stage-1 steps are no samples of the encoder's average"
    assert any(not torch.equal(v, model.net.state_dict()[k]) for k, v in initial.items())
    changed_in_stage_1 = _model(stage1_share=0.5)  # the same run, stopped when stage 1 ends (should_stop is
    # asked during a step, before the step is counted)
    changed_in_stage_1.fit(_regimes(), n_iters=8, should_stop=lambda: changed_in_stage_1.progress.step >= 3)
    assert changed_in_stage_1.progress.step == 4
    assert all(torch.equal(v, changed_in_stage_1.net.state_dict()[k]) for k, v in initial.items())
    assert any(not torch.equal(v, changed_in_stage_1.objective.retrieval.state_dict()[k]) for k, v in retrieval.items())
    assert all(torch.equal(v, objective.retrieval.state_dict()[k])
               for k, v in changed_in_stage_1.objective.retrieval.state_dict().items())  # fmt: skip


def test_stage_one_learns_to_reconstruct_and_its_distance_prefers_the_matching_regime() -> None:
    model = _model(stage1_iters=400)
    model.fit(_regimes(), n_iters=400)
    losses = model.progress.losses
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20]), "the reconstruction error falls"
    x = torch.from_numpy(_regimes(1, 256))
    slow, fast = x[:, 0:32], x[:, 32:64]
    anchors = torch.cat([x[:, 64:96], x[:, 96:128]])  # slow, fast
    right = 0
    for seed in range(20):  # 20 masks of the anchors
        hidden = draw_hidden(2, 32, 0.25, torch.Generator().manual_seed(seed))
        distances = model.objective.distances(anchors, torch.cat([slow, fast, slow, fast]), hidden)
        assert distances.shape == (2, 2) and (distances >= 0).all()
        right += int((distances.argmin(dim=1) == torch.tensor([0, 1])).sum())
    assert right >= 30, f"each anchor retrieves the window of its own regime ({right} of 40; chance: 20)"


def test_it_resumes_exactly_in_either_stage(tmp_path: Any) -> None:
    straight = _model().fit(_regimes(), n_iters=10)  # stage 1: 3 iterations
    for stop in (2, 6):
        first = _model()
        first.fit(_regimes(), n_iters=10, should_stop=lambda m=first, s=stop: m.progress.step >= s)
        first.save(tmp_path / f"{stop}.pt")
        resumed = ContrastiveModel.load(tmp_path / f"{stop}.pt", device="cpu").fit(_regimes(), n_iters=10)
        assert resumed.progress.losses == pytest.approx(straight.progress.losses, rel=1e-6)
        for k, v in straight.averaged.state_dict().items():
            torch.testing.assert_close(resumed.averaged.state_dict()[k], v)


def test_it_owns_its_loss_and_checks_options() -> None:
    resolved = resolve_for_task(RunConfig.model_validate({"objective": {"name": "rebar"}}), "forecasting")
    assert resolved.loss.name is None and resolved.encoder.name == "ts2vec"
    with pytest.raises(ConfigError, match="loss must not be set for objective rebar"):
        resolve_for_task(RunConfig.model_validate({"objective": {"name": "rebar"}, "loss": {"name": "infonce"}}), "")
    with pytest.raises(ConfigError, match=r"objective\.candidates must be"):
        _model(candidates=1)


def test_a_run_stores_stage_one_in_its_directory_and_resumes_across_the_stages(tmp_path: Any) -> None:
    from tscl.runs.pretraining import pretrain, resume
    from tscl.training.checkpoint import load_checkpoint

    options = {"subseq_len": 32, "candidates": 3, "retrieval_dims": 8, "stage1_share": 0.5}
    values = {"dataset": "GunPoint", "iters": 4, "checkpoint_every": 1, "threads": 1, "device": "cpu",
              "objective": {"name": "rebar", "options": options}, "encoder": TINY}  # fmt: skip
    run = tmp_path / "run"
    pretrain(RunConfig.model_validate(values), run_dir=run)
    stored = load_checkpoint(run / "checkpoints" / "rebar_retrieval.pt")
    assert stored["complete"] and stored["trained_iters"] == 2
    state = load_checkpoint(run / "checkpoints" / "last.pt")["objective"]["retrieval"]
    assert all(torch.equal(v, state[k]) for k, v in stored["retrieval"].items())
    assert (run / "diagnostics.csv").read_text().splitlines()[0] == "step,stage,reconstruction,positive_distance"
    result = resume(run, iters=6)
    assert result.steps == 6 and result.status == "finished"
    assert load_checkpoint(run / "checkpoints" / "rebar_retrieval.pt")["trained_iters"] == 2  # stage 1 ended
