"""The run configuration: run settings plus one ``{name, options}`` section per pluggable kind.

A configuration file (and every run's ``config.toml``) reads::

    dataset = "BasicMotions"
    iters = 200
    [objective]
    name = "augment"
    [objective.options]
    window = 64
    [views]
    name = "tsaug"
    [views.options]
    augmentations = "jitter,drift"
    [loss]
    name = "dcl"
    [loss.options]
    temperature = 0.2

Sections are ``encoder``, ``objective``, ``loss`` and ``views``; each section's options are validated by the
options class of the component it names (:mod:`tscl.registry`), so a typo fails with the list of valid keys.
A section without a name takes the objective's default for the dataset's task (see
:mod:`tscl.objectives.base`), resolved by :func:`resolve_for_task` once the data is known; a run directory
records the fully resolved configuration, every option included.

Precedence: defaults < the objective's task defaults < preset < config file < flags (``--set`` last). When a
higher layer names another component in a section, the lower layers' options of that section are dropped:
they belonged to the component it replaces. Files written by tscl 0.1 (a flat ``[pretrain]`` table) are
migrated on load (:mod:`tscl.config_migration`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from tscl.config_migration import LEGACY_PATHS, is_legacy, migrate_legacy, nest
from tscl.errors import ConfigError
from tscl.seeds import MAX_SEED, SEED_RANGE

if TYPE_CHECKING:
    from typing_extensions import Self

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "SECTIONS",
    "RunConfig",
    "Section",
    "check_one_target",
    "config_from_mapping",
    "config_layer",
    "dump_config",
    "is_setting_key",
    "layer_from_keys",
    "load_config",
    "load_config_values",
    "merge_layers",
    "parse_set",
    "resolve_config",
    "resolve_for_task",
]

SECTIONS = ("encoder", "objective", "loss", "views")

# What a RunConfig being validated was read from, named in its errors (pydantic calls __init__ for every
# validation, so the reader says it here); None: built by hand, RunConfig(...).
_SOURCE: ContextVar[str | None] = ContextVar("config_source", default=None)


class Section(BaseModel):
    """One pluggable component of a run: its registered ``name`` (None: the default) and its ``options``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class RunConfig(BaseModel):
    """Everything that determines a pretraining run (``None`` = the protocol's automatic choice)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)

    dataset: str = Field("GunPoint", description="Catalog name or path of the data.")
    data_dir: str | None = Field(None, description="Folder searched for dataset files.")
    univariate: bool = Field(False, description="Forecasting: the target column only.")
    time_col: str | None = Field(None, description="Time column of a forecasting CSV.")
    target: str | None = Field(None, description="Target column of a forecasting CSV.")
    recording_window: int | None = Field(
        None, ge=2, description="Grouped data: windows of this many steps are cut from each recording (--window)."
    )
    recording_stride: int | None = Field(
        None, ge=1, description="Grouped data: steps between windows (--stride; default: the window)."
    )
    split_by: str | None = Field(None, description="Grouped data: subject (default), trial or random split.")
    split_seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Grouped data: seed of the split (None: 0).")
    iters: int | None = Field(None, ge=1, description="Total iterations (None: 200, or 600 for >100k values).")
    epochs: int | None = Field(None, ge=1, description="Total epochs, instead of iterations.")
    batch_size: int = Field(8, ge=1, description="Series per iteration.")
    lr: float = Field(1e-3, gt=0, allow_inf_nan=False, description="Learning rate of the encoder's optimizer.")
    max_train_length: int | None = Field(
        3000, ge=2, description="Longer series are cut into sections of this length, >= 2 (None: never)."
    )
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Seed of every random choice.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch (None: torch's choice).")
    checkpoint_every: int = Field(50, ge=1, description="Save a checkpoint every N iterations.")
    gather_negatives: bool = Field(
        False, description="Several processes (torchrun): contrast each view against every rank's batch."
    )
    preset: str | None = Field(None, description="Published settings applied below the file and the flags.")
    encoder: Section = Field(default_factory=Section)
    objective: Section = Field(default_factory=lambda: Section(name=_default_objective()))
    loss: Section = Field(default_factory=Section)
    views: Section = Field(default_factory=Section)

    # Built by hand (the Python API), a bad value raises ConfigError naming the key, as in a config file, and
    # a preset's settings apply below the ones given (readers apply them themselves, see config_layer).
    @field_validator("data_dir")
    @classmethod
    def _data_dir_not_empty(cls, value: str | None) -> str | None:
        """An empty value would silently mean the default search: refused, as ``--data-dir ""`` is."""
        if value is not None and not value.strip():
            raise PydanticCustomError("empty_data_dir", "must be a folder, not an empty value (None: default search)")
        return value

    def __init__(self, **values: Any) -> None:
        from tscl.registry import plain

        source = _SOURCE.get()
        if source is None and values.get("preset") is not None:
            values = config_layer(file_values=values)
        try:
            super().__init__(**plain(values))
        except ValidationError as exc:
            raise _config_error(exc, source or "RunConfig") from None

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """A config from a mapping read like a config file: nested sections or tscl 0.1's flat keys, a
        ``preset``'s settings below the ones given, each section's name and options checked against its
        component; a bad value raises ConfigError naming it."""
        if isinstance(obj, cls) or any(value is not None for value in options.values()):
            return super().model_validate(obj, **options)  # pydantic's, through __init__
        if not isinstance(obj, Mapping):
            raise ConfigError(f"RunConfig must be made from a mapping but got {type(obj).__name__}")
        values = migrate_legacy(obj) if is_legacy(obj) else dict(obj)
        if values.get("preset") is not None:  # its settings below the ones given, as in a config file
            values = config_layer(file_values=values)
        return cast("Self", config_from_mapping(values, source="RunConfig"))

    def __setattr__(self, name: str, value: Any) -> None:
        raise ConfigError(
            f"RunConfig is frozen but got an assignment to {name}",
            hint=f"config.replace({name}=...) makes a copy with it changed",
        )

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with top-level ``changes`` applied (``None`` values are ignored: they mean "not given")."""
        values = {k: v for k, v in changes.items() if v is not None}
        return config_from_mapping(merge_layers(self.to_dict(), values), source="config")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def flat(self) -> dict[str, Any]:
        """Every setting under its ``--set`` key: run fields, ``section`` (the name), ``section.option``."""
        flat: dict[str, Any] = {}
        for key, value in self.to_dict().items():
            if key in SECTIONS:
                flat[key] = value["name"]
                flat.update({f"{key}.{option}": v for option, v in value["options"].items()})
            else:
                flat[key] = value
        return flat


