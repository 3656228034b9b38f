"""Sweep summaries: mean ± std over seeds of the validation and headline metrics per (dataset, objective,
setting), and the best setting of each (dataset, objective), chosen on validation metrics only.

Validation metrics come first (``Task.validation``: the 5-fold ``cv_accuracy`` on the training split for
classification, the validation split's ``valid_mse`` for forecasting), then the headline metrics
(``Task.headline``: accuracy and AUPRC; the normalised mean-over-horizons MSE and MAE), read from each trial's
``metrics.json``. The std is the sample standard deviation over the finished seeds (``ddof=1``), and 0 when
only one seed finished. The published numbers the task compares with (``Task.published``, from the
objective's paper) are set beside. Where a (dataset, objective) has several settings, the best is the one
with the best mean of the task's first validation metric; test numbers never take part in the choice. Each
row also carries its trials' baselines (the objective's encoder untrained, the raw input) as mean ± std over
the same seeds, and ``below``: the baselines whose mean validation metric beats the row's.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Any

from tscl.runs.files import write_json
from tscl.runs.metrics import protocol_of, read_metrics, summary_metrics
from tscl.sweep.grid import Trial
from tscl.sweep.trial import Layout, TrialRecord
from tscl.tasks import create_task, headline_names, list_tasks, task_named, validation_names
from tscl.training.checkpoint import atomic_write_text

STD_NOTE = "std is the sample standard deviation over finished seeds (ddof=1); 0 when one seed finished"
BEST_NOTE = (
    "best: per dataset, objective and evaluation protocol, the setting with the best mean validation metric "
    "(never test)"
)


def paper_headline(trial: Trial, task: str | None) -> dict[str, float] | None:
    """Published headline numbers for a trial's dataset and objective, where the paper lists them.

    ``task`` is the task of the trials' metrics; when None (no trial finished), every task is asked.
    """
    name = Path(trial.dataset).stem
    forecasting = trial.evaluate.forecasting()
    settings = forecasting.to_dict() if forecasting is not None else {}
    for candidate in [t for t in list_tasks() if task in (None, t)]:
        evaluation = task_named(candidate, head=trial.evaluate.head, **settings)
        published = evaluation.published(trial.objective, name, trial.config.univariate)
        if published is not None:
            return evaluation.headline(published)
    return None


def mean_std(values: list[float]) -> dict[str, float]:
    """``{"mean", "std"}`` with the sample std (ddof=1), or std 0 for a single value."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return {"mean": mean, "std": 0.0}
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return {"mean": mean, "std": math.sqrt(variance)}


def trial_metrics(layout: Layout, trial: Trial) -> dict[str, Any] | None:
    return read_metrics(layout.run_dir(trial.id))


def summarise(trials: list[Trial], records: dict[str, TrialRecord], layout: Layout) -> list[dict[str, Any]]:
    """One row per (dataset, objective, setting) in grid order, with mean ± std, paper numbers and errors."""
    groups: dict[tuple[str, str, str], list[Trial]] = {}
    for trial in trials:
        groups.setdefault((trial.dataset, trial.objective, trial.setting), []).append(trial)
    rows = []
    for (dataset, objective, setting), members in groups.items():
        finished = [(t, trial_metrics(layout, t)) for t in members if records[t.id].status == "finished"]
        tasks = {str(m.get("task")) for _, m in finished if m}
        task = tasks.pop() if len(tasks) == 1 else None
        protocols = sorted({str(protocol_of(m)) for _, m in finished if m})
        values: dict[str, list[float]] = {}
        baselines: dict[str, dict[str, list[float]]] = {}
        for _, metrics in finished:
            for name, value in summary_metrics(metrics).items():
                values.setdefault(name, []).append(value)
            for baseline, numbers in ((metrics or {}).get("baselines") or {}).items():
                for name, value in summary_metrics(numbers).items():
                    baselines.setdefault(baseline, {}).setdefault(name, []).append(value)
        failed = [records[t.id] for t in members if records[t.id].status != "finished"]
        errors = [f"seed {r.seed}: {r.status}: {r.error or '-'}" for r in failed]
        rows.append({
            "dataset": dataset, "objective": objective, "setting": setting, "task": task,
            "protocol": protocols[0] if len(protocols) == 1 else None,
            "n": len(finished), "seeds": [t.seed for t, _ in finished],
            "metrics": {name: mean_std(v) for name, v in values.items()},
            "baselines": {b: {name: mean_std(v) for name, v in m.items()} for b, m in baselines.items()},
            "paper": paper_headline(members[0], task), "settings": members[0].overrides,
            "unfinished": len(failed), "errors": errors,
        })  # fmt: skip
    mark_best(rows)
    for row in rows:
        row["below"] = below_baselines(row)
    return rows


def below_baselines(row: dict[str, Any]) -> list[str]:
    """The baselines (``random init``: the objective's encoder untrained; ``raw input``) whose mean of the
    task's selection metric is better than the row's: where pretraining did not help, on validation."""
    own = _selection_value(row)
    if own is None:
        return []
    values = {name: _selected_mean(row["task"], metrics) for name, metrics in (row.get("baselines") or {}).items()}
    return sorted(name for name, value in values.items() if value is not None and value < own)


