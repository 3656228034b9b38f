"""Row-contrast loss: every row against the other rows of its group, positive = the row half a group away.

On a stack ``Z`` [G, 2N, D] of ``G`` groups of ``2N`` rows, every row ``i`` is contrasted, by plain dot
product, against the other ``2N - 1`` rows of its group, and its positive is row ``(i + N) mod 2N``. The loss
is the mean over all rows of ``logsumexp_{j != i} s_ij - s_i,partner``. `contrast_rows_reference` is that
definition as written; `contrast_rows` computes it, in the working precision (fp16/bf16 inputs are computed
in fp32), without the ``[G, 2N, 2N]`` tensors of the straightforward formulation:

* ``S = Z Z^T`` is symmetric, so only row strips of its upper block triangle are formed (half the matmul).
  Row statistics (max and sum of exponentials) come from each strip's rows and, for the rows below the strip,
  from its columns; they are merged online.
* The gradient ``((P + P^T) Z - 2 Z_partner) / rows``, with ``P`` the row softmax, is computed in the forward
  pass from the same strips (``P + P^T`` restricted to a strip needs only the two rows' statistics), so
  nothing quadratic is kept for the backward pass, which just scales the stored gradient. Total matmul work
  is ``3 * G * (2N)^2 * D`` FLOPs, half of the forward plus backward of the direct form.
  The price: when the inputs require grad, the gradient is computed even if backward is never called; a
  second backward (``retain_graph``) is fine, differentiating the gradient again (``create_graph``) is not.
* Groups of at most 512 rows skip the strips: their whole similarity fits in cache, and the strips'
  per-operation overhead would dominate (`_contrast_small`, same quantities).
* Exponents are floored at log(sqrt(smallest normal)) (see `_exp_floor`), a change far below rounding.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import FunctionCtx

from tscl.errors import TsclError

__all__ = ["contrast_rows", "contrast_rows_reference"]

# Rows per strip of the similarity matrix (even, so that every strip of an even-sized group has >= 2 rows).
_STRIP_ROWS = 256
# Groups of at most this many rows are computed in one piece (see `_contrast_small`).
_DIRECT_ROWS = 512
# Groups are batched while the kept strips of all of them fit in this size: enough for efficient batched
# matmuls on small groups, small enough that the buffers (page-faulted in once per call and reused by every
# chunk of groups) stay cheap.
_STORE_BYTES = 16 * 2**20


def _exp_floor(dtype: torch.dtype) -> float:
    # Exponents below log(sqrt(tiny)) are raised to it before exp. That changes each probability by less
    # than sqrt(tiny) (1e-19 in fp32), far below rounding, but avoids exp's slow underflow path and keeps
    # every probability and its products normal numbers: denormals make CPU matmuls ~100x slower.
    return 0.5 * math.log(torch.finfo(dtype).tiny)


def _shifted_exp(sims: Tensor, shift: Tensor, out: Tensor) -> Tensor:
    """exp(sims - shift) into ``out`` (may be ``sims``), exponent floored (see `_exp_floor`)."""
    return torch.sub(sims, shift, out=out).clamp_(min=_exp_floor(sims.dtype)).exp_()


def _fold_logsumexp(run_max: Tensor, run_sum: Tensor, sims: Tensor, dim: int, scratch: Tensor) -> None:
    """Fold ``sims`` reduced over ``dim`` into running (max, sum of exp(x - max)) statistics, in place."""
    new_max = sims.amax(dim)
    shifted = scratch[: sims.numel()].view(sims.shape)
    new_sum = _shifted_exp(sims, new_max.unsqueeze(dim), out=shifted).sum(dim)
    top = torch.maximum(run_max, new_max)
    run_sum.mul_((run_max - top).exp_()).add_(new_sum.mul_((new_max - top).exp_()))
    run_max.copy_(top)


def _strip_bounds(rows: int) -> list[tuple[int, int]]:
    strip = min(_STRIP_ROWS, rows)
    return [(start, min(start + strip, rows)) for start in range(0, rows, strip)]


def _contrast_chunk(z: Tensor, store: Tensor, scratch: Tensor, grad: Tensor | None, scale: float) -> Tensor:
    """Summed row losses of ``z`` [g, n, D]; writes ``scale`` times their gradient into ``grad`` if given.

    ``store`` receives the strips of S (all of them if the gradient is wanted, else one), ``scratch`` one.
    """
    groups, rows, _ = z.shape
    half = rows // 2
    run_max = z.new_full((groups, rows), float("-inf"))
    run_sum = z.new_zeros((groups, rows))
    positive = z.new_empty((groups, half))
    bounds = _strip_bounds(rows)
    strips: list[Tensor] = []
    offset = 0
    for start, stop in bounds:
        shape = (groups, stop - start, rows - start)
        sims = store[offset : offset + math.prod(shape)].view(shape)
        torch.bmm(z[:, start:stop], z[:, start:].mT, out=sims)  # rows start:stop, columns start:
        offset += sims.numel() if grad is not None else 0
        sims.diagonal(dim1=-2, dim2=-1).fill_(float("-inf"))
        if start < half:
            positive[:, start : min(stop, half)] = sims.diagonal(offset=half, dim1=-2, dim2=-1)
        _fold_logsumexp(run_max[:, start:stop], run_sum[:, start:stop], sims, -1, scratch)
        if stop < rows:  # the strip's columns are the rows below it, by symmetry
            below = sims[:, :, stop - start :]
            _fold_logsumexp(run_max[:, stop:], run_sum[:, stop:], below, -2, scratch)
        strips.append(sims)
    # Row loss = (max - positive) + log(sum): both differences stay exact when the loss is near zero.
    loss = (run_max - positive.repeat(1, 2)).sum() + run_sum.log().sum()
    if grad is not None:
        inv_sum = run_sum.reciprocal_().mul_(scale)
        for (start, stop), sims in zip(bounds, strips, strict=True):
            _add_strip_gradient(z, start, stop, sims, run_max, inv_sum, scratch, grad)
        grad[:, :half].sub_(z[:, half:], alpha=2.0 * scale)  # the positives' term, -2 Z_partner
        grad[:, half:].sub_(z[:, :half], alpha=2.0 * scale)
    return loss


def _add_strip_gradient(
    z: Tensor,
    start: int,
    stop: int,
    sims: Tensor,
    run_max: Tensor,
    inv_sum: Tensor,
    scratch: Tensor,
    grad: Tensor,
) -> None:
    """Add the strip's share of (P + P^T) Z to ``grad`` (written, not added, for the first strip).

    On the strip (rows start:stop, columns start:), P_ij + P_ji = exp(s_ij - max_i) / sum_i
    + exp(s_ij - max_j) / sum_j needs only the two rows' statistics. Consumes ``sims``.
    """
    both = scratch[: sims.numel()].view(sims.shape)
    _shifted_exp(sims, run_max[:, start:stop, None], out=both).mul_(inv_sum[:, start:stop, None])
    both.addcmul_(_shifted_exp(sims, run_max[:, None, start:], out=sims), inv_sum[:, None, start:])
    # The diagonal block is hit by both products below, off-diagonal ones once each.
    both[:, :, : stop - start].mul_(0.5)
    if start == 0:  # the first strip covers every row: write, saving a zero fill
        torch.bmm(both.mT, z[:, :stop], out=grad)
    else:
        grad[:, start:].baddbmm_(both.mT, z[:, start:stop])
    grad[:, start:stop].baddbmm_(both, z[:, start:])


def _contrast_small(z: Tensor, need_grad: bool) -> tuple[Tensor, Tensor | None]:
    """`_contrast_groups` for small groups: the whole [G, 2N, 2N] similarity at once, in a few operations.

    Same quantities as the strip algorithm (exact row max, floored exponents, loss as (max - positive) +
    log(sum)); it only skips the strip bookkeeping, whose per-operation overhead dominates small inputs.
    """
    groups, rows, _ = z.shape
    half = rows // 2
    count = groups * rows
    sims = torch.bmm(z, z.mT)
    sims.diagonal(dim1=-2, dim2=-1).fill_(float("-inf"))
    positive = sims.diagonal(offset=half, dim1=-2, dim2=-1).clone()
    row_max = sims.amax(-1, keepdim=True)
    weights = _shifted_exp(sims, row_max, out=sims)  # sims is not needed any more
    row_sum = weights.sum(-1, keepdim=True)
    loss = (row_max.squeeze(-1) - positive.repeat(1, 2)).sum() + row_sum.log().sum()
    if not need_grad:
        return loss / count, None
    weights.div_(row_sum.mul_(count))  # P / count
    weights.add_(weights.mT.clone())
    grad = torch.bmm(weights, z)
    grad[:, :half].sub_(z[:, half:], alpha=2.0 / count)
    grad[:, half:].sub_(z[:, :half], alpha=2.0 / count)
    return loss / count, grad


def _contrast_groups(z: Tensor, need_grad: bool) -> tuple[Tensor, Tensor | None]:
    """Mean row loss of ``z`` [G, 2N, D] (partner of row i is (i + N) mod 2N) and, if asked, its gradient."""
    compute_dtype = torch.float32 if z.dtype in (torch.float16, torch.bfloat16) else z.dtype
    work = z.detach().to(compute_dtype).contiguous()
    groups, rows, _ = work.shape
    if rows <= _DIRECT_ROWS:
        loss, grad = _contrast_small(work, need_grad)
        return loss.to(z.dtype), None if grad is None else grad.to(z.dtype)
    strip_sizes = [(stop - start) * (rows - start) for start, stop in _strip_bounds(rows)]
    per_group = sum(strip_sizes) if need_grad else max(strip_sizes)
    chunks = -(-groups * per_group * work.element_size() // _STORE_BYTES)
    size = -(-groups // max(1, chunks))
    store = work.new_empty(size * per_group)
    scratch = work.new_empty(size * max(strip_sizes))
    count = groups * rows
    grad = torch.empty_like(work) if need_grad else None
    total = work.new_zeros(())
    for first in range(0, groups, size):
        part = None if grad is None else grad[first : first + size]
        total += _contrast_chunk(work[first : first + size], store, scratch, part, 1.0 / count)
    return (total / count).to(z.dtype), None if grad is None else grad.to(z.dtype)


def _autocast_off(device_type: str) -> Any:
    """Autocast switched off for ``device_type``; nothing to switch off for a device type torch's autocast
    refuses (MPS before torch 2.5 raises "unsupported autocast device_type" even with enabled=False)."""
    try:
        return torch.autocast(device_type=device_type, enabled=False)
    except RuntimeError:
        return contextlib.nullcontext()


class _ContrastRows(torch.autograd.Function):
    """Row-contrast loss whose gradient is produced by the forward pass (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, z: Tensor) -> Tensor:  # type: ignore[override]
        with _autocast_off(z.device.type):
            loss, grad = _contrast_groups(z, need_grad=True)
        assert grad is not None
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: Tensor) -> Tensor:  # type: ignore[override]
        if torch.is_grad_enabled():  # create_graph=True: our gradient would silently count as a constant
            raise TsclError(
                "the contrastive losses must be differentiated once but got create_graph=True",
                hint="higher-order gradients of the hierarchical loss are not implemented",
            )
        (grad,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * grad_output


def _check_rows(z: Tensor) -> None:
    if z.dim() != 3 or z.size(0) == 0 or z.size(1) < 2 or z.size(1) % 2:
        raise TsclError(
            f"row contrast needs z of shape [G, 2N, D] with G >= 1 and N >= 1 but got {tuple(z.shape)}",
            hint="stack the two views' rows of each group: row i's positive is row (i + N) mod 2N",
        )


def contrast_rows(z: Tensor) -> Tensor:
    """Mean row-contrast loss of ``z``, fast and exact (see the module docstring).

    Args:
        z: [G, 2N, D], G groups of 2N rows; the positive of row i is row (i + N) mod 2N of its group.
            fp16/bf16 inputs are computed in fp32; autocast does not apply.

    Returns:
        Scalar tensor of ``z``'s dtype: the mean over the G * 2N rows of the cross-entropy of the row's
        dot products with the other rows of its group, at its positive. Differentiable once.

    Raises:
        TsclError: ``z`` is not [G, 2N, D] with G >= 1 and N >= 1.
    """
    _check_rows(z)
    if torch.is_grad_enabled() and z.requires_grad:
        return _ContrastRows.apply(z)  # type: ignore[no-any-return]
    with _autocast_off(z.device.type):
        return _contrast_groups(z, need_grad=False)[0]


def contrast_rows_reference(z: Tensor) -> Tensor:
    """`contrast_rows` as defined: cross-entropy of each row's logits on the full similarity matrix.

    Slow and memory-hungry ([G, 2N, 2N] tensors and their autograd graph); for tests.

    Args:
        z: [G, 2N, D]; the positive of row i is row (i + N) mod 2N of its group.

    Returns:
        Scalar tensor: the mean row loss, computed in ``z``'s dtype.
    """
    groups, rows, _ = z.shape
    sims = z @ z.mT
    self_pairs = torch.eye(rows, dtype=torch.bool, device=z.device)
    logits = sims.masked_fill(self_pairs, float("-inf"))  # a row is not its own negative
    partner = (torch.arange(rows, device=z.device) + rows // 2) % rows
    return F.cross_entropy(logits.reshape(groups * rows, rows), partner.repeat(groups))
