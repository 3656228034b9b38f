"""Classifier heads fitted on frozen instance representations, behind a name -> factory registry.

``svm`` is the TS2Vec protocol (Yue et al., AAAI 2022): an RBF SVM whose C is either infinite (tiny training
sets) or chosen by 5-fold grid search. ``logistic`` and ``knn`` are the alternatives the paper also offers.
Every head exposes per-class scores ``[M, n_classes]`` for AUPRC, whatever classes its training set held
(see :class:`~tscl.tasks.heads.base.ClassifierHead`), and declares its options class; ``seed`` and
``n_jobs`` are runtime arguments, not options. Third-party heads are found through the ``tscl.heads``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tscl.registry import Options, Registry
from tscl.tasks.heads.base import ClassifierHead

__all__ = ["DEFAULT_HEAD", "HEADS", "ClassifierHead", "create_head", "list_heads", "register_head"]

HEADS: Registry[ClassifierHead] = Registry(
    "head",
    "tscl.heads",
    {
        "svm": "tscl.tasks.heads.svm:SVMHead",
        "logistic": "tscl.tasks.heads.logistic:LogisticHead",
        "knn": "tscl.tasks.heads.knn:NearestNeighbourHead",
    },
    runtime=("seed", "n_jobs"),
)
DEFAULT_HEAD = "svm"  # the published protocol's head


def register_head(
    name: str, factory: Callable[..., ClassifierHead], options: type[Options] | None = None, *, replace: bool = False
) -> None:
    """Add a head at run time; ``factory(seed, n_jobs, **options)`` builds it."""
    HEADS.register(name, factory, options, replace=replace)


def list_heads() -> list[str]:
    """Names of every available classifier head, sorted."""
    return HEADS.names()


def create_head(name: str, seed: int = 0, n_jobs: int = 1, **options: Any) -> ClassifierHead:
    """Build a classifier head by registry name.

    Args:
        name: A registered head.
        seed: Seed of the head's random choices.
        n_jobs: Threads for heads that can use them (the SVM's grid search fits its folds in parallel; the
            result does not depend on it); the others ignore it.
        options: The head's options (see its options class).

    Raises:
        ConfigError: ``name`` is not registered (the message lists the valid names), or an option is
            unknown or out of range (the message names it).
    """
    return HEADS.create(name, seed, n_jobs, prefix="head", **options)
