"""``tscl evaluate`` and ``tscl report``: downstream protocols on a run's frozen encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tscl.cli.application import app
from tscl.cli.options import DataDirOpt, DatasetOpt, DeviceOpt, JsonOpt, SplitByOpt, ThreadsOpt
from tscl.cli.render import console, err_console, folded, phase_progress, print_json, print_warnings
from tscl.forecasting_protocols import DEFAULT_PROTOCOL, list_protocols
from tscl.tasks import list_tasks, task_named
from tscl.tasks.heads import DEFAULT_HEAD, HEADS, list_heads
from tscl.text import shell

PHASES = {
    "load_s": "loading the checkpoint and the data",
    "encode_s": "encoding with the pretrained encoder",
    "head_s": "fitting and scoring the head",
    "baseline_s": "baselines: random-init encoder and raw inputs",
    "write_s": "writing metrics and plots",
}

RunArg = Annotated[Path, typer.Argument(help="Run directory made by tscl pretrain.")]


def render_metrics(metrics: dict[str, Any]) -> None:
    """Print the report tables of a metrics dict (as stored in metrics.json), as its task lays them out."""
    for table in task_named(str(metrics.get("task"))).tables(metrics):
        console.print(folded(table))
    split = metrics.get("group_split")
    if split:
        groups = split["groups"]
        console.print(f"split by {split['split_by']} (seed {split['seed']}): groups train {groups['train']}, "
                      f"valid {groups['valid']}, test {groups['test']}", style="dim", soft_wrap=True)  # fmt: skip
    if metrics.get("objective_log"):
        console.print(folded(objective_log_table(metrics["objective_log"])))
    timings = metrics.get("timings")
    if timings:
        console.print("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), style="dim")


def objective_log_table(rows: list[dict[str, Any]], last: int = 10) -> Any:
    """The objective's per-epoch records of pretraining (its last ``last`` epochs) as a table."""
    from rich.table import Table

    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(title=f"pretraining, per epoch ({min(last, len(rows))} of {len(rows)} shown)")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows[-last:]:
        table.add_row(*(f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns))
    return table


