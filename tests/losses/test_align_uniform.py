"""The alignment + uniformity loss against a loop reference, closed forms and the registry."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from tscl.errors import ConfigError
from tscl.losses import create_loss, list_losses
from tscl.losses.align_uniform import align_uniform_loss


def _reference(z1: torch.Tensor, z2: torch.Tensor, alpha: float, t: float, weight: float) -> float:
    """Wang & Isola's definitions written as plain loops over normalised rows (float64)."""
    a = [row / row.norm() for row in z1.double()]
    b = [row / row.norm() for row in z2.double()]
    align = sum(float((x - y).norm()) ** alpha for x, y in zip(a, b, strict=True)) / len(a)

    def uniform(rows: list[torch.Tensor]) -> float:
        pairs = list(itertools.combinations(rows, 2))
        return math.log(sum(math.exp(-t * float((x - y).norm()) ** 2) for x, y in pairs) / len(pairs))

    return align + weight * (uniform(a) + uniform(b)) / 2


@pytest.mark.parametrize(("batch", "dims"), [(2, 3), (5, 4), (9, 16)])
@pytest.mark.parametrize(("alpha", "t", "weight"), [(2.0, 2.0, 1.0), (1.0, 0.5, 0.3), (3.0, 4.0, 0.0)])
def test_matches_the_loop_reference(batch: int, dims: int, alpha: float, t: float, weight: float) -> None:
    g = torch.Generator().manual_seed(batch * dims)
    z1, z2 = torch.randn(batch, dims, generator=g), torch.randn(batch, dims, generator=g)
    assert float(align_uniform_loss(z1, z2, alpha, t, weight)) == pytest.approx(
        _reference(z1, z2, alpha, t, weight), rel=1e-5, abs=1e-6
    )


def test_closed_forms_sequences_and_registry() -> None:
    basis = torch.eye(4)  # orthonormal: every pair at squared distance 2
    assert float(align_uniform_loss(basis, basis, weight=0.0)) == 0.0  # identical views: no misalignment
    assert float(align_uniform_loss(basis, basis, t=2.0)) == pytest.approx(-4.0)  # log exp(-2 * 2)
    assert float(align_uniform_loss(basis[:1], -basis[:1], alpha=2.0)) == pytest.approx(4.0)  # one pair: 2^2
    loss = create_loss("align_uniform", weight=0.5)
    assert "align_uniform" in list_losses()
    z1, z2 = torch.randn(3, 7, 5), torch.randn(3, 7, 5)
    assert float(loss(z1, z2)) == pytest.approx(float(align_uniform_loss(z1.amax(1), z2.amax(1), weight=0.5)))
    with pytest.raises(ConfigError, match=r"loss\.t must be greater than 0"):
        create_loss("align_uniform", t=0.0)
