"""Train / validation / test splits of grouped samples: no group in two parts, stratified by label, seeded.

``split_by`` says which id is the group: ``subject`` (no subject in two parts: the honest protocol for
recordings of people), ``trial`` (no recording in two parts) or ``random`` (each sample is its own group:
windows of one recording land in every part, so scores are optimistic; :func:`split_warnings` says so, and
``tscl data info``, ``tscl pretrain`` and ``tscl evaluate`` print it).

The assignment is greedy: groups in a seeded random order, each to the part whose per-class
target (``fractions`` of each class's samples) it fills the most, relative to the target. An empty part
always wins, so every part gets a group when there are enough; per-class proportions hold as far as the
groups' own class mixes allow ("stratified where possible").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tscl.errors import ConfigError, DataError

__all__ = ["PARTS", "SPLIT_KINDS", "assign_parts", "group_keys", "split_record", "split_warnings", "parts_from_record"]

PARTS = ("train", "valid", "test")
SPLIT_KINDS = ("subject", "trial", "random")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)
RANDOM_SPLIT_WARNING = (
    "grouped data with a random split (--split-by random): windows of one subject (and of one recording) are in "
    "both training and test, so test scores are optimistic; --split-by subject gives the honest number"
)


def check_split_by(split_by: str) -> str:
    if split_by not in SPLIT_KINDS:
        raise ConfigError(f"split_by must be one of {', '.join(SPLIT_KINDS)} but got {split_by!r}",
                          hint="--split-by subject keeps every subject in one part")  # fmt: skip
    return split_by


def split_warnings(record: Mapping[str, Any] | None) -> list[str]:
    """What the user must be told about a split (a record with ``split_by``; None: data without groups)."""
    return [RANDOM_SPLIT_WARNING] if record and record.get("split_by") == "random" else []


def group_keys(split_by: str, subjects: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """The group of each sample for ``split_by``: its subject, its ``subject/trial``, or its own index."""
    check_split_by(split_by)
    if split_by == "subject":
        return np.asarray(subjects, dtype=object)
    if split_by == "trial":
        return np.asarray([f"{s}/{t}" for s, t in zip(subjects, trials, strict=True)], dtype=object)
    return np.arange(len(subjects)).astype(str).astype(object)


def assign_parts(
    groups: np.ndarray, labels: np.ndarray | None, seed: int, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Part index (0 train, 1 valid, 2 test) of every sample; all samples of a group share one part.

    Args:
        groups: ``[N]`` group id of each sample.
        labels: ``[N]`` int labels to stratify on, or None.
        seed: Seed of the group order.
        fractions: Target share of each part (summing to 1).

    Raises:
        DataError: Fewer groups than parts with a positive share.
    """
    share = np.asarray(fractions, dtype=np.float64)
    unique, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    wanted = int((share > 0).sum())
    if len(unique) < wanted:
        raise DataError(
            f"a group-independent split must have at least {wanted} groups but the data has {len(unique)}",
            hint="split by a finer id (--split-by trial or random), or add data from more groups",
        )
    y = np.zeros(len(inverse), dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    n_classes = int(y.max()) + 1 if len(y) else 1
    counts = np.zeros((len(unique), n_classes))
    np.add.at(counts, (inverse, y), 1)
    target = share[:, None] * counts.sum(axis=0)[None, :]  # [P, K]
    have = np.zeros_like(target)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(unique))
    part_of_group = np.zeros(len(unique), dtype=np.int64)
    for g in order:
        relative = (target - have) / np.maximum(target, 1e-12)  # [P, K], 1 for an empty part
        score = (relative * counts[g][None, :]).sum(axis=1) / counts[g].sum()
        score = np.where(share > 0, score, -np.inf)
        best = np.flatnonzero(np.isclose(score, score.max()))
        part = int(best[np.argmax(share[best])])
        part_of_group[g] = part
        have[part] += counts[g]
    return part_of_group[inverse]


def split_record(split_by: str, seed: int, groups: np.ndarray, parts: np.ndarray) -> dict[str, Any]:
    """JSON-able description of a split (written into the run): which groups went to which part."""
    record: dict[str, Any] = {"split_by": split_by, "seed": seed}
    for index, name in enumerate(PARTS):
        record[name] = sorted({str(g) for g in np.asarray(groups)[parts == index]}, key=_natural)
    return record


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in text.replace("/", " / ").split())


def parts_from_record(record: Mapping[str, Any], groups: np.ndarray, where: str) -> np.ndarray:
    """Part of every sample by a stored split record; every group must be in exactly one part."""
    part_of: dict[str, int] = {}
    for index, name in enumerate(PARTS):
        for group in record.get(name, []):
            part_of[str(group)] = index
    missing = sorted({str(g) for g in groups} - set(part_of))
    if missing:
        raise DataError(
            f"the split stored in {where} must place every group but {len(missing)} are not in it "
            f"(e.g. {missing[0]!r})",
            hint="evaluate the data the run was pretrained on, or pass --split-by to make a new split",
        )
    return np.asarray([part_of[str(g)] for g in groups], dtype=np.int64)
