"""Run every benchmark and write one markdown report: the loss (bench_loss.py) and the workloads
(bench_workloads.py), each beside its straightforward baseline, with the machine's matmul peak, and, given
``--reference-dir``, tscl beside the official TS2Vec code in the same run (bench_reference.py).

    python benchmarks/run_all.py --data-dir ../shared/datasets --out benchmarks/results.md
    python benchmarks/run_all.py --data-dir ../shared/datasets --threads 2 --baseline --out results.md
    python benchmarks/run_all.py --data-dir ../shared/datasets --reference-dir /tmp/ts2vec-official

The machine must be otherwise idle (see benchmarks/README.md). Takes ~5 minutes, ~15 with --baseline.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, all cores)")
    parser.add_argument("--baseline", action="store_true", help="also run the slow baselines where they are long")
    parser.add_argument("--reference-dir", help="a checkout of github.com/yuezhihan/ts2vec: also compare with it")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.md"))
    args = parser.parse_args()

    import torch

    threads = ["--threads", str(args.threads)] if args.threads else []
    loss_args = threads + (["--baseline"] if args.baseline else [])
    work_args = threads + ["--baseline"] + (["--data-dir", args.data_dir] if args.data_dir else [])
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
    scratch.unlink()
    header = (
        f"# tscl benchmarks\n\n{datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads\n"
    )
    args.out.write_text(f"{header}\n## Hierarchical loss\n\n{loss}\n## Workloads\n\n{workloads}{reference}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
