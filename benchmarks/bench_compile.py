"""Does a compiled training step beat tscl's eager one on small series? GunPoint, three ways, one process.

The same TS2Vec pretraining (GunPoint, batch 8, seed 42: the same random crops, timestamp masks and optimizer)
run three ways:

  tscl       the default encoder and loss: hand-written residual blocks and row contrast, eager
  plain      the straightforward formulation (bench_workloads.py's encoder: channel-major ``nn.Conv1d`` blocks;
             bench_loss.py's loss: the full similarity matrices), eager
  compiled   ``plain`` under ``torch.compile`` (Inductor, ``dynamic=True``: every step draws a new crop length,
             so static shapes would recompile at nearly every step)
  tscl compiled  tscl's encoder and loss under ``torch.compile`` the same way

Two crop regimes:

  fixed      every step uses the same crop length (``--crop-length``, both views the same window, masks and
             offsets still random): one shape, so ``compiled`` compiles once. This is the best case for a
             compiled step; the three cases do identical work, chunks of ``--chunk`` iterations interleaved
             (``--chunks`` of them, median per iteration) so that the machine's drift hits all alike.
  random     TS2Vec's own cropping (a new crop length every step): ``compiled`` is timed over its first
             ``--random-iters`` iterations only, with the number of graphs it compiled, because every new
             length can recompile (``dynamic=True`` still specialises the loss's loop over scales).

Compilation starts from an empty Inductor cache (a temporary ``TORCHINDUCTOR_CACHE_DIR``), as a first run on a
machine does; ``--warm-cache`` keeps the user's cache instead (later runs of the same shapes compile faster).
``compiled`` draws its dropout masks from Inductor's own random stream, so its losses are not compared with the
others; the work per step is the same.

Usage:
  python benchmarks/bench_compile.py --data-dir ../shared/datasets
  python benchmarks/bench_compile.py --data-dir ../shared/datasets --threads 1 --chunks 4
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _models(X, threads: int, names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    import bench_workloads
    import torch

    from tscl.training.model import ContrastiveModel

    models = {}
    for name in names:
        model = ContrastiveModel(device="cpu", seed=42, batch_size=8, threads=threads)
        model.fit(X, n_iters=0)  # builds the encoder, the loss and the optimizer
        encoder, loss = model.objective.encoder, model.objective.loss
        if name in ("plain", "compiled"):
            encoder, loss = bench_workloads._straightforward_encoder(model.net), bench_workloads._straightforward_loss()
        if name in ("compiled", "tscl compiled"):
            encoder, loss = torch.compile(encoder, dynamic=True), torch.compile(loss, dynamic=True)
        model.objective.encoder, model.objective.loss = encoder, loss
        models[name] = model
    return models


def _fixed_crops(length: int) -> None:
    """Make every TS2Vec step crop one ``length``-step window (both views), at random offsets."""
    import torch

    import tscl.objectives.ts2vec as objective
    from tscl.views.crop import CropPlan

    def draw(batch, series_length, temporal_unit, generator, rank=0, world_size=1):  # type: ignore[no-untyped-def]
        offsets = torch.randint(0, series_length - length + 1, (batch,), generator=generator)
        return CropPlan(length, 0, length, 0, length, offsets)

    objective.draw_crop = draw  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20, help="first iterations, timed apart (compilation)")
    parser.add_argument("--chunk", type=int, default=20, help="iterations per timed chunk")
    parser.add_argument("--chunks", type=int, default=6, help="timed chunks per case (median per iteration)")
    parser.add_argument("--crop-length", type=int, default=100, help="the fixed crop (GunPoint has 150 steps)")
    parser.add_argument("--random-iters", type=int, default=10, help="compiled iterations with random crops")
    parser.add_argument("--warm-cache", action="store_true", help="keep the Inductor cache (default: start empty)")
    args = parser.parse_args()
    if not args.warm_cache:
        cache = tempfile.mkdtemp(prefix="tscl-bench-inductor-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
    import torch
    from bench_loss import measure_peak_gflops

    from tscl.data import load_dataset

    torch.set_num_threads(args.threads)
    X = load_dataset("GunPoint", args.data_dir, univariate=True).pretrain_array()
    peak = measure_peak_gflops()
    version = torch.__version__
    print(f"GunPoint, batch 8, {args.threads} threads, torch {version}; measured GEMM peak {peak:.0f} GFLOP/s\n")

    import torch._dynamo

    torch._dynamo.reset()
    began = time.perf_counter()
    models = _models(X, args.threads, ("compiled",))
    models["compiled"].fit(X, n_iters=args.random_iters)
    random_s = time.perf_counter() - began
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    print(f"random crops: `compiled` took {random_s:.1f} s for its first {args.random_iters} iterations "
          f"({graphs} graphs compiled)\n")  # fmt: skip

    torch._dynamo.reset()
    _fixed_crops(args.crop_length)
    models = _models(X, args.threads, ("tscl", "plain", "compiled", "tscl compiled"))
    first, per_step = {}, {name: [] for name in models}
    for name, model in models.items():
        began = time.perf_counter()
        model.fit(X, n_iters=args.warmup)
        first[name] = time.perf_counter() - began
    done = args.warmup
    for _ in range(args.chunks):
        done += args.chunk
        for name, model in models.items():
            began = time.perf_counter()
            model.fit(X, n_iters=done)
            per_step[name].append((time.perf_counter() - began) / args.chunk * 1e3)
    print(f"fixed crops of {args.crop_length} steps:\n")
    print(f"| case | first {args.warmup} iterations (s) | ms per iteration (median of {args.chunks} x {args.chunk}) "
          "| range | per iteration / tscl |")  # fmt: skip
    print("|---|---|---|---|---|")
    tscl = statistics.median(per_step["tscl"])
    for name, times in per_step.items():
        median = statistics.median(times)
        print(f"| {name} | {first[name]:.1f} | {median:.1f} | {min(times):.1f}-{max(times):.1f} | "
              f"x{median / tscl:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
