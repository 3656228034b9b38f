"""Sweep summaries: mean ± std over seeds of the headline metrics per (dataset, objective, setting).

Headline metrics are each task's (``Task.headline``: the normalised mean-over-horizons MSE and MAE for
forecasting, accuracy and AUPRC for classification), read from each trial's ``metrics.json``. The std is the
sample standard deviation over the finished seeds (``ddof=1``), and 0 when only one seed finished. The
published numbers the task compares with (``Task.published``, from the objective's paper) are set beside.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Any

from tscl.runs.files import write_json
from tscl.runs.metrics import headline_metrics, read_metrics
from tscl.sweep.grid import Trial
from tscl.sweep.trial import Layout, TrialRecord
from tscl.tasks import headline_names, list_tasks, task_named
from tscl.training.checkpoint import atomic_write_text

STD_NOTE = "std is the sample standard deviation over finished seeds (ddof=1); 0 when one seed finished"


def paper_headline(trial: Trial, task: str | None) -> dict[str, float] | None:
    """Published headline numbers for a trial's dataset and objective, where the paper lists them.

    ``task`` is the task of the trials' metrics; when None (no trial finished), every task is asked.
    """
    name = Path(trial.dataset).stem
    for candidate in [t for t in list_tasks() if task in (None, t)]:
        evaluation = task_named(candidate, head=trial.evaluate.head)
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
        values: dict[str, list[float]] = {}
        for _, metrics in finished:
            for name, value in headline_metrics(metrics).items():
                values.setdefault(name, []).append(value)
        failed = [records[t.id] for t in members if records[t.id].status != "finished"]
        errors = [f"seed {r.seed}: {r.status}: {r.error or '-'}" for r in failed]
        rows.append({
            "dataset": dataset, "objective": objective, "setting": setting, "task": task,
            "n": len(finished), "seeds": [t.seed for t, _ in finished],
            "metrics": {name: mean_std(v) for name, v in values.items()},
            "paper": paper_headline(members[0], task), "settings": members[0].overrides,
            "unfinished": len(failed), "errors": errors,
        })  # fmt: skip
    return rows


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
        "std": STD_NOTE, "counts": counts, "rows": rows, "archives": archives or [],
        "trials": [r.to_dict() for r in records],
    }  # fmt: skip
    json_path, csv_path = layout.output / "summary.json", layout.output / "summary.csv"
    write_json(json_path, document)
    atomic_write_text(csv_path, summary_csv(rows))
    return json_path, csv_path


def summary_csv(rows: list[dict[str, Any]]) -> str:
    metrics = headline_names()
    columns = ["dataset", "objective", "setting", "task", "n", "unfinished"]
    for metric in metrics:
        columns += [f"{metric}_mean", f"{metric}_std", f"paper_{metric}"]
    columns.append("errors")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        line: dict[str, Any] = {key: row[key] for key in columns[:6]}
        for metric in metrics:
            stats = row["metrics"].get(metric)
            line[f"{metric}_mean"] = "" if stats is None else repr(stats["mean"])
            line[f"{metric}_std"] = "" if stats is None else repr(stats["std"])
            line[f"paper_{metric}"] = (row["paper"] or {}).get(metric, "")
        line["errors"] = " | ".join(row["errors"])
        writer.writerow(line)
    return buffer.getvalue()
