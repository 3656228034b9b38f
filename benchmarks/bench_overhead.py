"""Where a small-series pretraining run goes, and the best end-to-end ratio an eager implementation can reach.

GunPoint pretraining (200 iterations, batch 8, seed 42, 2 threads by default), measured on this machine in one run:

  start-up      `python -c "import torch"` and a one-iteration `tscl pretrain` (start to exit): the fixed costs
  step          ms per iteration of `ContrastiveModel.fit` with the default encoder (widths 64 and 320)
  floor         the same step with widths 4: the same ~5,000 tensor operations per step, with almost no
                arithmetic in them (what the interpreter, autograd and ATen's per-operation work cost)
  operations    tensor operations per step (torch.profiler)
  products      matrix-product FLOPs per step, their time at the rate the encoder's 64-wide products reach in
                isolation, and the time of the run's own products replayed alone (each shape and operand layout
                at its own rate on this machine: the figure the bounds below use)
  per operation the cost of one trivial tensor operation called from Python (torch.add on one-element tensors)

With ``--reference-dir`` (the official TS2Vec code, see bench_reference.py) it also times `tscl pretrain` and
the official `train.py` on GunPoint from start to exit, rounds interleaved (medians), in the same run.

It prints the accounting against the official time: the ratio now; the best ratio of an eager implementation
(start-up + 200 x (products at their rate + the per-operation floor)); the best of one with no per-operation
cost at all (start-up + products), with tscl's fixed costs and with only `import torch`; and how small the
non-arithmetic work per iteration would have to be for x3.5 and x5 (with the operations count: the cost per
operation that implies).

    python benchmarks/bench_overhead.py --data-dir ../shared/datasets --reference-dir /tmp/ts2vec-official
    python benchmarks/bench_overhead.py --data-dir ../shared/datasets --official-seconds 32.6
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _wall(command: Callable[[int], list[str]], rounds: int) -> float:
    """Median wall time of ``command(round)`` run ``rounds`` times."""
    times = []
    for i in range(rounds):
        began = time.perf_counter()
        subprocess.run(command(i), check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _step_ms(X, threads: int, steps: int, **widths: int) -> float:  # type: ignore[no-untyped-def]
    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel(device="cpu", seed=42, batch_size=8, threads=threads, **widths)
    model.fit(X, n_iters=10)
    began = time.perf_counter()
    model.fit(X, n_iters=10 + steps)
    return (time.perf_counter() - began) / steps * 1e3


def _operations_per_step(X, threads: int, steps: int = 20) -> float:  # type: ignore[no-untyped-def]
    from torch.profiler import ProfilerActivity, profile

    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel(device="cpu", seed=42, batch_size=8, threads=threads)
    model.fit(X, n_iters=5)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.fit(X, n_iters=5 + steps)
    return sum(e.count for e in prof.key_averages() if e.key.startswith("aten::")) / steps


def _products_per_step(X, threads: int, iters: int = 200) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """FLOPs and seconds per step of the matrix products of the 200-iteration run, replayed alone.

    The run's own products (the same seed: the same crops), recorded at the dispatcher and replayed in order with
    nothing between them (bench_workloads.replay_products, every 5th step): each shape at the rate it reaches on
    this machine, with its own operand layout. The single-rate figure (all products at the 2400x64x64 rate)
    overstates the achievable: the backward's weight products and the 320-wide final layer run slower.
    """
    import bench_workloads

    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel(device="cpu", seed=42, batch_size=8, threads=threads)
    steps = bench_workloads.record_products(model, X, iters)
    flop = sum(bench_workloads.product_flops(step) for step in steps) / len(steps)
    return flop, bench_workloads.replay_products(steps, every=5)


def _gemm_rate(rows: int = 2400, width: int = 64, reps: int = 300) -> float:
    import torch

    a, b, out = torch.randn(rows, width), torch.randn(width, width), torch.empty(rows, width)
    for _ in range(20):
        torch.mm(a, b, out=out)
    began = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b, out=out)
    return 2 * rows * width * width * reps / (time.perf_counter() - began)


def _per_operation_us(reps: int = 20000) -> float:
    import torch

    a, b = torch.ones(1), torch.ones(1)
    began = time.perf_counter()
    for _ in range(reps):
        torch.add(a, b)
    return (time.perf_counter() - began) / reps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100, help="timed iterations per step figure")
    parser.add_argument("--rounds", type=int, default=3, help="runs per start-up figure (median)")
    parser.add_argument("--reference-dir", help="the official TS2Vec code: time its train.py and tscl's command")
    parser.add_argument("--official-seconds", type=float, help="the official program's GunPoint time, start to exit")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    import torch
    from bench_loss import measure_peak_gflops

    from tscl.data import load_dataset

    torch.set_num_threads(args.threads)
    peak = measure_peak_gflops()
    import_s = _wall(lambda _: [sys.executable, "-c", "import torch"], args.rounds)
    with tempfile.TemporaryDirectory() as scratch:
        one_iteration = [sys.executable, "-m", "tscl", "pretrain", "--dataset", "GunPoint", "--data-dir",
                         args.data_dir, "--iters", "1", "--batch-size", "8", "--seed", "42", "--threads",
                         str(args.threads), "--run-dir"]  # fmt: skip
        fixed_s = _wall(lambda i: [*one_iteration, str(Path(scratch) / f"run{i}")], args.rounds)
    commands = {"tscl": [], "official": []}
    if args.reference_dir:
        from bench_reference import _command_line_case

        for _ in range(args.rounds):
            for impl, times in commands.items():
                times.append(_command_line_case(impl, "GunPoint", args)["seconds"])
    X = load_dataset("GunPoint", args.data_dir, univariate=True).pretrain_array()
    step = _step_ms(X, args.threads, args.steps)
    floor = _step_ms(X, args.threads, args.steps, repr_dims=4, hidden_dims=4)
    operations = _operations_per_step(X, args.threads)
    flop, alone_s = _products_per_step(X, args.threads)
    rate = _gemm_rate()
    per_op = _per_operation_us()
    products = alone_s * 1e3
    print(f"GunPoint, {args.threads} threads, torch {torch.__version__}; measured GEMM peak {peak:.0f} GFLOP/s "
          f"(4 x 2048^3 bmm), the encoder's 2400x64x64 product {rate / 1e9:.0f} GFLOP/s")  # fmt: skip
    rows = [
        ("python + import torch", f"{import_s:.2f} s"),
        ("`tscl pretrain --iters 1`, start to exit (fixed costs)", f"{fixed_s:.2f} s"),
        ("one iteration", f"{step:.1f} ms"),
        ("one iteration with widths 4 (the per-operation floor)", f"{floor:.1f} ms"),
        ("tensor operations per iteration", f"{operations:.0f}"),
        ("one trivial tensor operation from Python", f"{per_op:.1f} us"),
        (
            "matrix products per iteration",
            f"{flop / 1e9:.2f} GFLOP = {flop / rate * 1e3:.1f} ms at {rate / 1e9:.0f} GFLOP/s (the 2400x64x64 rate)",
        ),
        (
            "the same products replayed alone, each at its own shape's rate",
            f"{products:.1f} ms ({flop / alone_s / 1e9:.0f} GFLOP/s)",
        ),
    ]
    print("\n| quantity | measured |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    eager = fixed_s + 200 * (products + floor) / 1e3
    measured = statistics.median(commands["tscl"]) if commands["tscl"] else fixed_s + 199 * step / 1e3
    print(f"\n200 iterations: {measured:.1f} s (" + ("`tscl pretrain`, start to exit" if commands["tscl"] else
          "fixed costs + 199 iterations") + f"); an eager implementation that kept only the products and the "
          f"per-operation floor: {eager:.1f} s")  # fmt: skip
    official = statistics.median(commands["official"]) if commands["official"] else args.official_seconds
    if not official:
        return
    print(f"official train.py: {official:.1f} s: x{official / measured:.2f} now; at most x{official / eager:.2f} "
          f"eager; with no per-operation cost at all x{official / (fixed_s + 200 * products / 1e3):.2f} (tscl's "
          f"fixed costs), x{official / (import_s + 200 * products / 1e3):.2f} (only import torch)")  # fmt: skip
    for target in (3.5, 5.0):
        budget = (official / target - fixed_s) / 200 * 1e3 - products
        if budget <= 0:
            print(f"x{target}: out of reach: the fixed costs and the products alone take longer than "
                  f"{official / target:.1f} s")  # fmt: skip
            continue
        print(f"x{target}: at most {budget:.1f} ms per iteration beside the products (now {step - products:.1f}, "
              f"floor {floor:.1f}), i.e. {budget / operations * 1e3:.2f} us per operation at {operations:.0f} "
              f"operations (one trivial operation: {per_op:.1f} us)")  # fmt: skip


if __name__ == "__main__":
    main()
