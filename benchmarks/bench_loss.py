"""Speed and memory of the hierarchical contrastive loss (TS2Vec), tscl against the straightforward form.

Every case runs in a fresh subprocess so that its peak resident memory is its own. Prints a markdown table;
see benchmarks/README.md.

    python benchmarks/bench_loss.py [--quick] [--baseline] [--reps 5] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

SIZES = [(8, 500), (8, 1000), (4, 2000), (8, 3000)]
QUICK_SIZES = SIZES[:2]
DIM = 320
# The baseline is skipped (unless --baseline) when one repetition is expected to exceed either limit.
BASELINE_MAX_SECONDS = 120.0
BASELINE_MAX_BYTES = 8 * 2**30
# Used to estimate the baseline before any case has been measured (fitted on this project's 2-core CPU).
DEFAULT_BASELINE_MODEL = {"seconds_per_unit": 40.0 / (8 * 2000**2), "bytes_per_unit": 30.0}


# ------------------------------------------------------------------------------------------ the baseline
def _baseline_contrast(z: Tensor, half: int) -> Tensor:
    sims = z @ z.transpose(1, 2)
    logits = torch.tril(sims, -1)[:, :, :-1] + torch.triu(sims, 1)[:, :, 1:]  # drop the diagonal
    logits = -F.log_softmax(logits, dim=-1)
    i = torch.arange(half, device=z.device)
    return (logits[:, i, half + i - 1].mean() + logits[:, half + i, i].mean()) / 2


def baseline_loss(z1: Tensor, z2: Tensor, alpha: float = 0.5, temporal_unit: int = 0) -> Tensor:
    """The straightforward formulation: materialises several [B, 2T, 2T] tensors per scale."""
    loss = z1.new_tensor(0.0)
    scales = 0
    while z1.size(1) > 1:
        if alpha != 0 and z1.size(0) > 1:
            loss = loss + alpha * _baseline_contrast(torch.cat([z1, z2], 0).transpose(0, 1), z1.size(0))
        if scales >= temporal_unit and 1 - alpha != 0:
            loss = loss + (1 - alpha) * _baseline_contrast(torch.cat([z1, z2], 1), z1.size(1))
        scales += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.size(1) == 1:
        if alpha != 0 and z1.size(0) > 1:
            loss = loss + alpha * _baseline_contrast(torch.cat([z1, z2], 0).transpose(0, 1), z1.size(0))
        scales += 1
    return loss / scales


# ------------------------------------------------------------------------------------------ measurement
def matmul_flops(batch: int, length: int, dim: int) -> float:
    """Matmul FLOPs (2 per multiply-add) of tscl's loss: per contrast of G groups of n rows, 3 * G * n^2 * D
    (half of Z Z^T, then (P + P^T) Z); the straightforward form does 6 * G * n^2 * D."""
    flops = 0.0
    while True:
        if batch > 1:
            flops += 3 * length * (2 * batch) ** 2 * dim  # instance: G = T, n = 2B
        if length == 1:
            return flops
        flops += 3 * batch * (2 * length) ** 2 * dim  # temporal: G = B, n = 2T
        length //= 2


def _current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    try:  # Linux >= 4.0: "5" resets the peak resident set size of the process
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def run_case(impl: str, batch: int, length: int, dim: int, reps: int, warmup: bool) -> dict[str, float]:
    """Median forward+backward seconds and peak extra resident bytes of one implementation."""
    from tscl.losses.hierarchical import hierarchical_contrastive_loss

    loss_fn = hierarchical_contrastive_loss if impl == "tscl" else baseline_loss
    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(batch, length, dim, generator=generator).requires_grad_()
    z2 = torch.randn(batch, length, dim, generator=generator).requires_grad_()
    _reset_peak_rss()
    before = _current_rss()
    times = []
    for rep in range(reps + int(warmup)):
        start = time.perf_counter()
        torch.autograd.grad(loss_fn(z1, z2), (z1, z2))
        if rep >= int(warmup):
            times.append(time.perf_counter() - start)
    extra = max(0, _peak_rss() - before)
    return {"seconds": statistics.median(times), "best": min(times), "extra_bytes": extra}


def measure_peak_gflops() -> float:
    a = torch.randn(4, 2048, 2048)
    b = torch.randn(4, 2048, 2048)
    out = torch.empty(4, 2048, 2048)
    torch.bmm(a, b, out=out)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        torch.bmm(a, b, out=out)
        times.append(time.perf_counter() - start)
    return 2 * 4 * 2048**3 / min(times) / 1e9


def in_subprocess(impl: str, batch: int, length: int, reps: int, warmup: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--threads", str(torch.get_num_threads())]
    command += ["--case", impl, str(batch), str(length), str(reps), str(int(warmup))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {impl} B={batch} T={length} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ report
def _format_bytes(count: float) -> str:
    return f"{count / 2**20:.0f} MB" if count < 2**30 else f"{count / 2**30:.2f} GB"


def _baseline_estimate(model: dict[str, float], batch: int, length: int) -> tuple[float, float]:
    units = batch * (2 * length) ** 2
    return model["seconds_per_unit"] * units, model["bytes_per_unit"] * units


def run_all(sizes: list[tuple[int, int]], reps: int, force_baseline: bool) -> list[str]:
    peak = measure_peak_gflops()
    lines = [
        f"Hierarchical contrastive loss, forward + backward, fp32, D = {DIM}, "
        f"{torch.get_num_threads()} torch threads, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}; median of {reps} (tscl). Measured fp32 bmm peak: {peak:.0f} GFLOP/s.",
        "",
        "| B | T | tscl time (best) | tscl extra peak RSS | tscl GFLOP/s (% of peak) "
        "| baseline time | baseline extra peak RSS | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    model = dict(DEFAULT_BASELINE_MODEL)
    for batch, length in sizes:
        ours = in_subprocess("tscl", batch, length, reps, warmup=True)
        rate = matmul_flops(batch, length, DIM) / ours["seconds"] / 1e9
        est_seconds, est_bytes = _baseline_estimate(model, batch, length)
        too_big = est_seconds > BASELINE_MAX_SECONDS or est_bytes > BASELINE_MAX_BYTES
        if too_big and not force_baseline:
            base_cells = [f"skipped (est. {est_seconds:.0f} s)", f"(est. {_format_bytes(est_bytes)})", "-"]
        else:
            base_reps = max(1, min(reps, int(30 / max(est_seconds, 1e-3))))
            base = in_subprocess("baseline", batch, length, base_reps, warmup=est_seconds < 10)
            units = batch * (2 * length) ** 2
            model = {
                "seconds_per_unit": base["seconds"] / units,
                "bytes_per_unit": base["extra_bytes"] / units,
            }
            base_cells = [
                f"{base['seconds']:.2f} s" + (" (1 run)" if base_reps == 1 else ""),
                _format_bytes(base["extra_bytes"]),
                f"{base['seconds'] / ours['seconds']:.0f}x",
            ]
        row = [
            str(batch),
            str(length),
            f"{ours['seconds'] * 1e3:.0f} ms ({ours['best'] * 1e3:.0f} ms)",
            _format_bytes(ours["extra_bytes"]),
            f"{rate:.0f} ({100 * rate / peak:.0f} %)",
            *base_cells,
        ]
        lines.append("| " + " | ".join(row) + " |")
        print(f"measured B={batch} T={length}", file=sys.stderr, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the two smaller sizes")
    parser.add_argument("--baseline", action="store_true", help="run the baseline even where it is slow")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per case (median reported)")
    parser.add_argument("--out", type=Path, help="also write the markdown table to this file")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, all cores)")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)  # internal: one case in this process
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.case:
        impl, batch, length, reps, warmup = args.case
        print(json.dumps(run_case(impl, int(batch), int(length), DIM, int(reps), bool(int(warmup)))))
        return
    lines = run_all(QUICK_SIZES if args.quick else SIZES, args.reps, args.baseline)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
