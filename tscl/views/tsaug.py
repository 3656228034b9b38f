"""Hand-crafted views from a tsaug pipeline chosen by name (``jitter,scaling,timewarp,...``).

Every transform gets its own seed per call (drawn by the caller from its generator), passed to tsaug's
``seed`` argument: nothing reads numpy's global random state. Missing values are handled as a per-channel
observed mask that travels with the series (tsaug's segmentation-mask argument ``Y``): values are filled with
0 by assignment before augmenting, time-moving transforms (``timewarp``, ``crop``) move the mask with the
values, and entries whose mask is off come out as NaN again. Value transforms touch only the channels from
``n_covariates`` on (calendar covariates stay exact); time-moving ones move every channel, covariates
included, so the calendar stays consistent with the warped values.

Alignment: value transforms keep the view aligned with the input in time. ``timewarp`` and ``crop`` do not
(``crop`` cuts 80 % of the series and resizes it back to the full length, so shapes still match): they can
only be combined with instance-level losses (infonce, dcl, siglip), and :class:`ViewPipeline` reports
``time_aligned = False`` so that objectives reject them with time-aligned losses (hierarchical).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator
from torch import Tensor

from tscl.errors import ConfigError
from tscl.registry import Options, check_options

__all__ = ["TRANSFORMS", "TsaugViews", "ViewPipeline", "list_transforms", "parse_augmentations"]


class _Scaling:
    """Multiply each channel of each series by a factor ~ N(1, sigma^2) (not in tsaug)."""

    def __init__(self, sigma: float, seed: int) -> None:
        self.sigma = sigma
        self.seed = seed

    def augment(self, X: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return X * rng.normal(1.0, self.sigma, size=(X.shape[0], 1, X.shape[2]))


@functools.cache
def _tsaug_module() -> Any:
    """tsaug, imported once without the DeprecationWarning it triggers in scipy (``scipy.ndimage.filters``),
    which ``-W error`` (or a test suite's filter) would turn into a failure of every tsaug view."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import tsaug
    return tsaug


def _tsaug(name: str, **params: Any) -> Callable[[int, int], Any]:
    def build(length: int, seed: int) -> Any:
        tsaug = _tsaug_module()
        values = {k: (v(length) if callable(v) else v) for k, v in params.items()}
        return getattr(tsaug, name)(**values, seed=seed)

    return build


@dataclass(frozen=True)
class Transform:
    """A named transform: ``build(length, seed)`` gives an object with ``augment(X[, Y])``."""

    build: Callable[[int, int], Any]
    moves_time: bool
    summary: str


TRANSFORMS: dict[str, Transform] = {
    "jitter": Transform(
        _tsaug("AddNoise", scale=0.1, normalize=False), False, "add Gaussian noise, std 0.1 (z-scored data)"
    ),
    "scaling": Transform(lambda length, seed: _Scaling(0.1, seed), False, "per-channel factor ~ N(1, 0.1^2)"),
    "drift": Transform(
        _tsaug("Drift", max_drift=0.5, n_drift_points=3), False, "smooth random drift, up to 0.5 of the range"
    ),
    "dropout": Transform(
        _tsaug("Dropout", p=0.1, size=1, fill=0.0, per_channel=True), False, "10 % of values set to 0"
    ),
    "quantize": Transform(_tsaug("Quantize", n_levels=20), False, "round to 20 uniform levels"),
    "pool": Transform(_tsaug("Pool", kind="ave", size=3), False, "average pooling, window 3"),
    "convolve": Transform(_tsaug("Convolve", window="hann", size=7), False, "Hann smoothing, window 7"),
    "timewarp": Transform(
        _tsaug("TimeWarp", n_speed_change=3, max_speed_ratio=2.0), True, "random speed changes, ratio <= 2"
    ),
    "crop": Transform(
        _tsaug("Crop", size=lambda n: max(2, int(0.8 * n)), resize=lambda n: n),
        True,
        "random 80 % crop resized back to the full length",
    ),
}


def list_transforms() -> list[str]:
    """Names accepted in ``--augmentations``."""
    return sorted(TRANSFORMS)


def parse_augmentations(spec: str | Sequence[str]) -> list[str]:
    """``"jitter, scaling"`` or ``["jitter", "scaling"]`` -> checked list of transform names."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [str(n).strip() for n in spec]
    names = [n for n in names if n]
    if not names:
        raise ConfigError(
            f"augmentations must name at least one transform but got {spec!r}",
            hint=f"valid names: {', '.join(list_transforms())}",
        )
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ConfigError(
            f"augmentations must be among {', '.join(list_transforms())} but got {', '.join(unknown)}",
            hint="separate names with commas, e.g. --set views.augmentations=jitter,scaling,timewarp",
        )
    return names


class ViewPipeline:
    """Apply the named transforms in order to a batch ``[N, T, C]`` (numpy, NaN for missing values).

    Args:
        names: Transform names (see :data:`TRANSFORMS`), applied in this order.
        n_covariates: Leading channels that value transforms leave unchanged.
    """

    def __init__(self, names: str | Sequence[str], n_covariates: int = 0) -> None:
        self.names = parse_augmentations(names)
        self.n_covariates = n_covariates

    @property
    def time_aligned(self) -> bool:
        """Whether views stay aligned in time with the input (no timewarp/crop)."""
        return not any(TRANSFORMS[n].moves_time for n in self.names)

    def __call__(self, x: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
        """One view of ``x`` with one seed per transform; returns float32 of ``x``'s shape."""
        if len(seeds) != len(self.names):
            raise ValueError(f"need {len(self.names)} seeds but got {len(seeds)}")
        observed = ~np.isnan(x)
        values = np.where(observed, x, 0.0).astype(np.float64)
        mask = observed.astype(np.int64)
        cov = self.n_covariates
        for name, seed in zip(self.names, seeds, strict=True):
            transform = TRANSFORMS[name]
            augmenter = transform.build(x.shape[1], int(seed))
            if transform.moves_time:
                values, mask = augmenter.augment(values, mask)
                mask = (np.asarray(mask) > 0.5).astype(np.int64)
            else:
                values[..., cov:] = augmenter.augment(values[..., cov:])
        return np.where(mask > 0, values, np.nan).astype(np.float32)


DEFAULT_AUGMENTATIONS = "jitter,scaling,timewarp"


class TsaugOptions(Options):
    augmentations: str = Field(
        DEFAULT_AUGMENTATIONS,
        description="Comma-separated transforms applied in order: " + ", ".join(sorted(TRANSFORMS)) + ".",
    )

    @field_validator("augmentations")
    @classmethod
    def _known(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        if not names or any(n not in TRANSFORMS for n in names):
            raise ValueError(f"must be comma-separated names among {', '.join(sorted(TRANSFORMS))}")
        return ",".join(names)


class TsaugViews:
    """Two independently augmented views from a tsaug pipeline (jitter, scaling, timewarp, ...).

    A view maker: ``views(x, generator)`` returns two views of ``x`` [B, T, C]; ``time_aligned`` says
    whether they stay aligned with ``x`` in time; ``min_length`` is the shortest series it works on.

    Args:
        n_covariates: Leading (calendar) channels that value transforms leave unchanged.
        augmentations: Comma-separated transform names, applied in order.
    """

    Options = TsaugOptions
    # tsaug's pooling, cropping and time warping need a few steps to work with.
    min_length = 8

    def __init__(self, n_covariates: int = 0, *, augmentations: str = DEFAULT_AUGMENTATIONS) -> None:
        options = check_options(self.Options, {"augmentations": augmentations}, "views", "tsaug")
        self.pipeline = ViewPipeline(options.augmentations, n_covariates=n_covariates)

    @property
    def time_aligned(self) -> bool:
        return self.pipeline.time_aligned

    def views(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Two independently augmented views of ``x`` [B, T, C], seeds drawn from ``generator``."""
        array = x.detach().cpu().numpy()
        seeds = torch.randint(0, 2**31 - 1, (2, len(self.pipeline.names)), generator=generator).tolist()
        first, second = (torch.from_numpy(np.ascontiguousarray(self.pipeline(array, s))) for s in seeds)
        return first.to(x.device), second.to(x.device)
