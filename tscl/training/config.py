"""Pretraining configuration: a frozen dataclass, TOML round-trip, validation with clear errors.

Precedence: defaults < preset (``--preset``) < config file (``--config``) < command-line flags. The resolved
configuration is written
into every run directory as ``config.toml`` and can be re-run with ``tscl pretrain --config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import tomli_w

from tscl.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that determines a pretraining run (``None`` = the protocol's automatic choice)."""

    dataset: str = "GunPoint"
    data_dir: str | None = None
    univariate: bool = False
    time_col: str | None = None
    target: str | None = None
    objective: str = "ts2vec"
    encoder: str | None = None  # None: per task and objective (see tscl.pretraining.task_defaults)
    iters: int | None = None
    epochs: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    repr_dims: int = 320
    hidden_dims: int = 64
    depth: int = 10
    mask_mode: str = "binomial"
    max_train_length: int = 3000
    temporal_unit: int = 0
    alpha: float = 0.5
    seed: int = 42
    device: str = "auto"
    threads: int | None = None
    checkpoint_every: int = 50
    # Objective hyper-parameters: None = the objective's own default (see tscl.objectives.presets).
    preset: str | None = None
    loss: str | None = None
    temperature: float | None = None
    augmentations: str | None = None
    window: int | None = None
    window_batch: int | None = None
    local_weight: float | None = None
    n_segments: int | None = None
    aug_lr: float | None = None
    aug_optimizer: str | None = None
    aug_objective: str | None = None
    ratio_step: int | None = None
    reg_weight: float | None = None
    regular_weight: float | None = None
    aug_hidden_dims: int | None = None
    aug_dims: int | None = None
    mask_temperature: float | None = None
    gamma_zeta: float | None = None
    gumbel_bias: float | None = None
    hard_mask: bool | None = None
    max_scale: float | None = None
    noise_std: float | None = None
    context_crop: bool | None = None
    siglip_bias: float | None = None
    learnable_temperature: bool | None = None

    def __post_init__(self) -> None:
        _check_positive(self, ("batch_size", "repr_dims", "hidden_dims", "max_train_length", "checkpoint_every"))
        for name in ("iters", "epochs", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be a positive integer but got {value}", hint=f"pass --{name} N, N >= 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a finite number > 0 but got {self.lr}", hint="a typical value is 1e-3")
        if self.depth < 0 or self.temporal_unit < 0:
            raise ConfigError("depth and temporal_unit must be >= 0", hint="the defaults are 10 and 0")
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1] but got {self.alpha}")
        _check_objective_options(self)

    def replace(self, **changes: Any) -> PretrainConfig:
        """A copy with ``changes`` applied (``None`` values are ignored: they mean "not given")."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_positive(config: PretrainConfig, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            flag = name.replace("_", "-")
            raise ConfigError(f"{name} must be a positive integer but got {value!r}", hint=f"pass --{flag} N, N >= 1")


def _check_objective_options(config: PretrainConfig) -> None:
    """Range and name checks of the objective hyper-parameters that are set (None = objective default)."""
    from tscl.objectives.options import check_choice, check_int, check_number

    def given(name: str) -> Any:
        return getattr(config, name)

    for name, low in (("window", 2), ("window_batch", 1), ("n_segments", 1), ("ratio_step", 1),
                      ("aug_hidden_dims", 1), ("aug_dims", 1)):  # fmt: skip
        if given(name) is not None:
            check_int(name, given(name), low=low)
    for name in ("temperature", "aug_lr", "mask_temperature"):
        if given(name) is not None:
            check_number(name, given(name), low=0.0, open_low=True)
    for name, high in (("local_weight", None), ("reg_weight", None), ("regular_weight", None),
                       ("noise_std", None), ("gamma_zeta", 1.0), ("gumbel_bias", 0.49)):  # fmt: skip
        if given(name) is not None:
            check_number(name, given(name), low=0.0, high=high)
    if config.max_scale is not None:
        check_number("max_scale", config.max_scale, low=1.0)
    if config.siglip_bias is not None:
        check_number("siglip_bias", config.siglip_bias)
    if config.loss is not None:
        check_choice("loss", config.loss, ("infonce", "dcl", "siglip", "hierarchical"))
    if config.aug_optimizer is not None:
        check_choice("aug_optimizer", config.aug_optimizer, ("adam", "adamw"))
    if config.aug_objective is not None:
        check_choice("aug_objective", config.aug_objective, ("fidelity", "adversarial"))
    if config.augmentations is not None:
        from tscl.augment.pipeline import parse_augmentations

        parse_augmentations(config.augmentations)
    if config.preset is not None:
        from tscl.objectives.presets import get_preset

        get_preset(config.preset)


_FIELD_TYPES = {f.name: f.type for f in fields(PretrainConfig)}


def config_from_mapping(values: dict[str, Any], source: str = "config") -> PretrainConfig:
    """Build a config from a mapping, rejecting unknown keys and mistyped values by name."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in _FIELD_TYPES:
            close = difflib.get_close_matches(name, _FIELD_TYPES, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"valid keys: {', '.join(_FIELD_TYPES)}"
            raise ConfigError(f"{source}: unknown key {key!r}", hint=hint)
        checked[name] = _coerce(name, value, source)
    return PretrainConfig(**checked)


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    wanted: tuple[type, ...]
    if kind.startswith("bool"):
        wanted = (bool,)
    elif kind.startswith("int"):
        wanted = (int,)
    elif kind.startswith("float"):
        wanted = (int, float)
    else:
        wanted = (str,)
    if isinstance(value, bool) and bool not in wanted:
        wanted = ()
    if not isinstance(value, wanted):
        expected = " or ".join(t.__name__ for t in wanted) or kind
        raise ConfigError(
            f"{source}: {name} must be {expected} but got {value!r}", hint="fix the value in the config file"
        )
    return float(value) if kind.startswith("float") else value


def load_config(path: Path) -> PretrainConfig:
    """Read a TOML config file (a run's ``config.toml`` or a hand-written one)."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", hint="pass the path of a .toml file")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="check the file's syntax") from None
    return config_from_mapping(_pretrain_table(values, path), source=str(path))


def _pretrain_table(values: dict[str, Any], path: Path) -> dict[str, Any]:
    """The ``[pretrain]`` table, or the top level of a file without one; nothing else may be in the file."""
    if "pretrain" not in values:
        return values
    stray = [key for key in values if key != "pretrain"]
    if stray or not isinstance(values["pretrain"], dict):
        key = stray[0] if stray else "pretrain"
        raise ConfigError(
            f"{path}: unknown key {key!r} outside the [pretrain] table",
            hint="put every setting inside [pretrain] (see a run's config.toml)",
        )
    return values["pretrain"]


def load_config_values(path: Path) -> dict[str, Any]:
    """The raw key/values of a TOML config file (checked like :func:`load_config`)."""
    load_config(path)
    return dict(_pretrain_table(tomllib.loads(path.read_text(encoding="utf-8")), path))


def resolve_config(
    preset: str | None = None, file_values: dict[str, Any] | None = None, **flags: Any
) -> PretrainConfig:
    """Defaults < preset < config file < flags (``None`` flags mean "not given").

    The preset is the one named by ``preset`` or else by the file's ``preset`` key.
    """
    from tscl.objectives.presets import get_preset

    file_values = dict(file_values or {})
    name = preset if preset is not None else file_values.get("preset")
    values: dict[str, Any] = dict(get_preset(name).values) if name is not None else {}
    values.update(file_values)
    if name is not None:
        values["preset"] = name
    return config_from_mapping(values, source="config").replace(**flags)


def dump_config(config: PretrainConfig) -> str:
    """TOML text of the resolved config (``None`` values are left out: they mean automatic)."""
    values = {k: v for k, v in config.to_dict().items() if v is not None}
    return tomli_w.dumps({"pretrain": values})
