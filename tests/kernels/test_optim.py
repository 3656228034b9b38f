"""The fast optimizer and weight-average helpers compute what torch's reference versions compute, and
their in-place updates are seen by what is derived from the weights."""

from __future__ import annotations

import copy
import importlib
import pkgutil
import subprocess
import sys

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
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)  # a multiplication by 1/(n+1) for the division


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


def test_adamw_state_dicts_load_into_torch_adamw_and_back() -> None:
    # Checkpoints written before (torch's class) and after (tscl's) load into either, and training goes on
    # identically.
    torch.manual_seed(0)
    weights = [nn.Parameter(torch.randn(5)), nn.Parameter(torch.randn(2, 3))]
    ours = adamw(weights, lr=1e-2)
    for p in weights:
        p.grad = torch.randn(p.shape)
    ours.step()
    state = ours.state_dict()
    theirs = torch.optim.AdamW([nn.Parameter(p.detach().clone()) for p in weights], lr=1e-2)
    theirs.load_state_dict(copy.deepcopy(state))  # as from a file: no tensors shared with `ours`
    again = adamw([nn.Parameter(p.detach().clone()) for p in weights], lr=1e-2)
    again.load_state_dict(copy.deepcopy(theirs.state_dict()))
    for optimizer in (ours, theirs, again):
        for p, g in zip(optimizer.param_groups[0]["params"], (torch.ones(5), torch.ones(2, 3)), strict=True):
            p.grad = g
        optimizer.step()
    for a, b, c in zip(*(o.param_groups[0]["params"] for o in (ours, theirs, again)), strict=True):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)


def test_training_imports_neither_the_compiler_nor_pandas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # torch's optimizer wrappers import torch._dynamo (~0.8 s) and pandas costs ~0.2 s: a small UCR-style run
    # needs neither (a fresh interpreter, so that nothing imported by other tests counts).
    script = (
        "import sys, numpy as np\n"
        "from tscl.data import load_dataset\n"
        "from tscl.training.model import ContrastiveModel\n"
        "X = np.random.default_rng(0).standard_normal((6, 20, 1)).astype('float32')\n"
        "ContrastiveModel(device='cpu', batch_size=4, threads=1).fit(X, n_iters=2)\n"
        "print(sorted(m for m in ('torch._dynamo', 'pandas') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "[]"
