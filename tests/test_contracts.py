"""One contract for every registered component of every kind (built-ins, registered ones, installed plug-ins).

Each is built from its defaults, refuses an unknown option and a value outside a declared constraint with a
ConfigError naming ``section.option``, takes a training (or fitting) step on tiny data, survives a
``state_dict`` round trip where it has trainable state (encoders, losses, objectives; heads and tasks hold
none between fits), and gives the same result for the same seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from tscl.encoders import ENCODERS
from tscl.errors import ConfigError
from tscl.losses import LOSSES, min_batch, needs_aligned_views
from tscl.objectives import OBJECTIVES
from tscl.registry import Entry, Registry
from tscl.tasks import TASKS
from tscl.tasks.heads import HEADS
from tscl.views import VIEWS

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_ENCODER = {"repr_dims": 8, "hidden_dims": 8, "depth": 2}


def _names(registry: Registry[Any]) -> list[str]:
    return registry.names()


def _violation(entry: Entry[Any]) -> tuple[str, Any] | None:
    """An option and a value that breaks its declared lower bound (None when no option has one)."""
    for name, field in entry.options.model_fields.items():
        for meta in field.metadata:
            for bound in ("gt", "ge"):
                value = getattr(meta, bound, None)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isinf(value):
                    integral = "int" in str(field.annotation) and "float" not in str(field.annotation)
                    return name, (int(value) - 1 if integral else float(value) - 1.0)
    return None


def check_options_contract(registry: Registry[Any], name: str, *runtime: Any) -> None:
    """Unknown keys and out-of-range values fail with a ConfigError that names them."""
    section = registry.section
    with pytest.raises(ConfigError, match=rf"{section}\.no_such_option is not an option of {name}"):
        registry.create(name, *runtime, no_such_option=1)
    bad = _violation(registry.entry(name))
    if bad is not None:
        with pytest.raises(ConfigError, match=rf"{section}\.{bad[0]} must be"):
            registry.create(name, *runtime, **{bad[0]: bad[1]})


# -- encoders --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _names(ENCODERS))
def test_encoder_contract(name: str) -> None:
    ENCODERS.create(name, 2)  # defaults
    check_options_contract(ENCODERS, name, 2)
    torch.manual_seed(0)
    encoder = ENCODERS.create(name, 2, **TINY_ENCODER)
    x = torch.randn(4, 24, 2, generator=torch.Generator().manual_seed(1))
    x[0, 20:] = float("nan")
    out = encoder(x, generator=torch.Generator().manual_seed(2))
    assert out.shape == (4, 24, getattr(encoder, "output_dims", 8)) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None for p in encoder.parameters()), "every parameter gets a gradient"
    torch.manual_seed(0)
    twin = ENCODERS.create(name, 2, **TINY_ENCODER)
    assert all(
        torch.equal(a, b) for a, b in zip(encoder.state_dict().values(), twin.state_dict().values(), strict=True)
    )
    torch.manual_seed(5)
    other = ENCODERS.create(name, 2, **TINY_ENCODER)
    other.load_state_dict(encoder.state_dict())
    encoder.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), other(x))


# -- losses ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _names(LOSSES))
def test_loss_contract(name: str) -> None:
    LOSSES.create(name)
    check_options_contract(LOSSES, name)
    loss_contract(LOSSES.create(name), lambda: LOSSES.create(name))


@pytest.mark.parametrize("name", _names(LOSSES))
def test_a_loss_that_learns_nothing_from_one_series_declares_min_batch(name: str) -> None:
    """In a batch of one series whose two views coincide, a loss with negatives inside the series (a temporal
    term, segments) still pushes its representations apart; one whose negatives are the batch's other series
    has nothing left to do (0, or a pull already satisfied) and must say so with ``min_batch = 2``, so that
    objectives refuse such batches before a run starts."""
    loss = LOSSES.create(name)
    z = torch.randn(1, 16, 8, generator=torch.Generator().manual_seed(0))
    z1, z2 = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    loss(z1, z2).backward()
    gradient = max(float(view.grad.abs().max()) if view.grad is not None else 0.0 for view in (z1, z2))
    assert (gradient > 1e-4) == (min_batch(loss) < 2), (name, gradient, min_batch(loss))


def loss_contract(loss: torch.nn.Module, build: Any) -> None:
    """Scalar and finite on both view shapes it takes, gradients reach the views, it goes down, round trip."""
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(6, 12, 8, generator=g, requires_grad=True)
    z2 = torch.randn(6, 12, 8, generator=g, requires_grad=True)
    value = loss(z1, z2)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert z1.grad is not None and z2.grad is not None and torch.isfinite(z1.grad).all()
    if not needs_aligned_views(loss):
        assert torch.isfinite(loss(z1.detach().amax(1), z2.detach().amax(1)))
    params = [z1, z2, *loss.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.05)
    first = float(loss(z1, z2))
    for _ in range(30):
        optimizer.zero_grad()
        loss(z1, z2).backward()
        optimizer.step()
    assert float(loss(z1, z2)) < first, "a few steps on the views lower the loss"
    twin = build()
    twin.load_state_dict(loss.state_dict())
    assert float(twin(z1, z2)) == pytest.approx(float(loss(z1, z2)))


# -- view makers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _names(VIEWS))
def test_view_maker_contract(name: str) -> None:
    VIEWS.create(name, 0)
    check_options_contract(VIEWS, name, 0)
    views = VIEWS.create(name, 1)
    x = torch.randn(4, 32, 3, generator=torch.Generator().manual_seed(0))
    x[1, 25:] = float("nan")
    v1, v2 = views.views(x, torch.Generator().manual_seed(1))
    w1, w2 = views.views(x, torch.Generator().manual_seed(1))
    assert v1.shape == v2.shape == x.shape
    assert torch.equal(v1.nan_to_num(7.0), w1.nan_to_num(7.0)) and torch.equal(v2.nan_to_num(7.0), w2.nan_to_num(7.0))
    assert isinstance(views.time_aligned, bool)


# -- objectives ------------------------------------------------------------------------------------------
def _series() -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(8, 40, 2)).astype(np.float32)
    x[0, 30:] = np.nan
    return x


@pytest.mark.parametrize("name", _names(OBJECTIVES))
def test_objective_contract(name: str, tmp_path) -> None:
    from tscl.objectives.base import Setup
    from tscl.training.model import ContrastiveModel

    def model() -> ContrastiveModel:
        return ContrastiveModel(2, objective=name, encoder={"name": "ts2vec", "options": TINY_ENCODER},
                                batch_size=4, device="cpu")  # fmt: skip

    factory = OBJECTIVES.entry(name).factory
    if callable(getattr(factory, "needs_of", None)):  # a wrapper needs what the objective it wraps needs
        factory = factory.needs_of({})
    loss = LOSSES.create(getattr(factory, "default_loss", None) or "infonce")
    default_views = getattr(factory, "default_views", None)
    setup = Setup(ENCODERS.create("ts2vec", 2, **TINY_ENCODER), loss, 2,
                  views=VIEWS.create(default_views, 0) if default_views else None)  # fmt: skip
    OBJECTIVES.create(name, setup)  # defaults
    check_options_contract(OBJECTIVES, name, setup)
    straight = model().fit(_series(), n_iters=3)
    assert all(np.isfinite(straight.progress.losses))
    assert straight.progress.losses == model().fit(_series(), n_iters=3).progress.losses  # same seed
    first = model().fit(_series(), n_iters=2)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(_series(), n_iters=3)
    assert resumed.progress.losses == pytest.approx(straight.progress.losses, rel=1e-6)


# -- classifier heads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _names(HEADS))
def test_head_contract(name: str) -> None:
    HEADS.create(name, 0, 1)
    check_options_contract(HEADS, name, 0, 1)
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(3, 5))
    y = np.repeat(np.arange(3), 20)
    X = centres[y] + rng.normal(size=(60, 5))
    head = HEADS.create(name, 0, 1).fit(X, y)
    predictions = head.predict(X)
    scores = head.class_scores(X, 4)  # a fourth class absent from training still gets a column
    assert predictions.shape == (60,) and np.mean(predictions == y) > 0.9
    assert scores.shape == (60, 4) and np.isfinite(scores).all()
    np.testing.assert_array_equal(HEADS.create(name, 0, 1).fit(X, y).predict(X), predictions)  # same seed


# -- evaluation tasks ------------------------------------------------------------------------------------
def _task_data(name: str, tmp_path: Any) -> Any:
    """A small real dataset of each built-in task (None for a plug-in task: no data to give it here)."""
    from tests.tasks.test_tasks import _toy_csv
    from tscl.data import load_dataset

    if name == "classification":
        return load_dataset("GunPoint")
    if name == "forecasting":
        return load_dataset(_toy_csv(tmp_path / "toy.csv"), univariate=True)
    return None


@pytest.mark.parametrize("name", _names(TASKS))
def test_task_contract(name: str, tmp_path: Any, isolated_data_env: Any) -> None:
    from tscl.training.model import ContrastiveModel

    TASKS.create(name)
    check_options_contract(TASKS, name)
    data = _task_data(name, tmp_path)
    if data is None:
        pytest.skip(f"no example data for task {name}")
    task = TASKS.create(name)
    train = task.split_array(data, "all")  # the one part every task encodes
    model = ContrastiveModel(train.shape[2], encoder={"name": "ts2vec", "options": TINY_ENCODER}, device="cpu")
    model.fit(train, n_iters=2)
    metrics, _ = task.evaluate(model, data, baseline=None, objective="ts2vec", seed=0, timings={})
    again, _ = task.evaluate(model, data, baseline=None, objective="ts2vec", seed=0, timings={})
    assert metrics["task"] == name and metrics["baselines"] == {}
    headline = task.headline(metrics)
    assert headline and all(math.isfinite(v) for v in headline.values())
    assert headline == task.headline(again)  # same seed, same result
    assert task.metric_rows(metrics) and task.tables(metrics)
