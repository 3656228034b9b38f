"""End-to-end workloads of the performance issue, timed for tscl beside a straightforward formulation.

Workloads (each in its own subprocess, so peak memory is per workload):
  etth1-pretrain    ETTh1 univariate TS2Vec pretraining, default settings (200 iterations)
  gunpoint-pretrain UCR GunPoint TS2Vec pretraining (200 iterations, batch 8)
  etth1-encode      ETTh1 forecasting-protocol encoding (causal 201-step window per timestamp)
  etth1-encode-cost the same with the cost encoder (autotcl's forecasting default; untrained weights)
  gunpoint-classify instance encoding of train+test and the SVM protocol
  forda-svm         the SVM protocol's grid search (5 folds x 10 C values) on FordA's 3601 training
                    representations (of an untrained encoder: the work is the same)

The baseline (``--baseline``) is the straightforward formulation, written out in this file and in
bench_loss.py: for pretraining, each view encoded by the channel-major convolutions (``nn.Conv1d`` with its
full kernel at every dilation) and the loss formed from the full [B, 2T, 2T] similarity matrices, on the same
crops, masks and optimizer; for the causal encoding, every 201-step window encoded in full (256 at a time)
keeping its last position (for the cost encoder: the encoder's own forward on 64 windows at a time, whose
trend and season layers compute every step); for the SVM grid search, scikit-learn's
``GridSearchCV(SVC(gamma="scale"))``, which evaluates the RBF kernel inside every fit. A pretraining
baseline runs ``--baseline-iters`` iterations (default 20) and tscl is timed on the same first
iterations, so the two are compared on identical work; the max abs difference of the causal representations is reported.

Usage:
  python benchmarks/bench_workloads.py --data-dir ../shared/datasets             # all workloads
  python benchmarks/bench_workloads.py --data-dir ../shared/datasets --baseline  # with the baselines
  python benchmarks/bench_workloads.py --only etth1-encode --baseline --out encode.md
  python benchmarks/bench_workloads.py --only etth1-pretrain --count-flops   # + matmul FLOPs and their bound
The official TS2Vec code is measured beside tscl, in the same run, by bench_reference.py.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

WORKLOADS = (
    "etth1-pretrain", "gunpoint-pretrain", "etth1-encode", "etth1-encode-cost", "gunpoint-classify", "forda-svm",
)  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ the baseline
def _straightforward_encoder(net):  # type: ignore[no-untyped-def]
    """A module computing ``net``'s function the plain way: channel-major ``nn.Conv1d`` calls, full kernels."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tscl.encoders.layers import timestamp_mask

    class Straightforward(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x, mask=None, generator=None):  # type: ignore[no-untyped-def]
            observed = ~torch.isnan(x).any(dim=-1)
            x = torch.where(observed.unsqueeze(-1), x, torch.zeros(()))
            h = self.net.input_fc(x)
            mode = mask or (self.net.mask_mode if self.training else "all_true")
            keep = timestamp_mask(mode, h.size(0), h.size(1), generator, h.device) & observed
            h = torch.where(keep.unsqueeze(-1), h, torch.zeros(())).transpose(1, 2)
            for block in self.net.feature_extractor.blocks:
                residual = h if block.projector is None else block.projector(h)
                for conv in (block.conv1, block.conv2):
                    h = conv.conv(F.gelu(h))
                    h = h[:, :, : -conv.trim] if conv.trim else h
                h = h + residual
            return self.net.repr_dropout(h).transpose(1, 2)

    return Straightforward()


def _straightforward_loss():  # type: ignore[no-untyped-def]
    """bench_loss.py's straightforward hierarchical loss as the module a TS2Vec objective calls (``objective.loss``)."""
    import bench_loss
    from torch import nn

    class StraightforwardLoss(nn.Module):
        def forward(self, z1, z2):  # type: ignore[no-untyped-def]
            return bench_loss.baseline_loss(z1, z2)

    return StraightforwardLoss()


def _timed_fit(model, X, iters: int) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    model.fit(X, n_iters=iters)
    return time.perf_counter() - began


_PRODUCTS = ("mm", "addmm", "addmm_", "bmm", "baddbmm", "baddbmm_")


def _operand(t) -> tuple[tuple[int, ...], bool]:  # type: ignore[no-untyped-def]
    """(shape, stored transposed) of a matrix operand: how BLAS will read it."""
    return tuple(t.shape), t.dim() >= 2 and t.stride(-1) != 1 and t.size(-1) > 1