def _default_objective() -> str:
    from tscl.objectives import DEFAULT_OBJECTIVE

    return DEFAULT_OBJECTIVE


def config_from_mapping(values: Mapping[str, Any], source: str = "config") -> RunConfig:
    """A validated config from a (nested or tscl 0.1 flat) mapping; unknown keys fail by name."""
    values = migrate_legacy(values) if is_legacy(values) else dict(values)
    objective = values.get("objective")
    if isinstance(objective, Mapping) and objective.get("name") is None:
        from tscl.objectives import DEFAULT_OBJECTIVE

        values["objective"] = {**objective, "name": DEFAULT_OBJECTIVE}
    token = _SOURCE.set(source)
    try:
        config = RunConfig(**values)
    finally:
        _SOURCE.reset(token)
    check_sections(config)
    return config


# Run settings whose command-line flag is not the key's name.
_FLAG_OF = {"recording_window": "window", "recording_stride": "stride"}
_SEEDS = ("seed", "split_seed")


def _config_error(exc: ValidationError, source: str) -> ConfigError:
    from tscl.registry import unknown_option_error

    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        prefix, _, name = key.rpartition(".")
        hint: str | None
        if prefix in SECTIONS:  # the only nested keys: a section's
            hint = f"the {prefix} section takes only name and options: put {name!r} under {prefix}.options"
        else:
            hint = unknown_option_error("", name, "the run configuration", list(RunConfig.model_fields)).hint
        return ConfigError(f"{source}: unknown key {key!r}", hint=hint)
    message = f"must be {SEED_RANGE}" if key in _SEEDS else str(error["msg"]).replace("Input should be", "must be")
    where = "" if source == "config" else f"{source}: "
    flag = _FLAG_OF.get(key, key.split(".")[0]).replace("_", "-")
    hint = f"check --{flag} or `{key}` in the config file" if key in RunConfig.model_fields else "fix the value"
    return ConfigError(f"{where}{key} {message} but got {error.get('input')!r}", hint=hint)


def check_sections(config: RunConfig) -> None:
    """Validate each named section's options against its component (unnamed ones wait for the task)."""
    from tscl.registry import Registry

    for section in SECTIONS:
        spec: Section = getattr(config, section)
        if spec.name is not None:
            registry: Registry[Any] = registry_of(section)
            registry.entry(spec.name).validate(spec.options, section)


