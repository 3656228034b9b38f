"""``tscl pretrain`` and ``tscl encode``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tscl.cli.application import app, fail
from tscl.cli.options import (
    DataDirOpt,
    DatasetOpt,
    DeviceOpt,
    JsonOpt,
    SeedOpt,
    SplitByOpt,
    SplitSeedOpt,
    StrideOpt,
    TargetOpt,
    ThreadsOpt,
    TimeColOpt,
    WindowOpt,
)
from tscl.cli.render import console, err_console, plural, print_json, print_warnings, step_progress
from tscl.errors import TsclWarning
from tscl.text import shell

PosInt = int | None
Text = str | None

ObjectiveOpt = Annotated[
    Text,
    typer.Option(
        help="Pretraining objective (`tscl objectives list`; default ts2vec). Its options: "
        "`tscl objectives show NAME`, set with --set objective.OPTION=VALUE."
    ),
]
EncoderOpt = Annotated[
    Text,
    typer.Option(
        help="Encoder (`tscl encoders list`). Default: the objective's for the dataset's task "
        "(cost for autotcl on forecasting data, ts2vec otherwise)."
    ),
]
LossOpt = Annotated[
    Text,
    typer.Option(help="Loss between the two views (`tscl losses list`). Default: the objective's for the task."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Any setting as KEY=VALUE, repeatable: objective.aug_lr=0.01, loss.temperature=0.5, "
        "views.augmentations=jitter,scaling, encoder.dropout=0. Applied last; unknown keys fail with the list.",
    ),
]
TrackOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="Send the run to an experiment tracker, repeatable: mlflow (MLFLOW_TRACKING_URI, else ./mlruns) or "
        "tensorboard (RUN_DIR/tensorboard). Optional extras: pip install 'tscl\\[mlflow]' / 'tscl\\[tensorboard]'.",
    ),
]
PresetOpt = Annotated[
    Text,
    typer.Option(
        help="Published settings of an objective (listed by `tscl objectives show NAME`), applied as "
        "defaults < preset < --config < flags. Beware: AutoTCL's were tuned on the test split (README)."
    ),
]


@app.command()
def pretrain(
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    objective: ObjectiveOpt = None,
    encoder: EncoderOpt = None,
    loss: LossOpt = None,
    preset: PresetOpt = None,
    iters: Annotated[PosInt, typer.Option(help="Total iterations (default: 200, or 600 for >100k values).")] = None,
    epochs: Annotated[PosInt, typer.Option(help="Total epochs (instead of iterations).")] = None,
    batch_size: Annotated[PosInt, typer.Option(help="Batch size (8).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate of the encoder (1e-3).")] = None,
    repr_dims: Annotated[PosInt, typer.Option(help="Representation size D (320): encoder.repr_dims.")] = None,
    hidden_dims: Annotated[PosInt, typer.Option(help="Hidden width of the encoder (64).")] = None,
    depth: Annotated[PosInt, typer.Option(help="Residual blocks before the final one (10).")] = None,
    max_train_length: Annotated[PosInt, typer.Option(help="Longest training crop (3000).")] = None,
    univariate: Annotated[
        bool | None, typer.Option("--univariate/--multivariate", help="Forecasting CSVs: target column only.")
    ] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    window: WindowOpt = None,
    stride: StrideOpt = None,
    split_by: SplitByOpt = None,
    split_seed: SplitSeedOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    checkpoint_every: Annotated[PosInt, typer.Option(help="Save a checkpoint every N iterations (50).")] = None,
    gather_negatives: Annotated[
        bool | None,
        typer.Option(
            "--gather-negatives/--local-negatives",
            help="Under torchrun: contrast each view against every process's batch (N processes with batch B "
            "train like one with batch N*B); default: each process's own batch.",
        ),
    ] = None,
    set_values: SetOpt = None,
    track: TrackOpt = None,
    run_dir: Annotated[Path | None, typer.Option(help="Write the run here (default: runs/<stamp>-...).")] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the run in this directory. May change --iters/--epochs (a new total), --device, "
            "--threads, --data-dir, --checkpoint-every; other settings are the run's."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config (e.g. a run's config.toml).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain an encoder and write a run directory (no arguments: TS2Vec on the offline default data)."""
    from tscl.config import config_layer, load_config_values, resolve_config
    from tscl.config_migration import nest
    from tscl.runs.pretraining import pretrain as run_pretrain
    from tscl.runs.pretraining import resume as run_resume

    flags = nest({
        "dataset": dataset, "data_dir": str(data_dir) if data_dir else None, "objective": objective,
        "encoder": encoder, "loss": loss, "iters": iters, "epochs": epochs, "batch_size": batch_size, "lr": lr,
        "repr_dims": repr_dims, "hidden_dims": hidden_dims, "depth": depth, "max_train_length": max_train_length,
        "univariate": univariate, "time_col": time_col, "target": target, "seed": seed, "device": device,
        "threads": threads, "checkpoint_every": checkpoint_every, "gather_negatives": gather_negatives,
    })  # fmt: skip
    flags.update(recording_window=window, recording_stride=stride, split_by=split_by, split_seed=split_seed)
    if resume is not None and run_dir is not None:
        fail(
            f"--run-dir must not be given with --resume (the run continues in {resume}) but got {run_dir}",
            f"drop --run-dir; for a new run with its settings: --config {shell(Path(resume) / 'config.toml')} "
            f"--run-dir {shell(run_dir)}",
        )
    ranks = _join_process_group(device)
    if resume is None and run_dir is not None and _restarted_with(run_dir):
        resume = run_dir  # torchrun restarted the workers after a failure: continue from the last checkpoint
    from tscl.runs.interrupt import Interrupted
    from tscl.runs.tracking import start_trackers
    from tscl.training import distributed

    trackers = start_trackers(track or (), resumed=resume) if ranks.is_main else []
    try:
        with step_progress("pretraining", enabled=not json_out and ranks.is_main) as progress:

            def tracked(step: int, total: int, loss: float) -> None:
                if progress is not None:
                    progress(step, total, loss)
                for tracker in trackers:
                    tracker.step(step, loss)

            hook = tracked if trackers else progress

            file_values = load_config_values(config) if config is not None else None
            with warnings.catch_warnings():  # printed below as `warning:` lines, from result.warnings
                warnings.simplefilter("ignore", TsclWarning)
                if resume is not None:  # what may change is applied, what may not is refused (tscl.runs.resuming)
                    changes = config_layer(preset, file_values, _given(flags), set_values or ())
                    result = run_resume(resume, on_step=hook, changes=changes)
                else:
                    resolved = resolve_config(preset, file_values, _given(flags), set_values or ())
                    result = run_pretrain(resolved, run_dir=run_dir, on_step=hook)
    except Interrupted as stop:
        for tracker in trackers:
            if stop.run_dir is not None:
                tracker.finish(stop.run_dir)
        if ranks.active:  # every rank stopped after the same iteration: they can leave together
            distributed.shutdown()
            if not ranks.is_main:  # rank 0 says it
                raise SystemExit(130) from None
        raise
    except BaseException:
        for tracker in trackers:
            tracker.abort()
        raise
    for tracker in trackers if result.status != "unchanged" else []:
        tracker.finish(result.run_dir)
    if ranks.active:
        distributed.shutdown()
    if not ranks.is_main:
        return
    print_warnings(result.warnings)
    if json_out:
        print_json(result.to_dict())
        return
    if result.status == "unchanged":
        console.print(f"nothing to do: {result.run_dir} has finished (iteration {result.steps}); no file changed",
                      soft_wrap=True, markup=False)  # fmt: skip
        console.print(f"to train further: tscl pretrain --resume {shell(result.run_dir)} --iters N "
                      f"(N > {result.steps})",
                      soft_wrap=True, style="dim", markup=False)  # fmt: skip
        return
    for note in result.notes:
        err_console.print(f"note: {note}", soft_wrap=True)
    final = f"{result.final_loss:.4f}" if result.final_loss is not None else "-"
    console.print(
        f"[green]done[/]: {plural(result.steps, 'iteration')} ({plural(result.epochs, 'epoch')}) in "
        f"{result.seconds:.1f} s, "
        f"final loss {final}\nrun directory: [bold]{escape(str(result.run_dir))}[/]\n"
        f"next: tscl evaluate {escape(shell(result.run_dir))}",
        soft_wrap=True,
    )


