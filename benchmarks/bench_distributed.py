"""Data-parallel pretraining on this machine: throughput with 1 and N processes, and the all-gather's cost.

Each case is a real ``tscl pretrain`` run (through ``torchrun`` for N > 1) with the same global batch: one
process with batch N*B and ``--threads N`` against N processes with batch B and one thread each. Throughput is
series per second of training time (``meta.json``'s ``timings.train_s``, which excludes start-up, data loading
and the final checkpoint). ``--gather-negatives`` is timed beside the per-rank negatives; the difference per
step is the all-gather's cost (the forward all-gather of both views plus the larger loss). Cases run in rounds
(each round runs every case once, one after the other) and the medians are printed, with the GEMM peak
measured before and after.

Usage:
  python benchmarks/bench_distributed.py --data-dir ../shared/datasets
  python benchmarks/bench_distributed.py --data-dir ../shared/datasets --dataset ETTh1 --iters 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_loss import measure_peak_gflops  # noqa: E402


def run_case(processes: int, batch: int, gather: bool, args: argparse.Namespace, work: Path) -> dict[str, float]:
    run_dir = Path(tempfile.mkdtemp(dir=work)) / "run"
    pretrain = ["-m", "tscl", "pretrain", "--dataset", args.dataset, "--iters", str(args.iters),
                "--batch-size", str(batch), "--run-dir", str(run_dir), "--device", "cpu",
                "--checkpoint-every", str(10 * args.iters), "--seed", "1"]  # fmt: skip
    if args.data_dir:
        pretrain += ["--data-dir", args.data_dir]
    if args.univariate:
        pretrain += ["--univariate"]
    if gather:
        pretrain += ["--gather-negatives"]
    if processes == 1:
        command = [sys.executable, *pretrain, "--threads", str(args.processes)]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   *pretrain, "--threads", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    meta = json.loads((run_dir / "meta.json").read_text())
    train_s = float(meta["timings"]["train_s"])
    return {"train_s": train_s, "series_per_s": args.iters * batch * processes / train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--univariate", action="store_true", help="forecasting data: the target column only")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8, help="series per process and iteration (B)")
    parser.add_argument("--processes", type=int, default=2, help="N")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n, b = args.processes, args.batch
    cases = {
        f"1 process, batch {n * b}, {n} threads": (1, n * b, False),
        f"{n} processes, batch {b} each, per-rank negatives": (n, b, False),
        f"{n} processes, batch {b} each, --gather-negatives": (n, b, True),
    }
    print(f"fp32 GEMM peak before: {measure_peak_gflops():.0f} GFLOP/s", flush=True)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.rounds):
            for name, (processes, batch, gather) in cases.items():
                results[name].append(run_case(processes, batch, gather, args, Path(work)))
                print(f"round {round_ + 1}: {name}: {results[name][-1]['train_s']:.2f} s", flush=True)
    print(f"fp32 GEMM peak after: {measure_peak_gflops():.0f} GFLOP/s\n")
    print(f"{args.dataset}, {args.iters} iterations, global batch {n * b}; medians of {args.rounds} rounds\n")
    print("| case | train time (s) | series / s | per step (ms) |")
    print("|---|---|---|---|")
    medians = {}
    for name, runs in results.items():
        train_s = statistics.median(r["train_s"] for r in runs)
        medians[name] = train_s
        rate = statistics.median(r["series_per_s"] for r in runs)
        print(f"| {name} | {train_s:.2f} | {rate:.1f} | {1000 * train_s / args.iters:.1f} |")
    local, gathered = list(medians.values())[1:]
    print(f"\nall-gather overhead per step: {1000 * (gathered - local) / args.iters:+.1f} ms "
          f"({100 * (gathered / local - 1):+.0f} %)")  # fmt: skip


if __name__ == "__main__":
    main()
