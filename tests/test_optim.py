"""The fast optimizer and weight-average helpers compute what torch's reference versions compute."""

from __future__ import annotations

import torch
from torch.optim.swa_utils import AveragedModel

from tscl.models.encoder import TSEncoder
from tscl.training.optim import adamw, update_average


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
