"""Validation of a grid's values: every key checked by name, type, range and registry, with its location.

Messages name the grid file and where the value sits (``base.iters``, ``settings[1].lr``, ``grid.lr[0]``).
"""

from __future__ import annotations

import difflib
from typing import Any

from tscl.config import SECTIONS, RunConfig, config_from_mapping, is_setting_key, layer_from_keys
from tscl.errors import ConfigError
from tscl.seeds import check_eval_seed, check_seed

TOP_KEYS = ("name", "output", "data_dir", "datasets", "objectives", "seeds", "base", "settings", "grid")
EVALUATE_KEYS: dict[str, type | tuple[type, ...]] = {
    "head": str, "task": str, "eval_seed": int, "plots": bool, "baselines": bool,
    # forecasting: the protocol, and what to change of it (tscl evaluate --protocol/--horizons/--split/--features)
    "protocol": str, "horizons": (list, str), "split": (list, str), "features": str,
}  # fmt: skip
FORECASTING_KEYS = ("protocol", "horizons", "split", "features")
AXIS_KEYS = {"dataset": "datasets", "objective": "objectives", "seed": "seeds", "data_dir": "data_dir"}
# Run fields a setting may hold; components' options are written `section.option` (e.g. "loss.temperature").
PRETRAIN_KEYS = tuple(k for k in RunConfig.model_fields if k not in AXIS_KEYS and k not in SECTIONS)
SETTING_KEYS = PRETRAIN_KEYS + tuple(f"{s}.OPTION" for s in SECTIONS) + tuple(EVALUATE_KEYS)


