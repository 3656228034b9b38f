"""tscl beside the official TS2Vec code, measured side by side in one run on this machine.

The official code (https://github.com/yuezhihan/ts2vec) is not part of tscl: get it once and point
``--reference-dir`` at it, e.g. ``git clone https://github.com/yuezhihan/ts2vec /tmp/ts2vec-official``.
Nothing of it is copied; it is imported at run time in the measuring subprocess.

Workloads (each case in a fresh subprocess; rounds interleave tscl and the official code, so a change of
machine load hits both; the figure of a workload is the median over rounds):
  loss-8x1000      hierarchical contrastive loss, forward + backward, B=8, T=1000, D=320
  loss-4x2000      the same, B=4, T=2000
  etth1-pretrain   ETTh1 univariate pretraining (TS2Vec defaults: batch 8, max_train_length 3000, 200 it.)
  gunpoint-pretrain UCR GunPoint pretraining (batch 8, 200 iterations)
  etth1-encode     the forecasting protocol's causal encoding of the whole ETTh1 series (window 201), with
                   the same weights in both encoders; the max abs difference of the representations is shown
  gunpoint-cli     GunPoint pretraining from the command line, start to exit (200 iterations, batch 8, seed 42):
                   `tscl pretrain` against the official `train.py GunPoint NAME --loader UCR` (its own data
                   loading, checkpoint and interpreter start-up; no --eval), run with the device forced to
                   the CPU (its --gpu option takes only CUDA indices) and --max-threads set to --threads
  median-cli       the same on ProximalPhalanxOutlineCorrect (600 series of 80 steps), the median UCR set by
                   training cases x length of the 128 in tscl's catalog (rank 60)

Both sides get the same arrays (tscl's loaders; the official TS2Vec.fit / encode take numpy arrays) and the
same settings. The official loss is also timed with ``torch.set_flush_denormal(True)`` ("official + FTZ"):
on CPUs its masked softmax produces denormal numbers that make it several times slower than it needs to be.

    python benchmarks/bench_reference.py --reference-dir /tmp/ts2vec-official --data-dir ../shared/datasets
    python benchmarks/bench_reference.py --reference-dir R --data-dir D --only loss-8x1000 --rounds 5 --out ref.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_loss import measure_peak_gflops  # noqa: E402

WORKLOADS = (
    "loss-8x1000",
    "loss-4x2000",
    "etth1-pretrain",
    "gunpoint-pretrain",
    "etth1-encode",
    "gunpoint-cli",
    "median-cli",
)
IMPLEMENTATIONS = {"loss": ("tscl", "official", "official-ftz")}
DEFAULT_IMPLEMENTATIONS = ("tscl", "official")
SLOW_ROUNDS = {"etth1-pretrain": 2}  # at most this many rounds (minutes each)


# -------------------------------------------------------------------------------- inside the subprocess
def _official(reference_dir: str):  # type: ignore[no-untyped-def]
    """The official package's modules, imported from ``reference_dir`` (its folder layout)."""
    sys.path.insert(0, reference_dir)
    import ts2vec  # type: ignore[import-not-found]
    from models.losses import hierarchical_contrastive_loss  # type: ignore[import-not-found]

    return ts2vec.TS2Vec, hierarchical_contrastive_loss


def _loss_case(impl: str, batch: int, length: int, reference_dir: str) -> dict:
    import torch

    if impl == "tscl":
        from tscl.losses.hierarchical import hierarchical_contrastive_loss as loss
    else:
        _, loss = _official(reference_dir)
        if impl == "official-ftz":
            torch.set_flush_denormal(True)
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(batch, length, 320, generator=g, requires_grad=True)
    z2 = torch.randn(batch, length, 320, generator=g, requires_grad=True)

    def once() -> float:
        start = time.perf_counter()
        torch.autograd.grad(loss(z1, z2), (z1, z2))
        return time.perf_counter() - start

    first = once()
    if impl == "official" and first > 5:  # minutes per call: the first call is the figure
        return {"seconds": first}
    return {"seconds": statistics.median([once() for _ in range(3)])}


