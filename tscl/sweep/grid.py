"""Grid files: datasets x objectives x seeds x settings, validated as a whole before any trial starts.

A grid is a TOML file (or the same mapping in Python)::

    name = "ts2vec-ucr"                  # optional; default: the file's stem
    output = "sweeps/ts2vec-ucr"         # optional; default: sweeps/<name>; relative to the current folder
    data_dir = "../shared/datasets"      # optional; `--data-dir` / ``data_dir=`` override it
    datasets = ["GunPoint", "BasicMotions"]   # or a whole archive: "UCR:all", "UEA:all", ["UCR:all", "ETTh1"]
    objectives = ["ts2vec"]              # optional; default ["ts2vec"]
    seeds = [0, 1, 2]                    # optional; default [42]

    [base]                               # every trial: any pretrain or evaluate setting
    iters = 200

    [[settings]]                         # one variant per table (an optional `name` labels it) ...
    name = "small"
    repr_dims = 64

    [grid]                               # ... times every combination of these per-key lists
    lr = [1e-3, 1e-4]

Settings are the run configuration's keys as ``--set`` writes them: run fields (``iters``, ``lr``, ... except
``dataset``, ``objective``, ``seed`` and ``data_dir``, which the lists above set), a component's name
(``loss = "infonce"``) or option (``"loss.temperature" = 0.5``, ``"objective.aug_lr" = [1e-3, 1e-2]``; tscl
0.1's flat names such as ``aug_lr`` are read too), and the evaluation keys ``head``, ``task``, ``eval_seed``,
``plots`` and ``baselines`` (false: skip the random-init and raw-input baselines), and for forecasting
datasets ``protocol`` ("ts2vec", "ltsf"), ``horizons`` ([24, 36] or "24,36"), ``split`` ([0.7, 0.1, 0.2] or a
protocol's name) and ``features`` ("M", "MS", "S"), checked against each dataset before any trial starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from tscl.config import RunConfig, layer_from_keys, resolve_config, resolve_for_task
from tscl.errors import ConfigError
from tscl.forecasting_protocols import ForecastingSetting
from tscl.paths import PathArg, as_data_dir
from tscl.registry import plain
from tscl.sweep.validate import (
    EVALUATE_KEYS,
    TOP_KEYS,
    check_objectives,
    check_unique,
    checked,
    dataset_list,
    name_list,
    product_table,
    seed_list,
    setting_table,
    settings_tables,
    typed,
    unknown_key,
)
from tscl.tasks.heads import DEFAULT_HEAD

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Settings that do not change results: left out of the trial id, so moving the data or device reuses trials.
NOT_IDENTITY = ("data_dir", "device", "threads", "checkpoint_every")


@dataclass(frozen=True)
class EvaluateSettings:
    """How a trial is evaluated once pretrained (the arguments of ``evaluate_run``)."""

    head: str = DEFAULT_HEAD
    task: str | None = None
    eval_seed: int = 0
    plots: bool = True
    baselines: bool = True
    protocol: str | None = None
    horizons: list[int] | str | None = None
    split: list[float] | str | None = None
    features: str | None = None

    def forecasting(self) -> ForecastingSetting | None:
        """The forecasting setting the grid states (None: the defaults)."""
        chosen = (self.protocol, self.horizons, self.split, self.features)
        return ForecastingSetting.from_options(*chosen) if any(v is not None for v in chosen) else None


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: a resolved pretraining config, evaluation settings and a deterministic id."""

    id: str
    dataset: str
    objective: str
    seed: int
    setting: str
    config: RunConfig
    evaluate: EvaluateSettings
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Grid:
    """A validated grid; :meth:`trials` expands it in a fixed order (dataset, objective, setting, seed)."""

    name: str
    output: Path
    datasets: tuple[str, ...]
    objectives: tuple[str, ...]
    seeds: tuple[int, ...]
    data_dir: str | None = None
    base: dict[str, Any] = field(default_factory=dict)
    settings: tuple[dict[str, Any], ...] = ()
    product: dict[str, list[Any]] = field(default_factory=dict)
    archives: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def variants(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, overrides) of every setting: each ``[[settings]]`` table times each ``[grid]`` product."""
        tables = list(self.settings) or [{}]
        combos = [dict(zip(self.product, values, strict=True)) for values in itertools.product(*self.product.values())]
        out: list[tuple[str, dict[str, Any]]] = []
        for table in tables:
            for combo in combos:
                named = table.get("name")
                own = {k: v for k, v in table.items() if k != "name"}
                parts = [str(named)] if named else [f"{k}={_format(v)}" for k, v in own.items()]
                parts += [f"{k}={_format(v)}" for k, v in combo.items()]
                out.append((",".join(parts) or "base", {**own, **combo}))
        return out

    def trials(self) -> list[Trial]:
        """Every trial, its config validated (raises ConfigError naming the grid entry at fault)."""
        trials = []
        for dataset in self.datasets:
            for objective in self.objectives:
                for label, overrides in self.variants():
                    for seed in self.seeds:
                        trials.append(self._trial(dataset, objective, seed, label, overrides))
        check_buildable(trials, self.name)
        return trials

    def _trial(self, dataset: str, objective: str, seed: int, label: str, overrides: dict[str, Any]) -> Trial:
        values = {**self.base, **overrides}
        pretrain = {k: v for k, v in values.items() if k not in EVALUATE_KEYS}
        pretrain.update(dataset=dataset, objective=objective, seed=seed)
        if self.data_dir is not None:
            pretrain["data_dir"] = self.data_dir
        where = f"{self.name}: setting {label!r} on {dataset} with {objective}"
        config = checked(where, lambda: resolve_config(file_values=layer_from_keys(pretrain, where)))
        scored = {k: v for k, v in values.items() if k in EVALUATE_KEYS}
        identity = {k: v for k, v in pretrain.items() if k not in NOT_IDENTITY}
        return Trial(trial_id(identity, scored, label), dataset, objective, seed, label, config,
                     EvaluateSettings(**scored), overrides)  # fmt: skip

    def to_toml(self) -> str:
        """The grid as TOML (written into the output folder as ``grid.toml``)."""
        data: dict[str, Any] = {"name": self.name, "output": str(self.output)}
        if self.data_dir:
            data["data_dir"] = self.data_dir
        in_archives = {name for names in self.archives.values() for name in names}
        datasets = [f"{archive}:all" for archive in self.archives]
        datasets += [name for name in self.datasets if name not in in_archives]
        data.update(datasets=datasets, objectives=list(self.objectives), seeds=list(self.seeds))
        if self.base:
            data["base"] = self.base
        if self.settings:
            data["settings"] = list(self.settings)
        if self.product:
            data["grid"] = self.product
        return tomli_w.dumps(data)


def trial_id(identity: dict[str, Any], scored: dict[str, Any], label: str) -> str:
    """``<dataset>-<objective>-<setting>-seed<seed>-<hash>``.

    The hash covers the settings the grid states (``identity``: pretraining keys, ``scored``: evaluation
    keys), not the defaults, so upgrading tscl does not rename the trials of a half-done sweep. Keys that do
    not change results (``NOT_IDENTITY``) are left out, so moving the data or the device reuses trials.
    """
    digest = hashlib.sha256(json.dumps([identity, scored], sort_keys=True).encode()).hexdigest()[:8]
    dataset = Path(str(identity["dataset"])).stem
    parts = (dataset, str(identity["objective"]), _slug(label)[:40], f"seed{identity['seed']}", digest)
    return "-".join(_slug(p) for p in parts)


def check_buildable(trials: list[Trial], name: str = "grid") -> None:
    """Build (on the CPU, for one input channel) the model of every distinct setting, so that what only a
    model's constructor checks (objective options against its loss and views) fails up front.

    Components are resolved for the task of each catalog dataset (a file path: without task defaults).
    """
    from tscl.data.catalog import find_entry
    from tscl.runs.pretraining import build_model

    seen: set[str] = set()
    for trial in trials:
        entry = find_entry(Path(trial.dataset).stem) if not Path(trial.dataset).suffix else None
        task = entry.task if entry is not None else ""
        config = trial.config.model_copy(update={"seed": 0, "data_dir": None, "device": "cpu", "threads": None})
        key = json.dumps([config.model_dump(exclude={"dataset"}), task], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        where = f"{name}: setting {trial.setting!r} with {trial.objective}"
        checked(where, lambda config=config, task=task: build_model(resolve_for_task(config, task), 1))


def load_grid(source: PathArg | Mapping[str, Any], data_dir: PathArg | None = None) -> Grid:
    """Read and validate a grid from a TOML file or a mapping; ``data_dir`` overrides the grid's."""
    if isinstance(source, Mapping):  # built in Python: numpy scalars are the numbers they are
        values, where, stem = plain(source), "grid", "sweep"
    else:
        path = Path(source)
        values, where, stem = _read_toml(path), path.name, path.stem
    unknown = [k for k in values if k not in TOP_KEYS]
    if unknown:
        raise unknown_key(where, unknown[0], TOP_KEYS)
    name = typed(where, "name", values.get("name", stem), str)
    datasets, archives = dataset_list(where, values)
    objectives = name_list(where, values, "objectives", [str(RunConfig().objective.name)])
    seeds = seed_list(where, values)
    check_objectives(where, objectives)
    output = Path(typed(where, "output", values.get("output", str(Path("sweeps") / name)), str))
    directory = data_dir if data_dir is not None else values.get("data_dir")
    if directory is not None:
        checked = as_data_dir(typed(where, "data_dir", directory, (str, Path)))
        directory = None if checked is None else str(checked.expanduser().resolve())
    base = setting_table(where, "base", values.get("base", {}))
    settings = settings_tables(where, values.get("settings", []))
    product = product_table(where, values.get("grid", {}), settings)
    grid = Grid(name, output, datasets, objectives, seeds, directory, base, settings, product, archives)
    check_unique([label for label, _ in grid.variants()], where)
    return grid


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ConfigError(
            f"grid file {path} must be a .toml file but it {what}", hint="pass the path of a grid .toml file"
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"grid file {path} must be valid TOML but reading it failed: {exc}",
                          hint="fix the file's syntax at that place (https://toml.io)") from None  # fmt: skip


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "_", text).strip("_") or "x"
