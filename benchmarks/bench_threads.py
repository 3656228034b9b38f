"""The default thread count under load: ``tscl pretrain`` with the default against fixed ``--threads``.

Each case is a real ``tscl pretrain`` run. Conditions: the machine as found ("as found"), and with
``--burners`` extra processes each spinning on one core ("N burners"), started before the run and stopped
after it. Cases run in rounds (each round runs every case once, interleaved) and the medians of the wall time
of the whole command are printed, with the thread count the default picked (``meta.json``'s ``threads`` and
``threads_rule``). The default should stay within 1.5x of the best fixed setting under load and lose nothing
when the machine is idle.

Usage:
  python benchmarks/bench_threads.py                                   # GunPoint, 60 iterations, 2 rounds
  python benchmarks/bench_threads.py --dataset ETTh1 --univariate --data-dir ../shared/datasets --iters 20
  python benchmarks/bench_threads.py --api --iters 60                  # TS2Vec.fit instead of the command
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

BURNER = "import time\nwhile True:\n    sum(range(10_000))\n"
# --api: the Python API's fit instead of the command line (prints the count it ran on).
API = """
import sys, time, torch, tscl
from tscl.data import load_dataset
data = load_dataset(sys.argv[1], sys.argv[2] or None, univariate=sys.argv[3] == "1")
threads = int(sys.argv[5]) if sys.argv[5] else None
seen = []
model = tscl.TS2Vec(seed=1, device="cpu", threads=threads)
model.fit(data.pretrain_array(), n_iters=int(sys.argv[4]), callback=lambda m, l: seen.append(torch.get_num_threads()))
print(seen[-1])
"""


def run_api_case(threads: int | None, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, "-c", API, args.dataset, args.data_dir or "", "1" if args.univariate else "0",
               str(args.iters), str(threads or "")]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"the API case failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "threads": int(done.stdout.split()[-1]), "rule": "given" if threads else "auto"}


def run_case(threads: int | None, args: argparse.Namespace, work: Path) -> dict[str, object]:
    if args.api:
        return run_api_case(threads, args)
    run_dir = Path(tempfile.mkdtemp(dir=work)) / "run"
    command = [sys.executable, "-m", "tscl", "pretrain", "--dataset", args.dataset, "--iters", str(args.iters),
               "--run-dir", str(run_dir), "--device", "cpu", "--seed", "1", "--json"]  # fmt: skip
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.univariate:
        command += ["--univariate"]
    if threads is not None:
        command += ["--threads", str(threads)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    meta = json.loads((run_dir / "meta.json").read_text())
    return {"seconds": seconds, "threads": meta["threads"], "rule": meta.get("threads_rule", "")}


def start_burners(n: int) -> list[subprocess.Popen[bytes]]:
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(n)]
    time.sleep(1.0)  # let them reach full speed before the run samples the load
    return burners


def stop(burners: list[subprocess.Popen[bytes]]) -> None:
    for burner in burners:
        burner.terminate()
    for burner in burners:
        burner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--univariate", action="store_true")
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--burners", type=int, default=1, help="extra busy processes in the loaded condition")
    parser.add_argument("--api", action="store_true", help="time TS2Vec(threads=...).fit instead of the command")
    parser.add_argument("--fixed", type=int, nargs="+", default=None, help="fixed --threads values (1 .. cores)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    settings: list[int | None] = [None, *(args.fixed or range(1, cores + 1))]
    conditions = {"as found": 0, f"{args.burners} burner(s)": args.burners}
    results: dict[tuple[str, int | None], list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for condition, n in conditions.items():
                burners = start_burners(n) if n else []
                try:
                    for threads in settings:
                        out = run_case(threads, args, Path(tmp))
                        results.setdefault((condition, threads), []).append(out)
                        print(f"  {condition:12} threads={threads or 'default':7} {out['seconds']:7.1f} s "
                              f"(ran on {out['threads']}: {out['rule']})", file=sys.stderr, flush=True)  # fmt: skip
                finally:
                    stop(burners)
    what = "TS2Vec.fit" if args.api else "tscl pretrain"
    print(f"\n{what}: {args.dataset}, {args.iters} iterations, {cores} cores, medians of {args.rounds} rounds "
          "(wall s)\n")  # fmt: skip
    print("| condition | " + " | ".join(f"--threads {t}" if t else "default" for t in settings)
          + " | default / best fixed |")  # fmt: skip
    print("|---" * (len(settings) + 2) + "|")
    for condition in conditions:
        medians = [statistics.median(float(r["seconds"]) for r in results[(condition, t)]) for t in settings]  # type: ignore[arg-type]
        picked = sorted({int(r["threads"]) for r in results[(condition, None)]})  # type: ignore[call-overload]
        cells = [f"{medians[0]:.1f} (ran on {'/'.join(map(str, picked))})", *(f"{m:.1f}" for m in medians[1:])]
        print(f"| {condition} | " + " | ".join(cells) + f" | {medians[0] / min(medians[1:]):.2f} |")


if __name__ == "__main__":
    main()