def record_products(model, X, iters: int) -> list[list[tuple]]:  # type: ignore[no-untyped-def]
    """Every matrix product of ``model.fit(X, n_iters=iters)``, forward and backward, step by step.

    Returns one list per optimizer step of ``(op, left operand, right operand)``, operands as `_operand`
    gives them (``[.., m, k] @ [.., k, n]``). Seen at the dispatcher, so tscl's hand-written backward passes
    and in-place accumulations (``addmm_``) count the same as autograd's.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    class Products(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.steps: list[list[tuple]] = [[]]

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            name = func.overloadpacket.__name__
            if name in _PRODUCTS:
                left, right = args[-2:] if name.startswith(("addmm", "baddbmm")) else args[:2]
                self.steps[-1].append((name, _operand(left), _operand(right)))
            elif "adam" in name:  # the optimizer's update ends a step
                self.steps.append([])
            return func(*args, **(kwargs or {}))

    recorder = Products()
    with recorder:
        model.fit(X, n_iters=iters)
    return [step for step in recorder.steps if step]


def product_flops(step: list[tuple]) -> int:
    """FLOPs (2 per multiply-add) of one step's products as `record_products` lists them."""
    return sum(2 * math.prod(left[0]) * right[0][-1] for _, left, right in step)


def replay_products(steps: list[list[tuple]], every: int = 1) -> float:
    """Seconds the products of ``steps`` take alone, replayed in order on this machine, per step.

    Every ``every``-th step is replayed (the mean over those is returned): the same shapes and operand layouts
    (a transposed operand stays transposed), random operands in three reused buffers, each result written in
    place. So this is what the products cost at the rate their own shapes reach here, with nothing between
    them: a bound no implementation of the same products beats, unlike one peak rate for every shape.
    """
    import torch

    sampled = steps[::every]
    largest = max(math.prod(shape) for step in sampled for _, *operands in step for shape, _ in operands)
    largest_out = max(math.prod(left[0][:-1]) * right[0][-1] for step in sampled for _, left, right in step)
    buffers = [torch.randn(largest), torch.randn(largest)]

    def view(buffer, shape: tuple[int, ...], transposed: bool):  # type: ignore[no-untyped-def]
        flat = buffer[: math.prod(shape)]
        if not transposed:
            return flat.view(shape)
        return flat.view(*shape[:-2], shape[-1], shape[-2]).transpose(-1, -2)

    out_buffer = torch.zeros(largest_out)

    def run(step: list[tuple]) -> None:
        for name, (left_shape, left_t), (right_shape, right_t) in step:
            left, right = view(buffers[0], left_shape, left_t), view(buffers[1], right_shape, right_t)
            out = out_buffer[: math.prod(left_shape[:-1]) * right_shape[-1]].view(*left_shape[:-1], right_shape[-1])
            if name.startswith("baddbmm"):
                out.baddbmm_(left, right)
            elif name.startswith("addmm"):
                out.addmm_(left, right)
            elif name == "bmm":
                torch.bmm(left, right, out=out)
            else:
                torch.mm(left, right, out=out)

    run(sampled[0])  # warm: buffers faulted in, BLAS's own workspace allocated
    began = time.perf_counter()
    for step in sampled:
        run(step)
    return (time.perf_counter() - began) / len(sampled)


