"""``tscl pretrain`` and ``tscl encode``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from tscl.cli import app, fail
from tscl.cli.options import (
    DataDirOpt,
    DatasetOpt,
    DeviceOpt,
    JsonOpt,
    SeedOpt,
    TargetOpt,
    ThreadsOpt,
    TimeColOpt,
)
from tscl.cli.render import console, print_json, step_progress

PosInt = Optional[int]


@app.command()
def pretrain(
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    objective: Annotated[Optional[str], typer.Option(help="Pretraining objective: ts2vec.")] = None,
    iters: Annotated[PosInt, typer.Option(help="Total iterations (default: 200, or 600 for >100k values).")] = None,
    epochs: Annotated[PosInt, typer.Option(help="Total epochs (instead of iterations).")] = None,
    batch_size: Annotated[PosInt, typer.Option(help="Batch size (8).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="AdamW learning rate (1e-3).")] = None,
    repr_dims: Annotated[PosInt, typer.Option(help="Representation size D (320).")] = None,
    hidden_dims: Annotated[PosInt, typer.Option(help="Hidden width of the encoder (64).")] = None,
    depth: Annotated[PosInt, typer.Option(help="Residual blocks before the final one (10).")] = None,
    max_train_length: Annotated[PosInt, typer.Option(help="Longest training crop (3000).")] = None,
    temporal_unit: Annotated[PosInt, typer.Option(help="Skip the temporal loss at the first k scales (0).")] = None,
    univariate: Annotated[
        Optional[bool], typer.Option("--univariate/--multivariate", help="Forecasting CSVs: target column only.")
    ] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    checkpoint_every: Annotated[PosInt, typer.Option(help="Save a checkpoint every N iterations (50).")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Write the run here (default: runs/<stamp>-...).")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run in this directory.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML config (e.g. a run's config.toml).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain an encoder and write a run directory (no arguments: TS2Vec on the offline default data)."""
    from tscl.pretraining import Interrupted
    from tscl.pretraining import pretrain as run_pretrain
    from tscl.pretraining import resume as run_resume
    from tscl.training.config import PretrainConfig, load_config

    try:
        with step_progress("pretraining", enabled=not json_out) as hook:
            if resume is not None:
                result = run_resume(resume, iters=iters, on_step=hook)
            else:
                base = load_config(config) if config is not None else PretrainConfig()
                resolved = base.replace(
                    dataset=dataset, data_dir=str(data_dir) if data_dir else None, objective=objective,
                    iters=iters, epochs=epochs, batch_size=batch_size, lr=lr, repr_dims=repr_dims,
                    hidden_dims=hidden_dims, depth=depth, max_train_length=max_train_length,
                    temporal_unit=temporal_unit, univariate=univariate, time_col=time_col, target=target,
                    seed=seed, device=device, threads=threads, checkpoint_every=checkpoint_every,
                )  # fmt: skip
                result = run_pretrain(resolved, run_dir=run_dir, on_step=hook)
    except Interrupted as exc:
        print(f"error: {exc.message}\nhint: {exc.hint}", file=__import__("sys").stderr)
        raise SystemExit(130) from None
    if json_out:
        print_json(result.to_dict())
        return
    loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "-"
    console.print(
        f"[green]done[/]: {result.steps} iterations ({result.epochs} epochs) in {result.seconds:.1f} s, "
        f"final loss {loss}\nrun directory: [bold]{result.run_dir}[/]\n"
        f"next: tscl evaluate {result.run_dir}"
    )


@app.command()
def encode(
    run: Annotated[Path, typer.Argument(help="Run directory made by tscl pretrain.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")],
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    split: Annotated[str, typer.Option(help="train, test or all (classification); forecasting: whole series.")] = "all",
    mode: Annotated[str, typer.Option(help="instance ([N, D], max-pooled) or timestamp ([N, T, D]).")] = "instance",
    causal_window: Annotated[
        Optional[int], typer.Option(help="Timestamp mode: causal sliding window (201 in the forecasting protocol).")
    ] = None,
    univariate: Annotated[Optional[bool], typer.Option("--univariate/--multivariate")] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write representations of a dataset (default: the run's own) as a .npy file."""
    from tscl.inference import encode_dataset

    if out.suffix != ".npy":
        fail(f"--out must end in .npy but got {out}", "e.g. --out reprs.npy")
    reprs = encode_dataset(
        run, dataset=dataset, data_dir=data_dir, split=split, mode=mode, causal_window=causal_window,
        univariate=univariate, time_col=time_col, target=target, device=device or "auto",
    )  # fmt: skip
    from tscl.training.checkpoint import atomic_write_bytes
    import io

    buffer = io.BytesIO()
    np.save(buffer, reprs)
    atomic_write_bytes(out, buffer.getvalue())
    if json_out:
        print_json({"out": str(out), "shape": list(reprs.shape)})
    else:
        console.print(f"wrote {out} with shape {tuple(reprs.shape)}")
