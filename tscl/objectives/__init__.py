"""Pretraining objectives (view maker + loss + optimizer steps), created by name from one registry.

Contract of an objective (built-in or plug-in, entry-point group ``tscl.objectives``): ``factory(setup,
**options)`` with :class:`tscl.objectives.base.Setup` returns an object with ``training_step(x, generator)
-> float``, ``state_dict()`` and ``load_state_dict(state)``; class attributes state what it needs (see
:mod:`tscl.objectives.base`). The model around it owns the encoder, the averaged encoder used for
inference, the random generator and the iteration bookkeeping.
"""

from __future__ import annotations

from typing import Any

from tscl.registry import Registry

__all__ = [
    "DEFAULT_OBJECTIVE",
    "OBJECTIVES",
    "create_objective",
    "get_objective_class",
    "list_objectives",
    "register_objective",
]

DEFAULT_OBJECTIVE = "ts2vec"

# The built-in list: the one place outside their modules where the objectives' names are spelled.
OBJECTIVES: Registry[Any] = Registry(
    "objective",
    "tscl.objectives",
    {
        "ts2vec": "tscl.objectives.ts2vec:TS2VecObjective",
        "autotcl": "tscl.objectives.autotcl:AutoTCLObjective",
        "augment": "tscl.objectives.augment:AugmentObjective",
        "timae": "tscl.objectives.timae:TiMAEObjective",
        "timedrl": "tscl.objectives.timedrl:TimeDRLObjective",
        "comet": "tscl.objectives.comet:CometObjective",
        "dbpm": "tscl.objectives.dbpm:DBPMObjective",
        "rebar": "tscl.objectives.rebar:REBARObjective",
    },
    runtime=("setup",),
)


def register_objective(name: str, factory: Any, options: Any = None, *, replace: bool = False) -> None:
    """Make ``factory(setup, **options)`` available as objective ``name``."""
    OBJECTIVES.register(name, factory, options, replace=replace)


def list_objectives() -> list[str]:
    """Names accepted by :func:`create_objective`."""
    return OBJECTIVES.names()


def create_objective(name: str, setup: Any, **options: Any) -> Any:
    """The objective ``name`` training ``setup.encoder``, built with validated ``options``."""
    return OBJECTIVES.create(name, setup, **options)


def get_objective_class(name: str) -> Any:
    """The factory (class) registered as ``name``: its attributes state what the objective needs and its
    published numbers (``paper``)."""
    return OBJECTIVES.entry(name).factory