@app.command()
def evaluate(
    run: RunArg,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    task: Annotated[
        str | None, typer.Option(help=f"Evaluation task: {' or '.join(list_tasks())} (default: the dataset's).")
    ] = None,
    head: Annotated[
        str | None, typer.Option(help=f"Classification head: {', '.join(list_heads())} (default {DEFAULT_HEAD}).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the head's random choices (0 to 2**32 - 1).")] = 0,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip writing PNG plots.")] = False,
    no_baselines: Annotated[
        bool,
        typer.Option(
            "--no-baselines",
            help="Skip the random-init and raw-input baselines (each costs about as much as the encoder's own "
            "protocol; the encoder's numbers are unchanged). Those of the evaluation replaced are kept when measured "
            "with the same protocol, data and seeds.",
        ),
    ] = False,
    track: Annotated[
        list[str] | None,
        typer.Option(help="Add the metrics to the run's tracked run: mlflow or tensorboard (repeatable)."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            help=f"Forecasting protocol: {' or '.join(list_protocols())} (default {DEFAULT_PROTOCOL}): the split "
            "and horizons of each dataset (README: Forecasting protocols)."
        ),
    ] = None,
    horizons: Annotated[
        str | None, typer.Option(help="Forecasting: prediction lengths instead of the protocol's, e.g. 24,36,48,60.")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(help="Forecasting: train,valid,test fractions (0.7,0.1,0.2) or a protocol whose split to use."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="Forecasting: M (all variables in, all out), MS (all in, the target out) or S (the target "
            "alone; univariate runs). Default: S for univariate runs, else M."
        ),
    ] = None,
    split_by: SplitByOpt = None,
    label_fraction: Annotated[
        str | None,
        typer.Option(
            "--label-fraction",
            help="Classification: label-efficiency protocol at these fractions of the training labels, e.g. "
            "1,0.1,0.01 (taken per group when the data has groups): linear probe and fine-tuning, mean ± std.",
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option("--seeds", help="Label-efficiency: seeds per fraction (label draw, head, fine-tuning)."),
    ] = None,
    protocols: Annotated[
        str | None, typer.Option("--protocols", help="Label-efficiency: linear, finetune or both (linear,finetune).")
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="An option of the evaluation task as KEY=VALUE, repeatable, e.g. finetune_lr=3e-4, "
            "finetune_head=random, finetune_steps=600 (label efficiency). Unknown keys fail with the task's options.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit the task's head on the frozen encoder; print a report, write metrics.json/.csv and plots."""
    from tscl.config import parse_key_values
    from tscl.forecasting_protocols import ForecastingSetting
    from tscl.runs.evaluation import evaluate_run
    from tscl.seeds import check_eval_seed

    if head is not None and head not in HEADS:
        raise HEADS.unknown(head)
    check_eval_seed(seed, "--seed", hint="e.g. --seed 0")
    options = parse_key_values(sets or [])
    chosen = (protocol, horizons, split, features)
    forecasting = ForecastingSetting.from_options(*chosen) if any(v is not None for v in chosen) else None
    if track:
        from tscl.runs.tracking import check_trackers

        check_trackers(track)
    given = _given_flags(head=head, protocol=protocol, horizons=horizons, split=split, features=features,
                         label_fractions=label_fraction, seeds=seeds, protocols=protocols)  # fmt: skip
    with phase_progress(PHASES, enabled=not json_out) as on_phase:
        metrics = evaluate_run(
            run, dataset, data_dir, task, head, seed, device or "auto", plots=not no_plots,
            baselines=not no_baselines, threads=threads, forecasting=forecasting, on_phase=on_phase,
            split_by=split_by, task_settings=_label_efficiency_settings(label_fraction, seeds, protocols),
            task_options=options, flags=given,
        )  # fmt: skip
    if track:
        from tscl.runs.tracking import log_evaluation

        log_evaluation(run, metrics, track)
    provenance = metrics["provenance"]
    if provenance["run_status"] == "running":  # on stderr: --json output stays one document
        err_console.print(f"note: {run} is still training: evaluated its checkpoint at iteration "
                          f"{provenance['checkpoint']['step']}", soft_wrap=True, markup=False)  # fmt: skip
    print_warnings(metrics.get("warnings", []))  # before the report
    if json_out:
        print_json(metrics)
        return
    render_metrics(metrics)
    folder = (run / provenance["file"]).parent
    plots = "" if no_plots else f" and plots in {folder / 'plots'}"
    console.print(f"wrote {folder / 'metrics.json'} and {folder / 'metrics.csv'}{plots}", soft_wrap=True, markup=False)
    if folder != run:
        from tscl.runs.metrics import protocol_of, read_metrics

        own = protocol_of(read_metrics(run))
        held = f"its first evaluation on its own data, by {own}" if own else "the evaluation of its own data"
        console.print(f"(stored beside the run's own metrics.json, which keeps {held}: this one is {folder.name})",
                      style="dim", soft_wrap=True, markup=False)  # fmt: skip


# The flag of each evaluation setting: a task that does not declare the setting refuses its flag.
SETTING_FLAGS = {
    "head": "--head", "protocol": "--protocol", "horizons": "--horizons", "split": "--split",
    "features": "--features", "label_fractions": "--label-fraction", "seeds": "--seeds", "protocols": "--protocols",
}  # fmt: skip


def _given_flags(**values: Any) -> dict[str, str]:
    """The settings given on the command line (not None), by setting name, each with its flag."""
    return {name: SETTING_FLAGS[name] for name, value in values.items() if value is not None}


def _label_efficiency_settings(fractions: str | None, seeds: int | None, protocols: str | None) -> dict[str, Any]:
    """The label-efficiency options given on the command line (None: not given)."""
    from tscl.errors import ConfigError

    values: list[float] | None = None
    if fractions is not None:
        try:
            values = [float(part) for part in fractions.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"--label-fraction must be numbers separated by commas but got {fractions!r}",
                              hint="e.g. --label-fraction 1,0.1,0.01") from None  # fmt: skip
    elif seeds is not None or protocols is not None:
        raise ConfigError("--seeds and --protocols must come with --label-fraction but it is missing",
                          hint="e.g. --label-fraction 1,0.1,0.01 --seeds 5")  # fmt: skip
    chosen = None if protocols is None else [p.strip() for p in protocols.split(",") if p.strip()]
    return {"label_fractions": values, "seeds": seeds, "protocols": chosen}


@app.command()
def report(
    run: Annotated[
        Path, typer.Argument(help="Run directory, or the folder of another evaluation (RUN/evaluations/KEY).")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Re-render a run's report from its stored metrics.json (nothing is recomputed); says when it is stale."""
    from tscl.runs.evaluation import stored_metrics, stored_stale_reason

    metrics = stored_metrics(run)
    reason = stored_stale_reason(run, metrics)
    if json_out:
        print_json({**metrics, "stale": reason is not None, "stale_reason": reason})
        return
    render_metrics(metrics)
    if reason is not None:
        console.print(f"[yellow]stale[/]: {reason}; re-run `tscl evaluate` for the latest", soft_wrap=True)
    from tscl.runs.metrics import other_evaluations

    others = other_evaluations(run)
    if others:
        console.print(f"other evaluations: {', '.join(others)} (tscl report {shell(run)}/evaluations/KEY)",
                      style="dim", soft_wrap=True, markup=False)  # fmt: skip