def _training_array(name: str, data_dir: str):  # type: ignore[no-untyped-def]
    from tscl.data import load_dataset

    data = load_dataset(name, data_dir, univariate=True)
    return data, data.pretrain_array()


def _pretrain_case(impl: str, name: str, data_dir: str, reference_dir: str) -> dict:
    import torch

    _, X = _training_array(name, data_dir)
    max_length = 3000 if name == "ETTh1" else None
    torch.manual_seed(42)
    if impl == "tscl":
        from tscl.training.model import ContrastiveModel

        model = ContrastiveModel(device="cpu", seed=42, batch_size=8, max_train_length=max_length)
        start = time.perf_counter()
        model.fit(X, n_iters=200)
    else:
        official, _ = _official(reference_dir)
        reference = official(input_dims=X.shape[-1], device="cpu", batch_size=8, max_train_length=max_length)
        start = time.perf_counter()
        reference.fit(X, n_iters=200)
    return {"seconds": time.perf_counter() - start}


def _encode_case(impl: str, data_dir: str, reference_dir: str) -> dict:
    import numpy as np
    import torch

    data, _ = _training_array("ETTh1", data_dir)
    series = data.data  # [1, T, C], the whole normalised series with its calendar channels
    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel(series.shape[-1], device="cpu", seed=42)
    if impl == "tscl":
        start = time.perf_counter()
        out = model.encode(series, mode="timestamp", causal_window=201)
    else:
        official, _ = _official(reference_dir)
        reference = official(input_dims=series.shape[-1], device="cpu", batch_size=8)
        weights = {k.replace("feature_extractor.blocks.", "feature_extractor.net."): v
                   for k, v in model.averaged.module.state_dict().items()}  # fmt: skip
        reference.net.module.load_state_dict(weights)
        reference._net.load_state_dict(weights)
        torch.manual_seed(0)
        start = time.perf_counter()
        out = reference.encode(series, causal=True, sliding_length=1, sliding_padding=200, batch_size=256)
    seconds = time.perf_counter() - start
    path = Path(f"/tmp/tscl-bench-encode-{impl}.npy")
    np.save(path, out.astype(np.float32))
    return {"seconds": seconds, "array": str(path)}


def run_case(workload: str, impl: str, data_dir: str, reference_dir: str) -> dict:
    if workload.startswith("loss-"):
        batch, length = (int(v) for v in workload.split("-")[1].split("x"))
        return _loss_case(impl, batch, length, reference_dir)
    if workload.endswith("-pretrain"):
        return _pretrain_case(impl, "ETTh1" if workload.startswith("etth1") else "GunPoint", data_dir, reference_dir)
    return _encode_case(impl, data_dir, reference_dir)


# ------------------------------------------------------------------------------------------ the driver
# The official train.py, run as its own program with one change: its --gpu index is replaced by the CPU.
_OFFICIAL_CLI = """
import runpy, sys
sys.path.insert(0, {reference_dir!r})
import utils
_init = utils.init_dl_program
utils.init_dl_program = lambda device_name, **kwargs: _init("cpu", **kwargs)
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path({train!r}, run_name="__main__")
"""


CLI_DATASETS = {"gunpoint-cli": "GunPoint", "median-cli": "ProximalPhalanxOutlineCorrect"}