_REGISTRIES = {
    "encoder": "tscl.encoders:ENCODERS",
    "objective": "tscl.objectives:OBJECTIVES",
    "loss": "tscl.losses:LOSSES",
    "views": "tscl.views:VIEWS",
}


def registry_of(section: str) -> Any:
    """The registry of the components a section names."""
    import importlib

    module, _, attribute = _REGISTRIES[section].partition(":")
    return getattr(importlib.import_module(module), attribute)


# -- layers -------------------------------------------------------------------------------------------------
def merge_layers(lower: Mapping[str, Any], higher: Mapping[str, Any]) -> dict[str, Any]:
    """``higher`` over ``lower``; a section naming another component drops the lower layer's options."""
    merged = dict(lower)
    for key, value in higher.items():
        if key in SECTIONS and isinstance(value, Mapping):
            below = dict(merged.get(key) or {})
            if value.get("name") is not None and below.get("name") not in (None, value["name"]):
                below = {}
            options = {**(below.get("options") or {}), **(value.get("options") or {})}
            name = value.get("name") if value.get("name") is not None else below.get("name")
            # Keys other than name and options are kept, so that validation names them instead of dropping them.
            extra = {k: v for k, v in value.items() if k not in ("name", "options")}
            merged[key] = {**extra, "name": name, "options": options}
        else:
            merged[key] = value
    return merged


def is_setting_key(key: str) -> bool:
    """Whether ``key`` names a setting: a run field, ``section`` (its name), ``section.option``, or a
    tscl 0.1 flat key (``aug_lr``)."""
    section, dot, option = key.partition(".")
    if section in SECTIONS:
        return bool(option) or not dot
    return not dot and (key in RunConfig.model_fields or key in LEGACY_PATHS)


def layer_from_keys(values: Mapping[str, Any], where: str = "--set") -> dict[str, Any]:
    """Settings keyed like ``--set`` (``lr``, ``loss``, ``loss.temperature``, tscl 0.1's ``aug_lr``) as a
    nested layer; an unknown key fails with the valid forms."""
    layer: dict[str, Any] = {}
    for key, value in values.items():
        key = key.strip().replace("-", "_")
        if not is_setting_key(key):
            valid = [k for k in RunConfig.model_fields if k not in SECTIONS] + [f"{s}.OPTION" for s in SECTIONS]
            raise ConfigError(f"{where}: unknown key {key!r}", hint=f"valid keys: {', '.join(valid)}")
        section, dot, option = key.partition(".")
        if section in SECTIONS:
            spec = {"options": {option: value}} if dot else {"name": value}
            layer = merge_layers(layer, {section: spec})
        else:
            layer = merge_layers(layer, nest({key: value}))
    return layer


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """``--set`` items (``key=value``, ``section=name``, ``section.option=value``) as a nested layer.

    Values are read as TOML values (``0.01``, ``true``, ``[1, 2]``, ``"text"``); anything else is a string,
    so ``--set objective.aug_optimizer=adamw`` needs no quotes.
    """
    layer: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set must be KEY=VALUE but got {item!r}", hint="e.g. --set objective.aug_lr=0.01")
        layer = merge_layers(layer, layer_from_keys({key: _toml_value(text.strip())}, f"--set {key.strip()}"))
    return layer


