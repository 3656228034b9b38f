"""``tscl pretrain`` and ``tscl encode``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

PosInt = int | None
Num = float | None
Text = str | None
_AUTOTCL = "AutoTCL options"
_VIEWS = "View and loss options (autotcl, augment)"


def _preset_help() -> str:
    from tscl.objectives.presets import list_presets

    return (
        f"Published settings: {', '.join(list_presets())}. Applied as defaults < preset < --config < flags. "
        "Beware: tuned by the AutoTCL authors on the test split (see README)."
    )


def _views(text: str) -> Any:
    return typer.Option(help=text, rich_help_panel=_VIEWS)


def _autotcl(text: str) -> Any:
    return typer.Option(help=text, rich_help_panel=_AUTOTCL)


ObjectiveOpt = Annotated[
    Text,
    typer.Option(
        help="Pretraining objective: ts2vec (crops + hierarchical loss), autotcl (learned views), "
        "augment (tsaug views)."
    ),
]
EncoderOpt = Annotated[
    Text,
    typer.Option(
        help="Encoder: ts2vec (dilated convolutions) or cost (the same trunk + CoST's trend and season layers: "
        "the backbone of AutoTCL's published forecasting numbers). Default: cost for autotcl on forecasting "
        "data, ts2vec otherwise."
    ),
]
LossOpt = Annotated[
    Text,
    _views("infonce, dcl, siglip (instance level) or hierarchical (time-aligned views). Default: autotcl "
           "infonce (the paper's) on forecasting data and hierarchical on classification data; augment infonce."),
]
TemperatureOpt = Annotated[Num, _views("Temperature of infonce, dcl, local loss; siglip's initial (0.1).")]
AugmentationsOpt = Annotated[
    Text,
    _views(
        "augment: comma-separated transforms, applied in order: jitter, scaling, drift, dropout, quantize, "
        "pool, convolve, timewarp, crop (default jitter,scaling,timewarp)."
    ),
]
WindowOpt = Annotated[PosInt, _views("Random training windows of this length (autotcl 256; augment: all).")]
WindowBatchOpt = Annotated[PosInt, _views("Windows per iteration (default: --batch-size).")]
SiglipBiasOpt = Annotated[Num, _views("siglip: initial logit bias (-2).")]
LearnableOpt = Annotated[
    bool | None,
    typer.Option(
        "--learnable-temperature/--fixed-temperature",
        help="siglip: learn the temperature and bias (default) or keep them fixed.",
        rich_help_panel=_VIEWS,
    ),
]
LocalWeightOpt = Annotated[Num, _autotcl("Weight of the local InfoNCE, with instance losses (0.1).")]
NSegmentsOpt = Annotated[PosInt, _autotcl("Segments of the local InfoNCE (16).")]
AugLrOpt = Annotated[Num, _autotcl("Augmentation network learning rate (1e-3).")]
AugOptimizerOpt = Annotated[Text, _autotcl("adam or adamw (adam).")]
AugObjectiveOpt = Annotated[
    Text,
    _autotcl(
        "fidelity (MMD + compression, the paper; default) or adversarial (InfoMin-style: maximise the "
        "encoder loss + the same regularisers)."
    ),
]
RatioStepOpt = Annotated[PosInt, _autotcl("An augmentation step every N iterations (1).")]
RegWeightOpt = Annotated[Num, _autotcl("Weight of the mask keep-rate, compression (0.01).")]
RegularWeightOpt = Annotated[Num, _autotcl("Weight of the mask's temporal consistency (0).")]
AugHiddenDimsOpt = Annotated[PosInt, _autotcl("Augmentation trunk width H (64).")]
AugDimsOpt = Annotated[PosInt, _autotcl("Augmentation trunk output width A (16).")]
MaskTemperatureOpt = Annotated[Num, _autotcl("Hard-concrete temperature (2/3).")]
GammaZetaOpt = Annotated[Num, _autotcl("Hard-concrete stretch gamma (0.05).")]
GumbelBiasOpt = Annotated[Num, _autotcl("Noise truncation b: u ~ U(b, 1 - b) (0.05).")]
HardMaskOpt = Annotated[
    bool | None,
    typer.Option(
        "--hard-mask/--soft-mask",
        help="Binarise the mask, straight-through (default hard).",
        rich_help_panel=_AUTOTCL,
    ),
]
MaxScaleOpt = Annotated[Num, _autotcl("The transformation g lies in [1/s, s] (2).")]
NoiseStdOpt = Annotated[Num, _autotcl("Std of the view's additive noise (0.05; 0 disables).")]
ContextCropOpt = Annotated[
    bool | None,
    typer.Option(
        "--context-crop/--whole-views",
        help="Encoder step on TS2Vec's overlapping crops, one from x, one from its view (default: on for "
        "classification data, whole views for forecasting data).",
        rich_help_panel=_AUTOTCL,
    ),
]


@app.command()
def pretrain(
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    objective: ObjectiveOpt = None,
    encoder: EncoderOpt = None,
    preset: Annotated[Text, typer.Option(help=_preset_help())] = None,
    iters: Annotated[PosInt, typer.Option(help="Total iterations (default: 200, or 600 for >100k values).")] = None,
    epochs: Annotated[PosInt, typer.Option(help="Total epochs (instead of iterations).")] = None,
    batch_size: Annotated[PosInt, typer.Option(help="Batch size (8).")] = None,
    lr: Annotated[float | None, typer.Option(help="AdamW learning rate (1e-3).")] = None,
    repr_dims: Annotated[PosInt, typer.Option(help="Representation size D (320).")] = None,
    hidden_dims: Annotated[PosInt, typer.Option(help="Hidden width of the encoder (64).")] = None,
    depth: Annotated[PosInt, typer.Option(help="Residual blocks before the final one (10).")] = None,
    max_train_length: Annotated[PosInt, typer.Option(help="Longest training crop (3000).")] = None,
    temporal_unit: Annotated[PosInt, typer.Option(help="Skip the temporal loss at the first k scales (0).")] = None,
    univariate: Annotated[
        bool | None, typer.Option("--univariate/--multivariate", help="Forecasting CSVs: target column only.")
    ] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    checkpoint_every: Annotated[PosInt, typer.Option(help="Save a checkpoint every N iterations (50).")] = None,
    loss: LossOpt = None,
    temperature: TemperatureOpt = None,
    augmentations: AugmentationsOpt = None,
    window: WindowOpt = None,
    window_batch: WindowBatchOpt = None,
    siglip_bias: SiglipBiasOpt = None,
    learnable_temperature: LearnableOpt = None,
    local_weight: LocalWeightOpt = None,
    n_segments: NSegmentsOpt = None,
    aug_lr: AugLrOpt = None,
    aug_optimizer: AugOptimizerOpt = None,
    aug_objective: AugObjectiveOpt = None,
    ratio_step: RatioStepOpt = None,
    reg_weight: RegWeightOpt = None,
    regular_weight: RegularWeightOpt = None,
    aug_hidden_dims: AugHiddenDimsOpt = None,
    aug_dims: AugDimsOpt = None,
    mask_temperature: MaskTemperatureOpt = None,
    gamma_zeta: GammaZetaOpt = None,
    gumbel_bias: GumbelBiasOpt = None,
    hard_mask: HardMaskOpt = None,
    max_scale: MaxScaleOpt = None,
    noise_std: NoiseStdOpt = None,
    context_crop: ContextCropOpt = None,
    run_dir: Annotated[Path | None, typer.Option(help="Write the run here (default: runs/<stamp>-...).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this directory.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config (e.g. a run's config.toml).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain an encoder and write a run directory (no arguments: TS2Vec on the offline default data)."""
    from tscl.pretraining import Interrupted
    from tscl.pretraining import pretrain as run_pretrain
    from tscl.pretraining import resume as run_resume
    from tscl.training.config import load_config_values, resolve_config

    try:
        with step_progress("pretraining", enabled=not json_out) as hook:
            if resume is not None:
                result = run_resume(resume, iters=iters, on_step=hook, data_dir=data_dir)
            else:
                file_values = load_config_values(config) if config is not None else None
                resolved = resolve_config(
                    dataset=dataset, data_dir=str(data_dir) if data_dir else None, objective=objective,
                    encoder=encoder, iters=iters, epochs=epochs, batch_size=batch_size, lr=lr, repr_dims=repr_dims,
                    hidden_dims=hidden_dims, depth=depth, max_train_length=max_train_length,
                    temporal_unit=temporal_unit, univariate=univariate, time_col=time_col, target=target,
                    seed=seed, device=device, threads=threads, checkpoint_every=checkpoint_every,
                    preset=preset, file_values=file_values, loss=loss, temperature=temperature,
                    augmentations=augmentations, window=window, window_batch=window_batch,
                    siglip_bias=siglip_bias, learnable_temperature=learnable_temperature,
                    local_weight=local_weight, n_segments=n_segments, aug_lr=aug_lr,
                    aug_optimizer=aug_optimizer,
                    aug_objective=aug_objective, ratio_step=ratio_step, reg_weight=reg_weight,
                    regular_weight=regular_weight, aug_hidden_dims=aug_hidden_dims, aug_dims=aug_dims,
                    mask_temperature=mask_temperature, gamma_zeta=gamma_zeta, gumbel_bias=gumbel_bias,
                    hard_mask=hard_mask, max_scale=max_scale, noise_std=noise_std, context_crop=context_crop,
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
        int | None, typer.Option(help="Timestamp mode: causal sliding window (201 in the forecasting protocol).")
    ] = None,
    univariate: Annotated[bool | None, typer.Option("--univariate/--multivariate")] = None,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write representations of a dataset (default: the run's own) as a .npy file."""
    from tscl.inference import encode_dataset

    if out.suffix != ".npy":
        fail(f"--out must end in .npy but got {out}", "e.g. --out reprs.npy")
    if out.is_dir():
        fail(f"--out must be a file path but {out} is a folder", f"e.g. --out {out / 'reprs.npy'}")
    if not out.parent.is_dir():
        fail(f"the folder of --out must exist but {out.parent} does not", f"create it first: mkdir -p {out.parent}")
    reprs = encode_dataset(
        run, dataset=dataset, data_dir=data_dir, split=split, mode=mode, causal_window=causal_window,
        univariate=univariate, time_col=time_col, target=target, device=device or "auto",
    )  # fmt: skip
    import io

    from tscl.training.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    np.save(buffer, reprs)
    atomic_write_bytes(out, buffer.getvalue())
    if json_out:
        print_json({"out": str(out), "shape": list(reprs.shape)})
    else:
        console.print(f"wrote {out} with shape {tuple(reprs.shape)}")
