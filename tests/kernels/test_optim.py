"""The fast optimizer and weight-average helpers compute what torch's reference versions compute, and
their in-place updates are seen by what is derived from the weights."""

from __future__ import annotations

import importlib
import pkgutil

import torch
from torch import nn
from torch.optim import optimizer as torch_optimizer
from torch.optim.swa_utils import AveragedModel

import tscl
from tscl.encoders.ts2vec import TSEncoder
from tscl.kernels.optim import adamw, update_average
from tscl.kernels.weight_cache import WeightCache


def _perturb(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator))


def test_update_average_equals_torch_averaged_model() -> None:
    torch.manual_seed(0)
    model = TSEncoder(2, output_dims=8, hidden_dims=4, depth=2)
    ours, theirs = AveragedModel(model), AveragedModel(model)
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        update_average(ours, model)
        theirs.update_parameters(model)
        _perturb(model, generator)
    assert int(ours.n_averaged) == int(theirs.n_averaged) == 5
    for a, b in zip(ours.module.parameters(), theirs.module.parameters(), strict=True):
        assert torch.equal(a, b)


def test_adamw_matches_the_reference_update() -> None:
    torch.manual_seed(0)
    fast_model = TSEncoder(2, output_dims=8, hidden_dims=4, depth=2)
    slow_model = TSEncoder(2, output_dims=8, hidden_dims=4, depth=2)
    slow_model.load_state_dict(fast_model.state_dict())
    fast_model.eval(), slow_model.eval()  # no dropout: both see the same function
    fast, slow = adamw(fast_model.parameters(), lr=1e-2), torch.optim.AdamW(slow_model.parameters(), lr=1e-2)
    x = torch.randn(3, 20, 2)
    for _ in range(4):
        for model, optimizer in ((fast_model, fast), (slow_model, slow)):
            optimizer.zero_grad()
            model(x, mask="all_true").square().mean().backward()
            optimizer.step()
    for a, b in zip(fast_model.parameters(), slow_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_a_step_marks_the_weights_it_updated_as_changed() -> None:
    # Fused kernels (used here where torch has them) do not bump version counters themselves.
    updated, untouched = nn.Parameter(torch.randn(4)), nn.Parameter(torch.randn(4))
    optimizer = adamw([updated, untouched], lr=1e-2)
    updated.grad = torch.ones(4)
    before = updated._version, untouched._version
    optimizer.step()
    assert updated._version > before[0] and untouched._version == before[1]


def test_a_weight_cache_sees_every_step() -> None:
    weight = nn.Parameter(torch.randn(4))
    optimizer = adamw([weight], lr=0.1)
    cache: WeightCache[torch.Tensor] = WeightCache()
    for _ in range(3):
        weight.grad = torch.ones(4)
        with torch.no_grad():
            cache.get(0, [weight], weight.clone)  # kept: gradients are off
        optimizer.step()
        with torch.no_grad():
            assert torch.equal(cache.get(0, [weight], weight.clone), weight)


def test_importing_tscl_registers_no_global_hooks() -> None:
    for module in pkgutil.walk_packages(tscl.__path__, "tscl."):
        if module.name != "tscl.__main__":  # runs the CLI
            importlib.import_module(module.name)
    assert not torch_optimizer._global_optimizer_pre_hooks
    assert not torch_optimizer._global_optimizer_post_hooks
    assert not nn.modules.module._global_forward_hooks
    assert not nn.modules.module._global_backward_hooks
