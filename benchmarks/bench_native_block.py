"""Does calling the residual block's operations from C++ instead of Python make a small-series step faster?

`benchmarks/native/residual_block.cpp` is tscl's residual block (`tscl/kernels/residual_block.py`: forward and
backward, the same ATen calls in the same order) written as a C++ extension, built here with
`torch.utils.cpp_extension.load` (needs a C++ compiler and ninja; ~30 s the first time, cached after). The
script trains GunPoint (batch 8, 2 threads by default) in one process and swaps the encoder's block between the
Python and the C++ version every 20 iterations, order alternating (``--pairs`` pairs), so that the machine's
drift hits both; it prints the median ms per iteration of each and the median ratio, and checks that the first
10 losses of both agree (the same operations: they should match to float rounding).

    python benchmarks/bench_native_block.py --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).parent


def native_residual_block() -> Any:
    """A drop-in for `tscl.kernels.residual_block.residual_block` whose forward and backward run in C++."""
    from torch.utils.cpp_extension import load

    from tscl.kernels.tap_conv import per_tap_weights

    ext = load("tscl_bench_residual_block", [str(HERE / "native" / "residual_block.cpp")], extra_cflags=["-O3"])

    class _Block(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, w1: Any, b1: Any, w2: Any, b2: Any, wp: Any, bp: Any, dilation: int,
                    padding: Any) -> Any:  # fmt: skip
            p1, p2 = per_tap_weights(w1), per_tap_weights(w2)
            bias = b2.detach() if bp is None else b2.detach() + bp.detach()
            projector = None if wp is None else wp.detach()[:, :, 0].t()
            pad = [list(triple) for triple in (padding or [])]
            out, a, h, g = ext.block_forward(x, p1, b1.detach(), p2, bias, projector, dilation, pad)
            ctx.save_for_backward(x.contiguous(), a, h, g, p1, p2, wp)
            ctx.dilation, ctx.pad, ctx.has_bp = dilation, pad, bp is not None
            return out

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            x, a, h, g, p1, p2, wp = ctx.saved_tensors
            projector = None if wp is None else wp.detach()[:, :, 0]
            grads = ext.block_backward(grad_out, x, a, h, g, p1, p2, projector, ctx.dilation, ctx.pad,
                                       bool(ctx.needs_input_grad[0]))  # fmt: skip
            gx, gw1, gb1, gw2, gb2, gwp = grads
            return gx, gw1, gb1, gw2, gb2, gwp if wp is not None else None, gb2 if ctx.has_bp else None, None, None

    def block(x: Any, conv1: Any, conv2: Any, dilation: int, projector: Any = None, padding: Any = None) -> Any:
        wp, bp = projector if projector is not None else (None, None)
        return _Block.apply(x, conv1[0], conv1[1], conv2[0], conv2[1], wp, bp, dilation, padding)

    return block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=8)
    args = parser.parse_args()
    import tscl.encoders.layers as layers
    from tscl.data import load_dataset
    from tscl.training.model import ContrastiveModel

    python_block, cpp_block = layers.residual_block, native_residual_block()
    X = load_dataset("GunPoint", args.data_dir, univariate=True).pretrain_array()
    first = {}
    for name, block in (("python", python_block), ("c++", cpp_block)):
        layers.residual_block = block
        first[name] = ContrastiveModel(device="cpu", seed=42, batch_size=8, threads=args.threads).fit(X, n_iters=10)
    difference = max(abs(a - b) for a, b in zip(*(m.progress.losses for m in first.values()), strict=True))
    model = first["python"]
    times: dict[str, list[float]] = {"python": [], "c++": []}
    for i in range(2 * args.pairs):
        order = [("python", python_block), ("c++", cpp_block)]
        for name, block in order if i % 2 == 0 else order[::-1]:
            layers.residual_block = block
            began = time.perf_counter()
            model.fit(X, n_iters=model.progress.step + 20)
            times[name].append((time.perf_counter() - began) / 20 * 1e3)
    ratios = [c / p for c, p in zip(times["c++"], times["python"], strict=True)]
    print(f"GunPoint, {args.threads} threads, {2 * args.pairs} chunks of 20 iterations each, alternating")
    print(f"first 10 losses: max abs difference {difference:.2e}")
    print(f"python: {statistics.median(times['python']):.1f} ms per iteration; c++: "
          f"{statistics.median(times['c++']):.1f} ms; c++ / python median {statistics.median(ratios):.2f} "
          f"(range {min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