def _matmul_flops(model, X, iters: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Matrix-product FLOPs of ``model.fit(X, n_iters=iters)`` and the seconds those products take alone.

    The seconds replay every 5th step's products when the run is long (`replay_products`), scaled to all steps.
    """
    steps = record_products(model, X, iters)
    every = 5 if len(steps) >= 50 else 1
    return sum(product_flops(step) for step in steps), replay_products(steps, every) * len(steps)


def _pretrain(
    name: str, data_dir: str | None, baseline: bool, baseline_iters: int, count_flops: bool, iters: int | None = None
) -> dict:
    import bench_loss  # the machine's matmul peak and the straightforward loss, written in bench_loss.py

    from tscl.data import load_dataset
    from tscl.training.model import ContrastiveModel

    data = load_dataset("ETTh1" if name.startswith("etth1") else "GunPoint", data_dir, univariate=True)
    X = data.pretrain_array()
    model = ContrastiveModel(device="cpu", seed=42)
    seconds = _timed_fit(model, X, iters or model.default_iters(X))
    result = {"tscl_s": seconds, "iters": model.progress.step, "peak_rss_mb": _peak_mb()}
    if count_flops:  # the same run again (same seed: same crops), counted; then the machine's matmul peak
        flop, alone = _matmul_flops(ContrastiveModel(device="cpu", seed=42), X, result["iters"])
        result["matmul_flop"], result["products_alone_s"] = flop, alone
        result["peak_gflops"] = bench_loss.measure_peak_gflops()
    if baseline:
        first = ContrastiveModel(device="cpu", seed=42)
        result["tscl_first_s"] = _timed_fit(first, X, baseline_iters)
        slow = ContrastiveModel(device="cpu", seed=42)
        slow.fit(X, n_iters=0)  # builds the model
        slow.objective.encoder = _straightforward_encoder(slow.net)
        slow.objective.loss = _straightforward_loss()
        result["baseline_first_s"] = _timed_fit(slow, X, baseline_iters)
        result["baseline_iters"] = baseline_iters
    return result


def _encode(data_dir: str | None, baseline: bool, encoder: str = "ts2vec") -> dict:
    """The causal encoding of ETTh1; the baseline encodes every window in full and keeps its last step.

    ts2vec: the baseline runs the channel-major convolutions, 256 windows at a time. cost: the encoder's own
    forward (its trend and season layers compute every step), 64 windows at a time.
    """
    import numpy as np
    import torch

    from tscl.data import load_dataset
    from tscl.training.model import ContrastiveModel

    data = load_dataset("ETTh1", data_dir, univariate=True)
    model = ContrastiveModel(device="cpu", seed=42, encoder=encoder)
    model.fit(data.pretrain_array(), n_iters=1 if encoder == "ts2vec" else 0)  # n_iters=0 builds the model
    began = time.perf_counter()
    fast = model.encode(data.data, mode="timestamp", causal_window=201)
    result = {"tscl_s": time.perf_counter() - began, "peak_rss_mb": _peak_mb()}
    if baseline:
        trained = model.averaged.module
        net, per_pass = (_straightforward_encoder(trained), 256) if encoder == "ts2vec" else (trained, 64)
        net.eval()
        series = torch.from_numpy(data.data[0])
        padded = torch.cat([torch.full((200, series.shape[1]), float("nan")), series])
        windows = padded.unfold(0, 201, 1).transpose(1, 2)
        began = time.perf_counter()
        with torch.no_grad():
            slow = torch.cat([net(windows[s : s + per_pass])[:, -1] for s in range(0, len(windows), per_pass)])
        result["baseline_s"] = time.perf_counter() - began
        result["max_abs_diff"] = float(np.abs(slow.numpy() - fast[0]).max())
    return result


def _threads() -> int:
    """Parallel fits of the SVM grid searches: as many as torch threads, as ``tscl evaluate`` does."""
    import torch

    return torch.get_num_threads()


def _classify(data_dir: str | None) -> dict:
    from tscl.data import load_dataset
    from tscl.tasks.classification_protocol import run_classification_protocol
    from tscl.training.model import ContrastiveModel

    data = load_dataset("GunPoint", data_dir)
    model = ContrastiveModel(device="cpu", seed=42)
    model.fit(data.X_train, n_iters=1)
    began = time.perf_counter()
    train, test = model.encode(data.X_train), model.encode(data.X_test)
    encoded = time.perf_counter() - began
    run_classification_protocol(train, data.y_train, test, data.y_test, len(data.class_names), n_jobs=_threads())
    return {"tscl_s": time.perf_counter() - began, "encode_s": encoded}


def _svm_grid(data_dir: str | None, baseline: bool) -> dict:
    import numpy as np
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from tscl.data import load_dataset
    from tscl.tasks.heads.svm import SVM_C_GRID, fit_svm_protocol
    from tscl.training.model import ContrastiveModel

    data = load_dataset("FordA", data_dir)
    features = ContrastiveModel(device="cpu", seed=42, input_dims=data.X_train.shape[-1]).encode(data.X_train)
    began = time.perf_counter()
    model = fit_svm_protocol(features, data.y_train, n_jobs=_threads())
    result: dict = {"tscl_s": time.perf_counter() - began, "C": model.C, "jobs": _threads()}
    if baseline:
        began = time.perf_counter()
        svc = SVC(C=np.inf, gamma="scale", max_iter=10_000_000, random_state=0)
        search = GridSearchCV(svc, {"C": list(SVM_C_GRID)}, cv=5, n_jobs=_threads()).fit(features, data.y_train)
        result["baseline_s"] = time.perf_counter() - began
        test = ContrastiveModel(device="cpu", seed=42, input_dims=data.X_train.shape[-1]).encode(data.X_test)
        result["same_c"] = bool(search.best_params_["C"] == model.C)
        result["same_predictions"] = float(np.mean(search.predict(test) == model.predict(test)))
    return result


def run_one(
    name: str,
    data_dir: str | None,
    baseline: bool,
    baseline_iters: int,
    threads: int | None,
    count_flops: bool,
    iters: int | None = None,
) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    sys.path.insert(0, str(Path(__file__).parent))
    if name.endswith("pretrain"):
        result = _pretrain(name, data_dir, baseline, baseline_iters, count_flops, iters)
    elif name == "etth1-encode":
        result = _encode(data_dir, baseline)
    elif name == "etth1-encode-cost":
        result = _encode(data_dir, baseline, encoder="cost")
    elif name == "forda-svm":
        result = _svm_grid(data_dir, baseline)
    else:
        result = _classify(data_dir)
    result.setdefault("peak_rss_mb", _peak_mb())  # of tscl's part: measured before any baseline runs
    result["threads"] = torch.get_num_threads()
    return result


# ------------------------------------------------------------------------------------------ report
def _row(name: str, r: dict) -> str:
    base, note = "-", ""
    if "baseline_first_s" in r:
        n = r["baseline_iters"]
        base = f"{r['baseline_first_s']:.1f} ({n} it)"
        note = f"first {n} iterations: tscl {r['tscl_first_s']:.2f} s, {r['baseline_first_s'] / r['tscl_first_s']:.1f}x"
    elif "same_c" in r:
        base = f"{r['baseline_s']:.1f}"
        note = (f"{r['baseline_s'] / r['tscl_s']:.1f}x vs baseline; same C: {r['same_c']}, "
                f"same test predictions: {100 * r['same_predictions']:.1f} %")  # fmt: skip
    elif "baseline_s" in r:
        base = f"{r['baseline_s']:.1f}"
        note = f"{r['baseline_s'] / r['tscl_s']:.1f}x vs baseline, max abs diff {r['max_abs_diff']:.1e}"
    if "encode_s" in r:
        note = f"encoding {r['encode_s']:.2f} s of it"
    if "matmul_flop" in r:
        flop, peak = r["matmul_flop"], r["peak_gflops"] * 1e9
        note += (f"{'; ' if note else ''}matmul {flop / 1e12:.2f} TFLOP: {flop / r['tscl_s'] / 1e9:.0f} GFLOP/s "
                 f"achieved, {flop / peak:.1f} s at the measured {peak / 1e9:.0f} GFLOP/s peak: "
                 f"{flop / peak / r['tscl_s']:.0%} of the FLOP bound; the same products alone at the rate "
                 f"their own shapes reach here {r['products_alone_s']:.1f} s ({flop / r['products_alone_s'] / 1e9:.0f} "
                 f"GFLOP/s): the run is {r['products_alone_s'] / r['tscl_s']:.0%} products")  # fmt: skip
    cells = [name, f"{r['tscl_s']:.2f}", base, f"{r['peak_rss_mb']:.0f}", note]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--only", choices=WORKLOADS, action="append")
    parser.add_argument("--baseline", action="store_true", help="also time the straightforward formulation")
    parser.add_argument("--baseline-iters", type=int, default=20, help="pretraining iterations of the baseline")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, all cores)")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument(
        "--count-flops", action="store_true", help="pretraining: count the run's matmul FLOPs (runs it again)"
    )
    parser.add_argument(
        "--iters", type=int, help="pretraining: time the first N iterations only (default: the full default run)"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        result = run_one(
            args.case, args.data_dir, args.baseline, args.baseline_iters, args.threads, args.count_flops, args.iters
        )
        print(json.dumps(result))
        return
    rows = ["| workload | tscl (s) | baseline (s) | peak RSS (MB) | note |", "|---|---|---|---|---|"]
    for name in args.only or WORKLOADS:
        cmd = [sys.executable, __file__, "--case", name, "--baseline-iters", str(args.baseline_iters)]
        cmd += ["--data-dir", args.data_dir] if args.data_dir else []
        cmd += ["--baseline"] if args.baseline else []
        cmd += ["--threads", str(args.threads)] if args.threads else []
        cmd += ["--count-flops"] if args.count_flops else []
        cmd += ["--iters", str(args.iters)] if args.iters else []
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            rows.append(f"| {name} | failed | | | {out.stderr.strip().splitlines()[-1][:80]} |")
        else:
            rows.append(_row(name, json.loads(out.stdout.strip().splitlines()[-1])))
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
