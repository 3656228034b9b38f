"""`WeightCache`: a derived value is reused exactly while it would be rebuilt the same."""

from __future__ import annotations

import torch
from torch import Tensor

from tscl.kernels.weight_cache import WeightCache


class Builds:
    """``build`` for the cache: twice the weight, counting the calls."""

    def __init__(self, weight: Tensor) -> None:
        self.weight = weight
        self.count = 0

    def __call__(self) -> Tensor:
        self.count += 1
        return 2 * self.weight


def test_kept_while_frozen_and_unchanged() -> None:
    weight = torch.randn(3, requires_grad=True)
    cache: WeightCache[Tensor] = WeightCache()
    build = Builds(weight)
    with torch.no_grad():
        first = cache.get(5, [weight], build)
        assert cache.get(5, [weight], build) is first and build.count == 1
        kept = cache.get(6, [weight], build)  # another size
        assert kept is not first and build.count == 2
    weight.requires_grad_(False)  # frozen weights: kept even with gradients enabled
    assert cache.get(6, [weight], build) is kept and build.count == 2


def test_rebuilt_after_any_change_of_the_weights() -> None:
    weight = torch.randn(3)
    cache: WeightCache[Tensor] = WeightCache()
    build = Builds(weight)
    cache.get(0, [weight], build)
    weight.add_(1.0)  # in place: the version counter moves
    assert torch.equal(cache.get(0, [weight], build), 2 * weight) and build.count == 2
    version = weight._version
    weight.data = torch.randn(3)  # new storage, as module.to() makes it: the version counter stays
    assert weight._version == version
    assert torch.equal(cache.get(0, [weight], build), 2 * weight) and build.count == 3


def test_not_kept_when_a_gradient_reaches_the_weights() -> None:
    weight = torch.randn(3, requires_grad=True)
    cache: WeightCache[Tensor] = WeightCache()
    build = Builds(weight)
    value = cache.get(0, [weight], build)
    assert value.requires_grad and cache.entry is None
    assert cache.get(0, [weight], build) is not value and build.count == 2


def test_a_value_made_in_inference_mode_is_not_reused_outside_it() -> None:
    weight = torch.randn(3)
    cache: WeightCache[Tensor] = WeightCache()
    build = Builds(weight)
    with torch.inference_mode():
        inside = cache.get(0, [weight], build)
    outside = cache.get(0, [weight], build)
    assert inside.is_inference() and not outside.is_inference() and build.count == 2