def mark_best(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``row["best"]``: True on the best setting of each (dataset, objective, evaluation protocol) with two
    or more settings; settings evaluated by different protocols (other horizons, splits, feature modes) are
    never ranked against each other.

    The best has the best mean of its task's first validation metric (``Task.validation_names``, lower or
    higher as ``Task.validation_lower_is_better`` says); rows without it take no part. Returns the best rows.
    """
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for row in rows:
        row["best"] = False
        groups.setdefault((row["dataset"], row["objective"], row.get("protocol")), []).append(row)
    best = []
    for members in groups.values():
        scored = [(row, _selection_value(row)) for row in members]
        candidates = [(row, value) for row, value in scored if value is not None]
        if len({row["setting"] for row in members}) < 2 or not candidates:
            continue
        winner, _ = min(candidates, key=lambda pair: pair[1])
        winner["best"] = True
        best.append(winner)
    return best


def _selection_value(row: dict[str, Any]) -> float | None:
    """The row's mean of its task's selection metric, negated when higher is better (None: not measured)."""
    return _selected_mean(row["task"], row["metrics"]) if row["n"] else None


def _selected_mean(task_name: str | None, metrics: dict[str, Any]) -> float | None:
    """Mean of the task's selection metric in ``{name: {"mean", "std"}}``, negated when higher is better."""
    if task_name is None:
        return None
    task = create_task(task_name)
    if not task.validation_names or task.validation_names[0] not in metrics:
        return None
    mean = float(metrics[task.validation_names[0]]["mean"])
    return mean if task.validation_lower_is_better else -mean


def selected_on(task: str | None) -> str | None:
    """The metric a task's best setting is chosen on (None: the task has no validation metric)."""
    names = create_task(task).validation_names if task is not None else ()
    return names[0] if names else None


def summarise_archives(rows: list[dict[str, Any]], archives: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """Per archive the grid swept (``"UCR:all"``) and (objective, setting): how many of its datasets are done
    (every seed finished) and the average over those datasets of each headline metric's mean."""
    out = []
    for archive, names in archives.items():
        members = {name.lower() for name in names}
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            if Path(row["dataset"]).stem.lower() in members:
                groups.setdefault((row["objective"], row["setting"]), []).append(row)
        for (objective, setting), group in groups.items():
            done = [row for row in group if row["n"] > 0 and row["unfinished"] == 0]
            metrics = {}
            for metric in sorted({m for row in done for m in row["metrics"]}):
                means = [row["metrics"][metric]["mean"] for row in done if metric in row["metrics"]]
                metrics[metric] = sum(means) / len(means)
            out.append({"archive": archive, "objective": objective, "setting": setting, "datasets": len(names),
                        "done": len(done), "metrics": metrics})  # fmt: skip
    return out


def write_summary(
    layout: Layout,
    name: str,
    rows: list[dict[str, Any]],
    records: list[TrialRecord],
    archives: list[dict[str, Any]] | None = None,
) -> tuple[Path, Path]:
    """Write ``summary.json`` (rows, archive averages and every trial) and ``summary.csv`` (one line per row)
    atomically."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    document = {
        "sweep": name, "output": str(layout.output), "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "std": STD_NOTE, "selection": BEST_NOTE, "counts": counts,
        "best": [{"dataset": r["dataset"], "objective": r["objective"], "setting": r["setting"],
                  "selected_on": selected_on(r["task"])} for r in rows if r.get("best")],
        "rows": rows, "archives": archives or [], "trials": [r.to_dict() for r in records],
    }  # fmt: skip
    json_path, csv_path = layout.output / "summary.json", layout.output / "summary.csv"
    write_json(json_path, document)
    atomic_write_text(csv_path, summary_csv(rows))
    return json_path, csv_path


def summary_csv(rows: list[dict[str, Any]]) -> str:
    """One line per row: validation metrics first (mean, std), then headline metrics (mean, std, paper)."""
    validation, metrics = validation_names(), headline_names()
    columns = ["dataset", "objective", "setting", "task", "n", "unfinished", "best"]
    for metric in validation:
        columns += [f"{metric}_mean", f"{metric}_std"]
    for metric in metrics:
        columns += [f"{metric}_mean", f"{metric}_std", f"paper_{metric}"]
    columns.append("errors")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        line: dict[str, Any] = {key: row[key] for key in columns[:6]}
        line["best"] = "best" if row.get("best") else ""
        for metric in validation:
            stats = row["metrics"].get(metric)
            line[f"{metric}_mean"] = "" if stats is None else repr(stats["mean"])
            line[f"{metric}_std"] = "" if stats is None else repr(stats["std"])
        for metric in metrics:
            stats = row["metrics"].get(metric)
            line[f"{metric}_mean"] = "" if stats is None else repr(stats["mean"])
            line[f"{metric}_std"] = "" if stats is None else repr(stats["std"])
            line[f"paper_{metric}"] = (row["paper"] or {}).get(metric, "")
        line["errors"] = " | ".join(row["errors"])
        writer.writerow(line)
    return buffer.getvalue()
