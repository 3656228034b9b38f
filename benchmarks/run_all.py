"""Run every benchmark, print one markdown report and write it to ``--out``: the loss (bench_loss.py) and the
workloads (bench_workloads.py, with ETTh1-U pretraining's matmul FLOPs, the FLOP bound at the measured GEMM
peak and the share of it reached), each beside its straightforward baseline; given ``--reference-dir``, tscl
beside the official TS2Vec code in the same run (bench_reference.py: the loss, ETTh1-U and GunPoint
pretraining, GunPoint from the command line start to exit, the causal encoding; and bench_overhead.py: the
small-series accounting, the best ratio an eager implementation can reach); with ``--svm``, the SVM
protocol on ElectricDevices against scikit-learn's plain grid search (bench_svm.py); with ``--sweep``, ten UCR
sets x 3 seeds run one by one against one `tscl sweep` (bench_sweep.py); with ``--compile``, tscl's eager
step against the straightforward formulation and both under ``torch.compile`` (bench_compile.py). ``--all`` is
all of them.

    python benchmarks/run_all.py --data-dir ../shared/datasets --out benchmarks/results.md
    python benchmarks/run_all.py --data-dir ../shared/datasets --threads 2 --baseline --out results.md
    python benchmarks/run_all.py --data-dir ../shared/datasets --reference-dir /tmp/ts2vec-official --all

The machine must be otherwise idle (see benchmarks/README.md). Takes ~5 minutes, ~15 with --baseline, about
an hour with --all (the official code's ETTh1 pretraining and the 60 commands of the sweep comparison).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _run(script: str, args: list[str], out: Path) -> str:
    subprocess.run([sys.executable, str(HERE / script), *args, "--out", str(out)], check=True)
    return out.read_text()


def _printed(script: str, args: list[str]) -> str:
    """What a script that only prints its report printed (its progress lines pass through to stderr)."""
    done = subprocess.run([sys.executable, str(HERE / script), *args], check=True, stdout=subprocess.PIPE, text=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, all cores)")
    parser.add_argument("--baseline", action="store_true", help="also run the slow baselines where they are long")
    parser.add_argument("--reference-dir", help="a checkout of github.com/yuezhihan/ts2vec: also compare with it")
    parser.add_argument("--svm", action="store_true", help="also the SVM protocol on ElectricDevices (~5 min)")
    parser.add_argument("--sweep", action="store_true", help="also 10 UCR sets x 3 seeds, one by one vs a sweep")
    parser.add_argument("--compile", action="store_true", help="also torch.compile against the eager step (~6 min)")
    parser.add_argument("--all", action="store_true", help="--svm, --sweep, --compile (and the official code if given)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.md"))
    args = parser.parse_args()
    if (args.svm or args.sweep or args.compile or args.all) and not args.data_dir:
        parser.error("--svm, --sweep, --compile and --all need --data-dir (the UCR files)")

    import torch

    threads = ["--threads", str(args.threads)] if args.threads else []
    loss_args = threads + (["--baseline"] if args.baseline else [])
    # --count-flops: the pretraining workloads' matmul FLOPs, the FLOP bound at the measured peak and the share
    # of it reached, and the same products replayed alone (what their own shapes reach here).
    work_args = threads + ["--baseline", "--count-flops"] + (["--data-dir", args.data_dir] if args.data_dir else [])
    scratch = args.out.with_suffix(".part.md")
    loss = _run("bench_loss.py", loss_args, scratch)
    workloads = _run("bench_workloads.py", work_args, scratch)
    reference = ""
    if args.reference_dir:
        if not args.data_dir:
            parser.error("--reference-dir needs --data-dir (the ETT and UCR files both sides read)")
        ref_args = ["--reference-dir", args.reference_dir, "--data-dir", args.data_dir]
        ref_args += ["--threads", str(args.threads or torch.get_num_threads())]
        reference = "\n## Beside the official TS2Vec code\n\n" + _run("bench_reference.py", ref_args, scratch)
        reference += "\n## Where a small-series run goes (GunPoint)\n\n"
        reference += _printed("bench_overhead.py", ref_args)
    extra = ""
    if args.svm or args.all:
        svm_args = ["--data-dir", args.data_dir, "--threads", str(args.threads or torch.get_num_threads())]
        extra += "\n## SVM protocol at scale (ElectricDevices)\n\n" + _run("bench_svm.py", svm_args, scratch)
    if args.sweep or args.all:
        extra += "\n## Many small runs: one by one against one sweep\n\n"
        extra += _printed("bench_sweep.py", ["--data-dir", args.data_dir])
    if args.compile or args.all:
        extra += "\n## A compiled step (torch.compile) against the eager one\n\n"
        extra += _printed("bench_compile.py", ["--data-dir", args.data_dir, *threads])
    scratch.unlink(missing_ok=True)
    header = (
        f"# tscl benchmarks\n\n{datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads\n"
    )
    report = f"{header}\n## Hierarchical loss\n\n{loss}\n## Workloads\n\n{workloads}{reference}{extra}"
    args.out.write_text(report)
    print(report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