def _join_process_group(device: str | None) -> Any:
    """Under torchrun (several processes), join its process group; returns this process's ranks."""
    from tscl.training import distributed

    if not distributed.launched_by_torchrun():
        return distributed.Ranks()
    return distributed.init_from_env(device or "auto")


def _restarted_with(run_dir: Path) -> bool:
    """Whether torchrun's elastic agent restarted this worker and ``run_dir`` holds the run this job started."""
    from tscl.runs.layout import CONFIG
    from tscl.training import distributed

    if distributed.restart_count() == 0 or not (run_dir / CONFIG).is_file():
        return False
    from tscl.errors import TsclError
    from tscl.runs.meta import read_meta

    try:
        meta = read_meta(run_dir)
    except TsclError:
        return True  # damaged: --resume says so
    # A run another job made (the first attempt was refused its --run-dir) is not this job's to continue.
    return meta is None or meta.get("launch_id") == distributed.launch_id()


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The flags that were given (None means not given), sections included."""
    given: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            options = {k: v for k, v in value["options"].items() if v is not None}
            if value["name"] is not None or options:
                given[key] = {"name": value["name"], "options": options}
        elif value is not None:
            given[key] = value
    return given


@app.command()
def encode(
    run: Annotated[Path, typer.Argument(help="Run directory made by tscl pretrain.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")],
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    split: Annotated[
        str,
        typer.Option(
            help="train, valid (grouped data), test or all: every part in that order (classification); "
            "forecasting: all only (the whole series)."
        ),
    ] = "all",
    mode: Annotated[str, typer.Option(help="instance ([N, D], max-pooled) or timestamp ([N, T, D]).")] = "instance",
    causal_window: Annotated[
        int | None, typer.Option(help="Timestamp mode: causal sliding window (201 in the forecasting protocol).")
    ] = None,
    univariate: Annotated[bool | None, typer.Option("--univariate/--multivariate")] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write representations of a dataset (default: the run's own) as a .npy file."""
    from tscl.runs.inference import encode_dataset

    if out.suffix != ".npy":
        fail(f"out (--out) must end in .npy but got {out}", "e.g. --out reprs.npy")
    if out.is_dir():
        fail(f"out (--out) must be a file path but {out} is a folder", f"e.g. --out {out / 'reprs.npy'}")
    if not out.parent.is_dir():
        fail(f"the folder of --out must exist but {out.parent} does not", f"create it first: mkdir -p {out.parent}")
    reprs = encode_dataset(
        run, dataset=dataset, data_dir=data_dir, split=split, mode=mode, causal_window=causal_window,
        univariate=univariate, time_col=time_col, target=target, device=device or "auto", threads=threads,
    )  # fmt: skip
    import io

    import numpy as np

    from tscl.training.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    np.save(buffer, reprs)
    atomic_write_bytes(out, buffer.getvalue())
    if json_out:
        print_json({"out": str(out), "shape": list(reprs.shape)})
    else:
        console.print(f"wrote {out} with shape {tuple(reprs.shape)}")
