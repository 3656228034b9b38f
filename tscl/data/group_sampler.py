"""A group-aware batch order: every batch holds same-trial pairs and same-subject pairs from two trials.

Id-level contrast (COMET's trial and patient levels) sees a positive only when a batch holds two samples
with the same id; with a random order and many subjects, most batches hold none. This sampler orders an
epoch in *blocks* of four rows of one subject: a pair of rows of one trial, then a pair of another trial
while the subject has pairs left in two trials (round robin over its trials), else of the same trial.
Blocks are shuffled, so batches mix subjects. Cut into consecutive batches of ``batch_size >= 8`` rows,
every full batch starts with a whole block - so it holds a same-trial pair, and a same-subject pair across
two trials whenever that block has one - while blocks last; rows that fill no block (odd counts) are spread
evenly over the batches, so blocks last as long as they are at least as many as the batches. Every row
appears once per epoch.
"""

from __future__ import annotations

import numpy as np

from tscl.errors import ConfigError

__all__ = ["BLOCK", "MIN_BATCH", "group_batch_order"]

MIN_BATCH = 8  # a block of 4 plus room for rows that fill no block
BLOCK = 4


def _trial_pairs(rows: np.ndarray, trials: np.ndarray, rng: np.random.Generator) -> tuple[list[list[int]], list[int]]:
    """Pairs of rows of one trial for each trial of one subject (shuffled), interleaved across trials, and
    the rows left over (one per trial with an odd count)."""
    by_trial: list[list[list[int]]] = []
    singles: list[int] = []
    for trial in rng.permutation(np.unique(trials[rows])):
        members = rng.permutation(rows[trials[rows] == trial]).tolist()
        if len(members) % 2:
            singles.append(members.pop())
        by_trial.append([members[i : i + 2] for i in range(0, len(members), 2)])
    pairs: list[list[int]] = []
    while any(by_trial):  # round robin: consecutive pairs come from different trials while there are two
        by_trial.sort(key=len, reverse=True)
        for queue in by_trial[:2]:
            if queue:
                pairs.append(queue.pop(0))
    return pairs, singles


def group_batch_order(subjects: np.ndarray, trials: np.ndarray, batch_size: int, seed: int) -> list[int]:
    """Row order of one epoch (a permutation of ``range(N)``), cut by the caller into batches of ``batch_size``.

    Args:
        subjects: ``[N]`` subject id of each row.
        trials: ``[N]`` trial id of each row (unique over subjects).
        batch_size: Rows per batch (at least 8).
        seed: Seed of every shuffle.

    Raises:
        ConfigError: ``batch_size`` below 8 (batches of leftover rows would hold no pair).
    """
    if batch_size < MIN_BATCH:
        raise ConfigError(
            f"batch_size must be at least {MIN_BATCH} for the group-aware sampler but got {batch_size}",
            hint="pass --batch-size 32, for example",
        )
    subjects, trials = np.asarray(subjects), np.asarray(trials)
    rng = np.random.default_rng(seed)
    blocks: list[list[int]] = []
    rest: list[int] = []
    for subject in np.unique(subjects):
        pairs, singles = _trial_pairs(np.flatnonzero(subjects == subject), trials, rng)
        for i in range(0, len(pairs) - 1, 2):
            blocks.append(pairs[i] + pairs[i + 1])
        if len(pairs) % 2:
            rest += pairs[-1]
        rest += singles
    queue = [blocks[i] for i in rng.permutation(len(blocks))]
    spare = [int(row) for row in rng.permutation(np.asarray(rest, dtype=np.int64))]
    return _fill_batches(queue, spare, batch_size, len(subjects))


def _fill_batches(blocks: list[list[int]], spare: list[int], batch_size: int, n: int) -> list[int]:
    """Batches that each start with a whole block, then the rows of a block split by the previous batch, then
    whole blocks, spare rows spread evenly over the batches, and rows of the next block to fill the batch."""
    n_batches = -(-n // batch_size)
    order: list[int] = []
    carried: list[int] = []
    for k in range(n_batches):
        room = min(batch_size, n - len(order))
        batch: list[int] = blocks.pop(0) if blocks and room >= BLOCK else []
        take = min(len(carried), room - len(batch))
        batch, carried = batch + carried[:take], carried[take:]
        quota = min(-(-len(spare) // (n_batches - k)), len(spare))
        while blocks and len(batch) + BLOCK + quota <= room:
            batch += blocks.pop(0)
        take = min(quota, room - len(batch))
        batch, spare = batch + spare[:take], spare[take:]
        while len(batch) < room:
            if not carried:
                carried = blocks.pop(0) if blocks else spare
                spare = [] if carried is spare else spare
            batch.append(carried.pop(0))
        order += batch
    assert sorted(order) == list(range(n)), "the sampler must place every row exactly once"
    return order
