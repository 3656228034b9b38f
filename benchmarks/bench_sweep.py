"""Many small runs: a datasets x seeds UCR sweep against the same runs started one by one from the shell.

The sequential case is what a user without ``tscl sweep`` does: for every (dataset, seed), ``tscl pretrain``
then ``tscl evaluate`` as two fresh processes, one after the other, each with torch's default threads. The sweep
case is one ``tscl sweep`` of the same grid (same settings, iterations, head, no plots) with ``--workers``
long-lived processes that each take trials from a queue and share the cores. Both write real run directories;
the script checks that both produced a metrics.json for every trial and prints the wall times, the ratio and
the mean accuracy of each (the same settings and seeds, so they should agree up to thread-count rounding).

Usage:
  python benchmarks/bench_sweep.py --data-dir ../shared/datasets
  python benchmarks/bench_sweep.py --data-dir ../shared/datasets --datasets GunPoint Coffee --seeds 2 --iters 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_loss import measure_peak_gflops  # noqa: E402

# Ten small-to-median UCR sets of ../shared/datasets (the large ones, FordA and ElectricDevices, are left out:
# there the arithmetic, not the start-up, is the cost).
DATASETS = ["ArrowHead", "BeetleFly", "CBF", "Coffee", "ECG200", "FaceFour", "GunPoint", "Ham",
            "ItalyPowerDemand", "Trace"]  # fmt: skip


def _tscl(*args: str) -> None:
    command = [sys.executable, "-m", "tscl", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def _accuracy(run_dir: Path) -> float:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return float(metrics["metrics"]["accuracy"] if "metrics" in metrics else metrics["accuracy"])


def sequential(args: argparse.Namespace, work: Path) -> tuple[float, list[float]]:
    began, accuracies = time.perf_counter(), []
    for dataset in args.datasets:
        for seed in range(args.seeds):
            run_dir = work / f"{dataset}-{seed}"
            _tscl("pretrain", "--dataset", dataset, "--data-dir", args.data_dir, "--seed", str(seed),
                  "--iters", str(args.iters), "--run-dir", str(run_dir), "--device", "cpu")  # fmt: skip
            _tscl("evaluate", str(run_dir), "--head", "svm", "--no-plots", "--device", "cpu")
            accuracies.append(_accuracy(run_dir))
    return time.perf_counter() - began, accuracies


def swept(args: argparse.Namespace, work: Path) -> tuple[float, list[float]]:
    work.mkdir(parents=True)
    grid = work / "grid.toml"
    names = ", ".join(f'"{d}"' for d in args.datasets)
    grid.write_text(
        f'name = "bench"\noutput = "{work / "out"}"\ndata_dir = "{Path(args.data_dir).resolve()}"\n'
        f'datasets = [{names}]\nobjectives = ["ts2vec"]\nseeds = {list(range(args.seeds))}\n\n'
        f'[base]\niters = {args.iters}\nhead = "svm"\nplots = false\ndevice = "cpu"\n'
    )
    began = time.perf_counter()
    _tscl("sweep", str(grid), "--workers", str(args.workers))
    elapsed = time.perf_counter() - began
    runs = [p.parent for p in sorted((work / "out").rglob("metrics.json"))]
    if len(runs) != len(args.datasets) * args.seeds:
        raise SystemExit(f"the sweep wrote {len(runs)} metrics.json, expected {len(args.datasets) * args.seeds}")
    return elapsed, [_accuracy(run) for run in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"fp32 GEMM peak before: {measure_peak_gflops():.0f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as work:
        one_by_one, acc_seq = sequential(args, Path(work) / "sequential")
        print(f"one by one: {one_by_one:.1f} s", flush=True)
        sweep, acc_sweep = swept(args, Path(work) / "sweep")
        print(f"tscl sweep --workers {args.workers}: {sweep:.1f} s", flush=True)
    print(f"fp32 GEMM peak after: {measure_peak_gflops():.0f} GFLOP/s\n")
    n = len(args.datasets) * args.seeds
    print(f"{len(args.datasets)} UCR sets x {args.seeds} seeds = {n} runs, {args.iters} iterations, SVM head\n")
    print("| case | wall time (s) | per run (s) | mean accuracy |")
    print("|---|---|---|---|")
    print(f"| `tscl pretrain` + `tscl evaluate`, one by one | {one_by_one:.1f} | {one_by_one / n:.2f} | "
          f"{statistics.mean(acc_seq):.4f} |")  # fmt: skip
    mean_sweep = statistics.mean(acc_sweep)
    print(f"| `tscl sweep --workers {args.workers}` | {sweep:.1f} | {sweep / n:.2f} | {mean_sweep:.4f} |")
    print(f"\nratio: x{one_by_one / sweep:.2f}")


if __name__ == "__main__":
    main()
