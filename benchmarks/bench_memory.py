"""Resident memory of long pretraining runs: sampled every few iterations, growth from warm-up to the end.

Each workload is a real pretraining (``tscl.runs.pretraining.pretrain``, the path ``tscl pretrain`` takes) in
a fresh subprocess, so every run starts with a fresh allocator. The worker reads its resident set size
(``VmRSS`` from ``/proc/self/status``, else psutil) every ``--every`` iterations; the report prints it at the end
of warm-up (iteration ``--warm-up``, 100), at the end, the growth between them, the largest value after warm-up
and the training time per iteration (median over the sampled intervals).

``--compare`` runs every workload twice: with tscl's bounded-heap measures (the default; see
``tscl/training/memory.py``) and without them (``TSCL_BOUNDED_HEAP=0``), so the table shows what they change.

Usage:
  python benchmarks/bench_memory.py --data-dir ../shared/datasets
  python benchmarks/bench_memory.py --data-dir ../shared/datasets --only ettm1-u --compare --every 25
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name -> (run settings, iterations)
WORKLOADS: dict[str, tuple[dict[str, object], int]] = {
    "ettm1-u": ({"dataset": "ETTm1", "univariate": True}, 600),
    "etth1-m": ({"dataset": "ETTh1", "univariate": False}, 600),
    "ettm1-u-autotcl": ({"dataset": "ETTm1", "univariate": True, "objective": "autotcl"}, 300),
    "ettm1-u-augment": ({"dataset": "ETTm1", "univariate": True, "objective": "augment"}, 300),
}


def resident_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def worker(spec: dict[str, object]) -> None:
    """Run one pretraining, print one JSON line: [(iteration, seconds, resident MB), ...]."""
    from tscl.config import resolve_config
    from tscl.runs.pretraining import pretrain

    every = int(spec.pop("every"))  # type: ignore[call-overload]
    run_dir = Path(str(spec.pop("run_dir")))
    config = resolve_config(None, None, spec, ())
    samples: list[tuple[int, float, float]] = []
    began = time.perf_counter()

    def sample(step: int, total: int, loss: float) -> None:
        if step % every == 0 or step == total:
            samples.append((step, time.perf_counter() - began, resident_mb()))

    pretrain(config, run_dir=run_dir, on_step=sample)
    print(json.dumps(samples))


def run(name: str, args: argparse.Namespace, bounded: bool, work: Path) -> dict[str, float]:
    settings, iters = WORKLOADS[name]
    spec = {**settings, "iters": args.iters or iters, "threads": args.threads, "device": "cpu",
            "data_dir": args.data_dir, "every": args.every,
            "run_dir": str(Path(tempfile.mkdtemp(dir=work)) / "run")}  # fmt: skip
    env = {**os.environ, "TSCL_BOUNDED_HEAP": "1" if bounded else "0"}
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          env=env)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    samples = json.loads(done.stdout.strip().splitlines()[-1])
    warm = [s for s in samples if s[0] >= args.warm_up]
    if len(warm) < 2:
        raise SystemExit(f"{name}: too few samples after warm-up; lower --every or --warm-up")
    start, end = warm[0], warm[-1]
    per_iter = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(warm, warm[1:], strict=False)]
    return {
        "iters": end[0], "warm_mb": start[2], "end_mb": end[2], "growth": end[2] / start[2] - 1,
        "max_mb": max(s[2] for s in warm), "s_per_iter": statistics.median(per_iter),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run (default: all)")
    parser.add_argument("--iters", type=int, default=None, help="override every workload's iterations")
    parser.add_argument("--every", type=int, default=10, help="sample the resident memory every N iterations")
    parser.add_argument("--warm-up", type=int, default=100, help="growth is measured from this iteration")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="also run without the bounded-heap measures")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    import torch

    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs; resident memory in MB")
    print(
        f"| workload | heap measures | iterations | at {args.warm_up} | at end | growth | max after warm-up | s/iter |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for name in args.only or list(WORKLOADS):
            for bounded in (True, False) if args.compare else (True,):
                r = run(name, args, bounded, Path(work))
                print(f"| {name} | {'on' if bounded else 'off'} | {r['iters']:.0f} | {r['warm_mb']:.0f} | "
                      f"{r['end_mb']:.0f} | {r['growth']:+.1%} | {r['max_mb']:.0f} | {r['s_per_iter']:.3f} |",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