def _command_line_case(impl: str, dataset: str, args: argparse.Namespace) -> dict:
    """Wall time of one UCR pretraining command, interpreter start to exit, in a scratch folder."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="tscl-bench-cli-"))
    try:
        if impl == "tscl":
            data_dir = str(Path(args.data_dir).resolve())  # the command runs in the scratch folder
            command = ["tscl", "pretrain", "--dataset", dataset, "--data-dir", data_dir, "--iters", "200",
                       "--batch-size", "8", "--seed", "42", "--threads", str(args.threads),
                       "--run-dir", str(scratch / "run")]  # fmt: skip
        else:
            (scratch / "datasets").mkdir()
            (scratch / "datasets" / "UCR").symlink_to(Path(args.data_dir).resolve() / "UCR")
            script = scratch / "official_train.py"
            reference = str(Path(args.reference_dir).resolve())
            script.write_text(_OFFICIAL_CLI.format(reference_dir=reference, train=reference + "/train.py"))
            command = [sys.executable, str(script), dataset, "bench", "--loader", "UCR", "--batch-size", "8",
                       "--iters", "200", "--seed", "42", "--max-threads", str(args.threads)]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{dataset} from the command line ({impl}) failed:\n{done.stderr[-3000:]}")
        return {"seconds": seconds}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _in_subprocess(workload: str, impl: str, args: argparse.Namespace) -> dict:
    if workload in CLI_DATASETS:
        return _command_line_case(impl, CLI_DATASETS[workload], args)
    command = [sys.executable, __file__, "--case", workload, impl, "--threads", str(args.threads),
               "--data-dir", args.data_dir, "--reference-dir", args.reference_dir]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{workload} ({impl}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _max_difference() -> float:
    import numpy as np

    a = np.load("/tmp/tscl-bench-encode-tscl.npy")
    b = np.load("/tmp/tscl-bench-encode-official.npy")
    return float(np.nanmax(np.abs(a - b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-dir", required=True, help="a checkout of github.com/yuezhihan/ts2vec")
    parser.add_argument("--data-dir", required=True, help="folder holding ETT/ and UCR/ (../shared/datasets)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--case", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.case:
        print(json.dumps(run_case(*args.case, args.data_dir, args.reference_dir)))
        return
    if not (Path(args.reference_dir) / "ts2vec.py").is_file():
        parser.error(f"--reference-dir {args.reference_dir} must hold the official code (ts2vec.py not found)")
    peak_before = measure_peak_gflops()
    times: dict[str, dict[str, list[float]]] = {}
    difference = None
    for workload in args.only:
        implementations = IMPLEMENTATIONS.get(workload.split("-")[0], DEFAULT_IMPLEMENTATIONS)
        rounds = min(args.rounds, SLOW_ROUNDS.get(workload, args.rounds))
        for round_ in range(rounds):
            for impl in implementations:
                result = _in_subprocess(workload, impl, args)
                times.setdefault(workload, {}).setdefault(impl, []).append(result["seconds"])
                print(f"{workload} round {round_ + 1}/{rounds} {impl}: {result['seconds']:.2f} s", file=sys.stderr)
        if workload == "etth1-encode":
            difference = _max_difference()
    peak_after = measure_peak_gflops()
    lines = [
        f"tscl vs the official TS2Vec, {args.threads} threads, torch {torch.__version__}, one run "
        f"({time.strftime('%Y-%m-%d %H:%M')}); medians over rounds, rounds interleaved.",
        f"Measured fp32 GEMM peak: {peak_before:.0f} GFLOP/s before, {peak_after:.0f} GFLOP/s after.",
        "",
        "| workload | rounds | tscl (s) | official (s) | official / tscl | official + FTZ (s) | FTZ / tscl |",
        "|---|---|---|---|---|---|---|",
    ]
    for workload, by_impl in times.items():
        tscl_s = statistics.median(by_impl["tscl"])
        official_s = statistics.median(by_impl["official"])
        ftz = by_impl.get("official-ftz")
        ftz_cells = f"{statistics.median(ftz):.2f} | x{statistics.median(ftz) / tscl_s:.1f}" if ftz else "- | -"
        lines.append(f"| {workload} | {len(by_impl['tscl'])} | {tscl_s:.2f} | {official_s:.2f} | "
                     f"x{official_s / tscl_s:.1f} | {ftz_cells} |")  # fmt: skip
    if difference is not None:
        lines += ["", f"etth1-encode: max abs difference of the representations (same weights): {difference:.2e}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