def unknown_key(where: str, key: str, valid: tuple[str, ...]) -> ConfigError:
    """The error for an unknown key, with the closest valid names (or where a misplaced setting goes)."""
    if key in AXIS_KEYS and valid == TOP_KEYS:  # `dataset = ...` at the top: the axis is plural
        hint = f"did you mean {AXIS_KEYS[key]}? list them: {AXIS_KEYS[key]} = [...]"
    elif is_setting_key(key.replace("-", "_")) and valid == TOP_KEYS:
        hint = f"settings go in [base], [[settings]] or [grid], e.g. [base] {key} = ..."
    else:
        candidates = [*valid, *_option_keys()] if valid == SETTING_KEYS else list(valid)
        close = difflib.get_close_matches(key.replace("-", "_"), candidates, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"valid keys: {', '.join(valid)}"
    return ConfigError(f"{where}: unknown key {key!r}", hint=hint)


def _option_keys() -> list[str]:
    """``section.option`` of every option of every available component (for close-match hints)."""
    from tscl.config import registry_of

    keys = []
    for section in SECTIONS:
        registry = registry_of(section)
        keys += [f"{section}.{o}" for name in registry.names() for o in registry.entry(name).options.model_fields]
    return sorted(set(keys))


def typed(where: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    """``value`` if it is of type ``kind`` (a bool is not an int here), else a ConfigError naming ``key``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(k.__name__ for k in kinds if k.__module__ == "builtins")
        raise ConfigError(f"{where}: {key} must be {expected} but got {value!r}", hint="fix the value in the grid file")
    return value


def name_list(where: str, values: dict[str, Any], key: str, default: list[str] | None) -> tuple[str, ...]:
    """The non-empty list of distinct names under ``key`` (required when ``default`` is None)."""
    if key not in values and default is None:
        raise ConfigError(
            f"{where}: {key} must be given but the grid has no {key} key",
            hint=f'add a list, e.g. {key} = ["GunPoint", "BasicMotions"]',
        )
    items = values.get(key, default)
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: {key} must be a non-empty list of names but got {items!r}",
                          hint=f'e.g. {key} = ["{(default or ["GunPoint"])[0]}"]')  # fmt: skip
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}: {key}[{i}] must be a non-empty string but got {item!r}")
    check_unique(items, where, key)
    return tuple(items)


def dataset_list(where: str, values: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The datasets of a grid with archive selectors expanded, and each selector's archive with its names.

    ``datasets`` is a list of names, paths and selectors (``["UCR:all", "ETTh1"]``), or one selector alone
    (``datasets = "UEA:all"``).
    """
    from tscl.data.catalog import check_archive, expand_names
    from tscl.errors import DataError

    raw = values.get("datasets")
    specs = name_list(where, {"datasets": [raw]} if isinstance(raw, str) else values, "datasets", None)
    names: list[str] = []
    archives: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        try:
            members = expand_names(spec)
        except DataError as exc:
            raise ConfigError(f"{where}: datasets: {exc.message}", hint=exc.hint) from None
        if members is not None:
            archives[check_archive(spec.partition(":")[0].strip())] = tuple(members)
        names.extend(name for name in members or [spec] if name not in names)
    return tuple(names), archives


def seed_list(where: str, values: dict[str, Any]) -> tuple[int, ...]:
    """The distinct seeds (0 to 2**63 - 1) (default: the config's default seed)."""
    seeds = values.get("seeds", [RunConfig.model_fields["seed"].default])
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"{where}: seeds must be a non-empty list of integers but got {seeds!r}",
                          hint="e.g. seeds = [0, 1, 2]")  # fmt: skip
    for i, seed in enumerate(seeds):
        check_seed(seed, f"{where}: seeds[{i}]", hint="e.g. seeds = [0, 1, 2]")
    check_unique(seeds, where, "seeds")
    return tuple(seeds)


def check_unique(items: list[Any], where: str, key: str = "settings") -> None:
    """Reject a list holding the same entry twice (it would make two trials with one id)."""
    seen = [item for i, item in enumerate(items) if item in items[:i]]
    if seen:
        labels = key == "settings"
        raise ConfigError(
            f"{where}: {key} has the {'setting label' if labels else 'entry'} {seen[0]!r} twice",
            hint="give the [[settings]] tables different names or values" if labels else "remove the duplicate",
        )


def check_objectives(where: str, objectives: tuple[str, ...]) -> None:
    from tscl.objectives import list_objectives

    valid = list_objectives()
    for i, objective in enumerate(objectives):
        if objective not in valid:
            raise ConfigError(
                f"{where}: objectives[{i}] must be one of {', '.join(valid)} but got {objective!r}",
                hint="see `tscl pretrain --help` for the registered objectives",
            )


def setting_table(where: str, label: str, table: Any, allow_name: bool = False) -> dict[str, Any]:
    """A table of settings (``[base]`` or one ``[[settings]]`` entry), each value checked."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {label} must be a table of settings but got {table!r}",
                          hint=f"write [{label}] followed by key = value lines")  # fmt: skip
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if allow_name and name == "name":
            values["name"] = typed(where, f"{label}.name", value, str)
            continue
        values[name] = _check_setting(where, f"{label}.{key}", name, value)
    _check_one_spelling(where, label, [name for name in values if not (allow_name and name == "name")])
    return values


def setting_path(name: str) -> str:
    """The setting a key stands for, however spelt: ``repr_dims`` (tscl 0.1's flat name) and
    ``encoder.repr_dims`` are both ``encoder.repr_dims``."""
    if name in EVALUATE_KEYS:
        return name
    from tscl.config import layer_from_keys

    try:
        layer: Any = layer_from_keys({name: 0})
    except ConfigError:
        return name
    parts = []
    while isinstance(layer, dict):
        if layer.get("options"):  # a component's option: {"encoder": {"name": None, "options": {...}}}
            layer = layer["options"]
        given = [key for key, value in layer.items() if value is not None]
        if len(given) != 1 or given[0] == "name":
            break
        parts.append(given[0])
        layer = layer[given[0]]
    return ".".join(parts) or name


def _check_one_spelling(where: str, label: str, names: list[str]) -> None:
    """Two keys of one table that set the same setting (``repr_dims`` and ``encoder.repr_dims``): which one
    won would depend on their order in the file."""
    seen: dict[str, str] = {}
    for name in names:
        path = setting_path(name)
        if path in seen:
            raise ConfigError(f"{where}: [{label}] sets {path} twice, as {seen[path]} and as {name}",
                              hint="keep one of them")  # fmt: skip
        seen[path] = name


def settings_tables(where: str, tables: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}: settings must be a list of tables but got {tables!r}",
                          hint="write one [[settings]] table per variant")  # fmt: skip
    return tuple(setting_table(where, f"settings[{i}]", t, allow_name=True) for i, t in enumerate(tables))


def product_table(where: str, table: Any, settings: tuple[dict[str, Any], ...]) -> dict[str, list[Any]]:
    """The ``[grid]`` table: per-key non-empty lists of distinct values, keys not also in ``[[settings]]``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: grid must be a table of lists but got {table!r}", hint="e.g. [grid] lr = [1e-3]")
    product: dict[str, list[Any]] = {}
    for key, values in table.items():
        name = key.replace("-", "_")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: grid.{key} must be a non-empty list of values but got {values!r}",
                              hint="put single values in [base]")  # fmt: skip
        if any(setting_path(name) in {setting_path(k) for k in s if k != "name"} for s in settings):
            raise ConfigError(f"{where}: {key} is set both in [[settings]] and in [grid]",
                              hint="set each key in one place")  # fmt: skip
        product[name] = [_check_setting(where, f"grid.{key}[{i}]", name, v) for i, v in enumerate(values)]
        check_unique(product[name], where, f"grid.{key}")
    _check_one_spelling(where, "grid", list(product))
    return product


def _check_setting(where: str, location: str, name: str, value: Any) -> Any:
    """Type, range and registry checks of one setting value, with the grid location in the message."""
    if name in AXIS_KEYS:
        raise ConfigError(f"{where}: {location} cannot be set per trial",
                          hint=f"list it at the top of the grid: {AXIS_KEYS[name]} = ...")  # fmt: skip
    if name in SECTIONS and isinstance(value, dict):  # [base.encoder] or encoder = {...}: config.toml's form
        raise ConfigError(f"{where}: {location} must be a component's name but got a table {value!r}",
                          hint=f'in a grid, name it as {name} = "NAME" and give its options as dotted keys: '
                          f'"{name}.OPTION" = VALUE')  # fmt: skip
    if name in EVALUATE_KEYS:
        typed(where, location, value, EVALUATE_KEYS[name])
        if name == "eval_seed":
            check_eval_seed(value, f"{where}: {location}", hint="e.g. eval_seed = 0")
        if name in FORECASTING_KEYS:
            from tscl.forecasting_protocols import ForecastingSetting

            checked(f"{where}: {location}", lambda: ForecastingSetting.from_options(**{name: value}))
    elif not is_setting_key(name):
        raise unknown_key(f"{where}: {location.rsplit('.', 1)[0]}", name, SETTING_KEYS)
    elif name in RunConfig.model_fields and name not in SECTIONS:
        prefix = f"{where}: {location}"
        config = checked(prefix, lambda: config_from_mapping({name: value}, source=prefix))
        value = getattr(config, name)
    else:  # a component or one of its options: checked with the whole trial, which names the component
        checked(f"{where}: {location}", lambda: layer_from_keys({name: value}))
    _check_registered(where, location, name, value)
    return value


def _check_registered(where: str, location: str, name: str, value: Any) -> None:
    valid: list[str] | tuple[str, ...] | None = None
    if name in SECTIONS:
        from tscl.config import registry_of

        valid = registry_of(name).names()
    elif name == "head":
        from tscl.tasks.heads import list_heads

        valid = list_heads()
    elif name == "task":
        from tscl.tasks import list_tasks

        valid = list_tasks()
    elif name == "device":
        from tscl.training.devices import resolve_device

        checked(f"{where}: {location}", lambda: resolve_device(value))
    if valid is not None and value not in valid:
        raise ConfigError(f"{where}: {location} must be one of {', '.join(valid)} but got {value!r}")


def checked(prefix: str, build: Any) -> Any:
    """Run ``build``; a ConfigError it raises gets ``prefix`` (the grid location) in front of its message."""
    try:
        return build()
    except ConfigError as exc:
        if exc.message.startswith(prefix):
            raise
        raise ConfigError(f"{prefix}: {exc.message}", hint=exc.hint) from None
