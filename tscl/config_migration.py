"""Reading what tscl 0.1 wrote: flat configuration keys -> the nested run configuration.

tscl 0.1 kept every hyper-parameter as a flat key of one ``[pretrain]`` table (``repr_dims``, ``loss``,
``aug_lr``, ...), in config files, run directories, sweep grids and checkpoints. :data:`LEGACY_PATHS` says
where each one lives now; the same table turns tscl 0.1 flags into hints (``--aug-lr`` is now
``--set objective.aug_lr=...``) and maps the Python API's convenience keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LEGACY_PATHS", "is_legacy", "legacy_flag_hint", "migrate_legacy", "nest"]

_OBJECTIVE_OPTIONS = (
    "window", "window_batch", "local_weight", "n_segments", "aug_lr", "aug_optimizer", "aug_objective",
    "ratio_step", "reg_weight", "regular_weight", "aug_hidden_dims", "aug_dims", "mask_temperature",
    "gamma_zeta", "gumbel_bias", "hard_mask", "max_scale", "noise_std", "context_crop",
)  # fmt: skip

# Flat tscl 0.1 key -> (section, option) of the nested configuration; option None = the section's name.
LEGACY_PATHS: dict[str, tuple[str, str | None]] = {
    "encoder": ("encoder", None),
    "repr_dims": ("encoder", "repr_dims"),
    "hidden_dims": ("encoder", "hidden_dims"),
    "depth": ("encoder", "depth"),
    "mask_mode": ("encoder", "mask_mode"),
    "objective": ("objective", None),
    "loss": ("loss", None),
    "alpha": ("loss", "alpha"),
    "temporal_unit": ("loss", "temporal_unit"),
    "temperature": ("loss", "temperature"),
    "siglip_bias": ("loss", "bias"),
    "learnable_temperature": ("loss", "learnable"),
    "augmentations": ("views", "augmentations"),
    **{name: ("objective", name) for name in _OBJECTIVE_OPTIONS},
}


def is_legacy(values: Mapping[str, Any]) -> bool:
    """Whether ``values`` is in the flat tscl 0.1 form (a ``[pretrain]`` table or flat component keys)."""
    if "pretrain" in values:
        return True
    return any(key in LEGACY_PATHS and not isinstance(value, Mapping) for key, value in values.items())


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat keys moved to their sections (other keys kept as they are), as a configuration layer."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        path = LEGACY_PATHS.get(key)
        if path is None or isinstance(value, Mapping):
            nested[key] = value
            continue
        section, option = path
        spec = nested.setdefault(section, {"name": None, "options": {}})
        if option is None:
            spec["name"] = value
        else:
            spec["options"][option] = value
    return nested


def migrate_legacy(values: Mapping[str, Any]) -> dict[str, Any]:
    """A tscl 0.1 mapping as a nested configuration layer, with the same meaning.

    tscl 0.1 passed the loss settings it had (always ``alpha`` and ``temporal_unit``) to whichever loss was
    used, which ignored the ones it does not take; so do we, by dropping them. The migrated values are
    validated like any others afterwards.
    """
    table = values.get("pretrain", values)
    stray = [key for key in values if key != "pretrain"] if "pretrain" in values else []
    if stray or not isinstance(table, Mapping):
        from tscl.errors import ConfigError

        raise ConfigError(
            f"unknown key {(stray or ['pretrain'])[0]!r} outside the [pretrain] table",
            hint="put every setting inside [pretrain] (see a tscl 0.1 run's config.toml)",
        )
    nested = nest(table)
    loss = nested.get("loss")
    if loss and loss["options"]:
        loss["options"] = _taken_by_loss(loss, nested)
    for section in [s for s, spec in nested.items() if isinstance(spec, dict) and spec.get("name", 0) is None]:
        if not nested[section]["options"]:
            del nested[section]
    return nested


def _taken_by_loss(loss: dict[str, Any], nested: Mapping[str, Any]) -> dict[str, Any]:
    from tscl.losses import LOSSES
    from tscl.objectives import DEFAULT_OBJECTIVE, get_objective_class

    name = loss["name"]
    if name is None:
        objective = (nested.get("objective") or {}).get("name") or DEFAULT_OBJECTIVE
        name = getattr(get_objective_class(objective), "default_loss", None)
    if name is None or name not in LOSSES:
        return dict(loss["options"])
    accepted = LOSSES.entry(name).options.model_fields
    return {key: value for key, value in loss["options"].items() if key in accepted}


def legacy_flag_hint(flag: str) -> str | None:
    """For a tscl 0.1 flag that is gone (``--aug-lr``), how to say it now; None for other flags."""
    key = flag.lstrip("-").replace("-", "_")
    for prefix in ("no_", "soft_", "fixed_", "whole_"):
        if key.startswith(prefix) and key[len(prefix) :] in LEGACY_PATHS:
            key = key[len(prefix) :]
    aliases = {"soft_mask": "hard_mask", "fixed_temperature": "learnable_temperature", "whole_views": "context_crop"}
    key = aliases.get(key, key)
    if key not in LEGACY_PATHS:
        return None
    section, option = LEGACY_PATHS[key]
    path = section if option is None else f"{section}.{option}"
    return f"{flag} is now `--set {path}=VALUE`"
