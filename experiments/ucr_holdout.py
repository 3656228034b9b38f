"""Write validation copies of UCR data sets: the training split cut into a pretraining part and a held-out part.

UCR data sets have no validation split. Selecting settings by test accuracy is off limits, and the
training-split cross-validation accuracy that ``tscl evaluate`` reports (``cv_accuracy``) scores series the
encoder was pretrained on. This script gives a cleaner signal: for every data set ``Name`` it writes
``OUT/UCR/NameHO/NameHO_TRAIN.tsv`` (the training series that are pretrained on and fit the head) and
``NameHO_TEST.tsv`` (a stratified ``--fraction`` of the training series, never seen in pretraining). The
original test split is not read. A run on ``NameHO`` reports held-out validation accuracy as its "test"
accuracy; compare settings on those numbers, then run the chosen setting on the real ``Name``.

The split is fixed by ``--seed`` (0): per class, the series are shuffled and the first
``round(fraction * n)`` are held out (none for classes with a single series). The lines are copied verbatim.

  python experiments/ucr_holdout.py --data-dir ../shared/datasets --out holdout
  tscl sweep experiments/autotcl_crop_holdout_ucr.toml --data-dir holdout --workers 2
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path


def held_out_lines(lines: list[str], fraction: float, seed: int) -> set[int]:
    """Indices of the lines held out: ``round(fraction * n)`` per class of ``n >= 2`` series, seeded."""
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        by_class[line.split("\t", 1)[0].strip()].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for _, indices in sorted(by_class.items()):
        indices = indices[:]
        rng.shuffle(indices)
        count = round(fraction * len(indices)) if len(indices) >= 2 else 0
        held.update(indices[:count])
    return held


def write_holdout(source: Path, out: Path, fraction: float, seed: int) -> tuple[str, int, int]:
    """Write ``out/<Name>HO/<Name>HO_{TRAIN,TEST}.tsv`` from ``source/<Name>_TRAIN.tsv``."""
    name = source.name
    lines = [line for line in (source / f"{name}_TRAIN.tsv").read_text().splitlines() if line.strip()]
    held = held_out_lines(lines, fraction, seed)
    target = out / f"{name}HO"
    target.mkdir(parents=True, exist_ok=True)
    kept = [line for i, line in enumerate(lines) if i not in held]
    (target / f"{name}HO_TRAIN.tsv").write_text("\n".join(kept) + "\n")
    (target / f"{name}HO_TEST.tsv").write_text("\n".join(lines[i] for i in sorted(held)) + "\n")
    return f"{name}HO", len(kept), len(held)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding UCR/<Name>/<Name>_TRAIN.tsv")
    parser.add_argument("--out", type=Path, required=True, help="folder to write UCR/<Name>HO/ into")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of each class held out (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (0)")
    parser.add_argument("datasets", nargs="*", help="UCR names (default: every UCR folder of --data-dir)")
    args = parser.parse_args(argv)
    if not 0.0 < args.fraction < 1.0:
        print(f"error: --fraction must be in (0, 1) but got {args.fraction}", file=sys.stderr)
        return 1
    root = args.data_dir / "UCR"
    names = args.datasets or sorted(p.name for p in root.iterdir() if (p / f"{p.name}_TRAIN.tsv").is_file())
    missing = [n for n in names if not (root / n / f"{n}_TRAIN.tsv").is_file()]
    if missing:
        print(f"error: no {root}/<Name>/<Name>_TRAIN.tsv for {', '.join(missing)}", file=sys.stderr)
        return 1
    for name in names:
        written, kept, held = write_holdout(root / name, args.out / "UCR", args.fraction, args.seed)
        print(f"{written}: {kept} pretraining/training series, {held} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
