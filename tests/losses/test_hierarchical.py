"""Hierarchical contrastive loss (TS2Vec) against a slow, obviously-correct reference.

The row-contrast kernel under it (strips, precision, gradients) is tested in tests/kernels/test_row_contrast.py.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tscl.errors import ConfigError, TsclError
from tscl.kernels.row_contrast import contrast_rows_reference
from tscl.losses.hierarchical import (
    HierarchicalContrastiveLoss,
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    temporal_contrastive_loss,
)

SHAPES = [(1, 1, 4), (1, 7, 3), (2, 1, 5), (3, 2, 4), (4, 9, 8), (5, 16, 6), (8, 33, 16), (2, 100, 32)]


# ----------------------------------------------------------------------------------------------- reference
def reference_instance(z1: Tensor, z2: Tensor) -> Tensor:
    if z1.size(0) == 1:
        return z1.new_tensor(0.0)
    return contrast_rows_reference(torch.cat([z1, z2], dim=0).transpose(0, 1))


def reference_temporal(z1: Tensor, z2: Tensor) -> Tensor:
    if z1.size(1) == 1:
        return z1.new_tensor(0.0)
    return contrast_rows_reference(torch.cat([z1, z2], dim=1))


def reference_hierarchical(z1: Tensor, z2: Tensor, alpha: float = 0.5, temporal_unit: int = 0) -> Tensor:
    loss = z1.new_tensor(0.0)
    scales = 0
    while z1.size(1) > 1:
        if alpha != 0:
            loss = loss + alpha * reference_instance(z1, z2)
        if scales >= temporal_unit and 1 - alpha != 0:
            loss = loss + (1 - alpha) * reference_temporal(z1, z2)
        scales += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.size(1) == 1:
        if alpha != 0:
            loss = loss + alpha * reference_instance(z1, z2)
        scales += 1
    return loss / scales


# ----------------------------------------------------------------------------------------------- helpers
def views(shape: tuple[int, int, int], dtype: torch.dtype, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    z1 = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
    z2 = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
    return z1, z2


def value_and_grads(loss_fn, z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    loss = loss_fn(z1, z2)
    if not loss.requires_grad:  # the reference returns a constant on degenerate batches
        return loss.detach(), torch.zeros_like(z1), torch.zeros_like(z2)
    grad1, grad2 = torch.autograd.grad(loss, (z1, z2))
    return loss.detach(), grad1, grad2


def assert_matches(ours, reference, rtol: float, atol: float) -> None:
    for got, want in zip(ours, reference, strict=True):
        torch.testing.assert_close(got, want, rtol=rtol, atol=atol)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: a second thread only adds synchronisation (and stalls on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("temporal_unit", [0, 1, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_reference_float64(shape, alpha: float, temporal_unit: int) -> None:
    z1, z2 = views(shape, torch.float64)
    ours = value_and_grads(lambda a, b: hierarchical_contrastive_loss(a, b, alpha, temporal_unit), z1, z2)
    want = value_and_grads(lambda a, b: reference_hierarchical(a, b, alpha, temporal_unit), z1, z2)
    assert_matches(ours, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1, 4), (2, 1, 5), (1, 7, 3), (4, 9, 8)])
def test_single_level_losses_match_reference(shape) -> None:
    z1, z2 = views(shape, torch.float64, seed=3)
    for ours_fn, ref_fn in [
        (instance_contrastive_loss, reference_instance),
        (temporal_contrastive_loss, reference_temporal),
    ]:
        assert_matches(value_and_grads(ours_fn, z1, z2), value_and_grads(ref_fn, z1, z2), 1e-10, 1e-12)


def test_non_contiguous_inputs_from_a_network() -> None:
    generator = torch.Generator().manual_seed(4)
    layer = nn.Linear(5, 12).double()
    x = torch.randn(3, 40, 5, generator=generator, dtype=torch.float64)
    out = layer(x)
    # Crops of a wider output, one of them also a strided view of a transposed tensor: never contiguous.
    z1 = out[:, 2:31, :8]
    z2 = out.transpose(0, 1).contiguous().transpose(0, 1)[:, 7:36, 4:]
    assert not z1.is_contiguous() and not z2.is_contiguous()
    ours = torch.autograd.grad(hierarchical_contrastive_loss(z1, z2), layer.weight, retain_graph=True)[0]
    want = torch.autograd.grad(reference_hierarchical(z1, z2), layer.weight)[0]
    torch.testing.assert_close(ours, want, rtol=1e-10, atol=1e-12)


def test_closed_form_on_zero_vectors() -> None:
    # All similarities are 0, so every row loss is log(number of negatives + 1) = log(rows - 1).
    batch, length = 3, 8  # scales of length 8, 4, 2 (instance + temporal), then 1 (instance only)
    z = torch.zeros(batch, length, 4)
    instance = math.log(2 * batch - 1)
    temporal = [math.log(2 * t - 1) for t in (8, 4, 2)]
    expected = (4 * 0.5 * instance + sum(0.5 * t for t in temporal)) / 4
    assert hierarchical_contrastive_loss(z, z).item() == pytest.approx(expected, rel=1e-6)


def test_closed_form_two_instances_one_step() -> None:
    # Views of instance 0 are both sqrt(k) e0, of instance 1 both sqrt(k) e1: each row sees its positive at
    # similarity k and two negatives at 0, so the loss is alpha * log(1 + 2 exp(-k)).
    k = 3.0
    z = torch.zeros(2, 1, 4, dtype=torch.float64)
    z[0, 0, 0] = z[1, 0, 1] = math.sqrt(k)
    loss = hierarchical_contrastive_loss(z, z.clone(), alpha=0.5)
    assert loss.item() == pytest.approx(0.5 * math.log(1 + 2 * math.exp(-k)), rel=1e-12)


def test_degenerate_batches_give_a_zero_that_backpropagates() -> None:
    one1, one2 = views((1, 1, 4), torch.float32)
    loss = hierarchical_contrastive_loss(one1, one2)
    loss.backward()  # zero loss that still backpropagates, rather than a constant
    assert loss.item() == 0.0 and one1.grad is not None and (one1.grad == 0).all()


def test_loss_goes_down_with_a_linear_encoder() -> None:
    generator = torch.Generator().manual_seed(9)
    x = torch.randn(6, 32, 3, generator=generator)
    encoder = nn.Linear(3, 16)
    with torch.no_grad():
        encoder.weight.copy_(0.1 * torch.randn(16, 3, generator=generator))
    optimizer = torch.optim.Adam(encoder.parameters(), lr=0.05)
    noise1, noise2 = (0.1 * torch.randn(x.shape, generator=generator) for _ in range(2))
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = hierarchical_contrastive_loss(encoder(x + noise1), encoder(x + noise2))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), "0.5", True])
def test_module_rejects_bad_alpha(alpha) -> None:
    with pytest.raises(ConfigError, match=r"loss\.alpha must be"):
        HierarchicalContrastiveLoss(alpha=alpha)


@pytest.mark.parametrize("temporal_unit", [-1, 1.5, True, None])
def test_module_rejects_bad_temporal_unit(temporal_unit) -> None:
    with pytest.raises(ConfigError, match=r"loss\.temporal_unit must be"):
        HierarchicalContrastiveLoss(temporal_unit=temporal_unit)


def test_module_matches_function_and_shapes_are_checked() -> None:
    z1, z2 = views((3, 10, 4), torch.float64, seed=10)
    module = HierarchicalContrastiveLoss(alpha=0.25, temporal_unit=1)
    assert "alpha=0.25" in repr(module)
    assert module(z1, z2).item() == hierarchical_contrastive_loss(z1, z2, 0.25, 1).item()
    with pytest.raises(TsclError, match="same non-empty shape"):
        hierarchical_contrastive_loss(z1, z2[:, :5])
    with pytest.raises(TsclError, match="same non-empty shape"):
        hierarchical_contrastive_loss(z1[0], z2[0])
