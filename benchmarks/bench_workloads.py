"""End-to-end workloads of the performance issue, timed for tscl beside a straightforward formulation.

Workloads (each in its own subprocess, so peak memory is per workload):
  etth1-pretrain   ETTh1 univariate TS2Vec pretraining, default settings (200 iterations)
  gunpoint-pretrain UCR GunPoint TS2Vec pretraining (200 iterations, batch 8)
  etth1-encode     ETTh1 forecasting-protocol encoding (causal 201-step window per timestamp); the baseline
                   encodes every window in full and keeps its last position (the per-window computation,
                   batched 256 windows at a time like the reference); max abs difference is reported
  gunpoint-classify instance encoding of train+test and the SVM protocol

Usage:
  python benchmarks/bench_workloads.py --data-dir ../shared/datasets            # all workloads
  python benchmarks/bench_workloads.py --only etth1-encode --baseline           # with the baseline
The reference implementation's figures measured on this project's 2-core CPU are printed beside ours.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REFERENCE_S = {"etth1-pretrain": 337.0, "gunpoint-pretrain": 32.0, "etth1-encode": 61.0}
WORKLOADS = ("etth1-pretrain", "gunpoint-pretrain", "etth1-encode", "gunpoint-classify")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pretrain(name: str, data_dir: str | None, baseline: bool) -> dict:
    from tscl.data import load_dataset
    from tscl.model import ContrastiveModel

    data = load_dataset("ETTh1" if name.startswith("etth1") else "GunPoint", data_dir, univariate=True)
    X = data.pretrain_array()
    model = ContrastiveModel(device="cpu", seed=42)
    began = time.perf_counter()
    model.fit(X)
    result = {"tscl_s": time.perf_counter() - began, "iters": model.progress.step}
    if baseline:
        from bench_loss import baseline_loss  # the straightforward loss written in bench_loss.py

        import tscl.objectives.ts2vec as objective

        objective.hierarchical_contrastive_loss = baseline_loss  # type: ignore[assignment]
        slow = ContrastiveModel(device="cpu", seed=42)
        began = time.perf_counter()
        slow.fit(X)
        result["baseline_s"] = time.perf_counter() - began
    return result


def _encode(data_dir: str | None, baseline: bool) -> dict:
    import numpy as np
    import torch

    from tscl.data import load_dataset
    from tscl.model import ContrastiveModel

    data = load_dataset("ETTh1", data_dir, univariate=True)
    model = ContrastiveModel(device="cpu", seed=42)
    model.fit(data.pretrain_array(), n_iters=1)
    began = time.perf_counter()
    fast = model.encode(data.data, mode="timestamp", causal_window=201)
    result = {"tscl_s": time.perf_counter() - began}
    if baseline:
        net = model.averaged.module.eval()
        series = torch.from_numpy(data.data[0])
        padded = torch.cat([torch.full((200, series.shape[1]), float("nan")), series])
        windows = padded.unfold(0, 201, 1).transpose(1, 2)
        began = time.perf_counter()
        with torch.no_grad():
            slow = torch.cat([net(windows[s : s + 256])[:, -1] for s in range(0, len(windows), 256)]).numpy()
        result["baseline_s"] = time.perf_counter() - began
        result["max_abs_diff"] = float(np.abs(slow - fast[0]).max())
    return result


def _classify(data_dir: str | None) -> dict:
    from tscl.data import load_dataset
    from tscl.evaluation import run_classification_protocol
    from tscl.model import ContrastiveModel

    data = load_dataset("GunPoint", data_dir)
    model = ContrastiveModel(device="cpu", seed=42)
    model.fit(data.X_train, n_iters=1)
    began = time.perf_counter()
    train, test = model.encode(data.X_train), model.encode(data.X_test)
    encoded = time.perf_counter() - began
    run_classification_protocol(train, data.y_train, test, data.y_test, len(data.class_names))
    return {"tscl_s": time.perf_counter() - began, "encode_s": encoded}


def run_one(name: str, data_dir: str | None, baseline: bool) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    if name.endswith("pretrain"):
        result = _pretrain(name, data_dir, baseline)
    elif name == "etth1-encode":
        result = _encode(data_dir, baseline)
    else:
        result = _classify(data_dir)
    result["peak_rss_mb"] = _peak_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--only", choices=WORKLOADS, action="append")
    parser.add_argument("--baseline", action="store_true", help="also time the straightforward formulation")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_one(args.case, args.data_dir, args.baseline)))
        return
    rows = ["| workload | tscl (s) | baseline (s) | reference (s) | speed-up vs reference | peak RSS (MB) | note |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in args.only or WORKLOADS:
        cmd = [sys.executable, __file__, "--case", name] + (["--data-dir", args.data_dir] if args.data_dir else [])
        cmd += ["--baseline"] if args.baseline else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            rows.append(f"| {name} | failed | | | | | {out.stderr.strip().splitlines()[-1][:80]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ref = REFERENCE_S.get(name)
        base = f"{r['baseline_s']:.1f}" if "baseline_s" in r else "-"
        speed = f"{ref / r['tscl_s']:.1f}x" if ref else "-"
        note = f"max abs diff {r['max_abs_diff']:.1e}" if "max_abs_diff" in r else ""
        note += f"encode {r['encode_s']:.2f} s" if "encode_s" in r else ""
        cells = [name, f"{r['tscl_s']:.2f}", base, str(ref or "-"), speed, f"{r['peak_rss_mb']:.0f}", note]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
