"""View makers, created by name from one registry, and the view helpers objectives share.

Contract of a view maker (built-in or plug-in, entry-point group ``tscl.views``):
``factory(n_covariates, **options)`` returns an object with ``views(x, generator) -> (v1, v2)`` mapping a
batch ``[B, T, C]`` (NaN for missing values; the first ``n_covariates`` channels are calendar covariates)
to two views of the same shape, drawing every random choice from ``generator``; a ``time_aligned``
attribute (False when views move in time, so losses that need aligned views are refused) and optionally
``min_length`` (shortest series it works on). Also here: TS2Vec's crops (:mod:`tscl.views.crop`), random
training windows (:mod:`tscl.views.windows`) and AutoTCL's augmentation network
(:mod:`tscl.views.augmenter`), which belong to their objectives' own view making.
"""

from __future__ import annotations

from typing import Any

from tscl.registry import Registry

__all__ = ["VIEWS", "create_views", "list_views", "register_views"]

VIEWS: Registry[Any] = Registry(
    "view maker", "tscl.views", {"tsaug": "tscl.views.tsaug:TsaugViews"}, runtime=("n_covariates",), section="views"
)


def register_views(name: str, factory: Any, options: Any = None, *, replace: bool = False) -> None:
    """Make ``factory(n_covariates, **options)`` available as view maker ``name``."""
    VIEWS.register(name, factory, options, replace=replace)


def list_views() -> list[str]:
    """Names of the available view makers."""
    return VIEWS.names()


def create_views(name: str, n_covariates: int = 0, **options: Any) -> Any:
    """The view maker ``name`` for data with ``n_covariates`` leading covariate channels."""
    return VIEWS.create(name, n_covariates, **options)