def parse_key_values(items: Iterable[str], flag: str = "--set", example: str = "finetune_lr=3e-4") -> dict[str, Any]:
    """Flat ``KEY=VALUE`` items (dashes in keys read as underscores), values read as in :func:`parse_set`."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} must be KEY=VALUE but got {item!r}", hint=f"e.g. {flag} {example}")
        values[key.strip().replace("-", "_")] = _toml_value(text.strip())
    return values


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def resolve_config(
    preset: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    sets: Iterable[str] = (),
) -> RunConfig:
    """Defaults < preset < config file < flags < ``--set`` (``None`` flags mean "not given"), for a new run.

    The preset is the one named by ``preset`` or else by the file's ``preset`` key. A new run trains to one
    target: ``iters`` or ``epochs`` (a layer giving one replaces the other of the layers below).
    """
    config = config_from_mapping(config_layer(preset, file_values, flags, sets), source="config")
    check_one_target(config)
    return config


def check_one_target(config: RunConfig) -> None:
    """A new run trains to one target: ConfigError when ``config`` gives both ``iters`` and ``epochs``."""
    if config.iters is not None and config.epochs is not None:
        raise ConfigError(
            f"a new run must be given iters or epochs, not both, but got iters {config.iters} and epochs "
            f"{config.epochs}",
            hint="give one of --iters and --epochs (in a config file or --set: one of iters and epochs)",
        )


def config_layer(
    preset: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    sets: Iterable[str] = (),
) -> dict[str, Any]:
    """The settings given, as one nested layer: preset < config file < flags < ``--set`` (no defaults).

    A layer giving one of ``iters`` and ``epochs`` (a target) drops the other from the layers below.
    """
    from tscl.objectives.presets import preset_layer

    file_layer = dict(file_values or {})
    name = preset if preset is not None else file_layer.get("preset")
    layers = [preset_layer(name) if name is not None else {}, file_layer, dict(flags or {}), parse_set(sets)]
    values: dict[str, Any] = {}
    for layer in layers:
        given = {k: v for k, v in layer.items() if v is not None}
        for target, other in (("iters", "epochs"), ("epochs", "iters")):
            if target in given and other not in given:
                values.pop(other, None)
        values = merge_layers(values, given)
    if name is not None:
        values["preset"] = name
    return values


def resolve_for_task(config: RunConfig, task: str) -> RunConfig:
    """``config`` with every section named and every option set, for data of ``task``.

    Names and options not given come from the objective's ``task_defaults`` for ``task``, then from its
    ``default_encoder`` / ``default_loss`` / ``default_views``, then from each component's options class.
    """
    from tscl.encoders import DEFAULT_ENCODER
    from tscl.objectives import get_objective_class

    objective = get_objective_class(str(config.objective.name))
    # A wrapper objective (needs_of) needs what the objective it wraps needs, chosen by its options.
    needs_of = getattr(objective, "needs_of", None)
    if callable(needs_of):
        objective = needs_of(config.objective.options)
    explicit = {section: getattr(config, section).model_dump() for section in SECTIONS}
    if getattr(objective, "default_views", None) is None and (config.views.name or config.views.options):
        raise ConfigError(
            f"views must not be set for objective {config.objective.name} (it makes its own views)",
            hint="drop the [views] section, or use an objective that takes a view maker",
        )
    if getattr(objective, "default_loss", None) is None and (config.loss.name or config.loss.options):
        raise ConfigError(
            f"loss must not be set for objective {config.objective.name} (it has a loss of its own)",
            hint="drop --loss and the [loss] section; the objective's options set its loss",
        )
    defaults = {
        "encoder": {"name": getattr(objective, "default_encoder", DEFAULT_ENCODER)},
        "loss": {"name": getattr(objective, "default_loss", None)},
        "views": {"name": getattr(objective, "default_views", None)},
    }
    layered = merge_layers(merge_layers(defaults, getattr(objective, "task_defaults", {}).get(task, {})), explicit)
    resolved: dict[str, Any] = {}
    for section in SECTIONS:
        spec = layered.get(section) or {}
        if spec.get("name") is None:
            resolved[section] = {}
            continue
        entry = registry_of(section).entry(spec["name"])
        resolved[section] = {"name": spec["name"], "options": entry.validate(spec["options"], section).model_dump()}
    return config.model_copy(update={s: Section(**resolved[s]) for s in SECTIONS})


# -- files --------------------------------------------------------------------------------------------------
def load_config_values(path: Path) -> dict[str, Any]:
    """The key/values of a TOML config file as a nested layer (a tscl 0.1 file is migrated)."""
    if path.is_dir():
        inside = path / "config.toml"
        hint = f"pass the run's {inside}" if inside.is_file() else "pass the path of a .toml file, e.g. RUN/config.toml"
        raise ConfigError(f"config file {path} must be a file but is a directory", hint=hint)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", hint="pass the path of a .toml file")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="check the file's syntax") from None
    values = migrate_legacy(values) if is_legacy(values) else values
    config_from_mapping(values, source=str(path))  # fail on a bad file now, naming it
    return values


def load_config(path: Path) -> RunConfig:
    """Read a TOML config file (a run's ``config.toml`` or a hand-written one)."""
    return config_from_mapping(load_config_values(path), source=str(path))


def dump_config(config: RunConfig) -> str:
    """TOML text of the config (``None`` values are left out: they mean automatic)."""
    values: dict[str, Any] = {}
    for key, value in config.to_dict().items():
        if key in SECTIONS:
            if value["name"] is not None:
                values[key] = {"name": value["name"], "options": _without_none(value["options"])}
        elif value is not None:
            values[key] = value
    return tomli_w.dumps(values)


def _without_none(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items() if v is not None}
