"""AutoTCL's augmentation network: hard-concrete mask, covariates and NaN, scale range; random windows."""

from __future__ import annotations

import pytest
import torch

from tscl.views.augmenter import AugmentationNetwork, hard_concrete_sample, temporal_consistency
from tscl.views.windows import random_windows

pytestmark = pytest.mark.usefixtures("one_thread")


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
