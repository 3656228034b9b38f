"""Loading a large UEA-style dataset: wall time and peak memory against the size of the float32 arrays.

Writes a synthetic ``.ts`` pair shaped like the archive's large sets (default 3000 + 3000 cases, 60 channels,
length 200, a few missing values and some shorter cases), then loads it with ``tscl.data.load_dataset`` and
prints the time (an untraced load), then the peak of traced allocations of a second load (numpy reports its
buffers to tracemalloc) and its ratio to ``X_train.nbytes + X_test.nbytes``. The contract is a ratio at most 2.

    python benchmarks/bench_load.py
    python benchmarks/bench_load.py --cases 9000 --channels 144 --length 62    # FaceDetection-sized
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def write_ts(path: Path, cases: int, channels: int, length: int, rng: np.random.Generator) -> None:
    """A labelled ``.ts`` file; every 10th case is shorter, every 7th has a missing value."""
    header = f"@problemName Big\n@timeStamps false\n@missing true\n@univariate false\n@dimensions {channels}\n"
    header += "@equalLength false\n@classLabel true a b c\n@data\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        for case in range(cases):
            steps = length // 2 if case % 10 == 0 else length
            values = rng.normal(size=(channels, steps)).round(4)
            rows = [",".join(map(str, row)) for row in values]
            if case % 7 == 0:
                rows[0] = "?," + rows[0].split(",", 1)[1]
            out.write(":".join(rows) + f":{'abc'[case % 3]}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=3000, help="cases in each of TRAIN and TEST")
    parser.add_argument("--channels", type=int, default=60)
    parser.add_argument("--length", type=int, default=200)
    args = parser.parse_args()

    from tscl.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "UEA" / "Big"
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for part in ("TRAIN", "TEST"):
            write_ts(folder / f"Big_{part}.ts", args.cases, args.channels, args.length, rng)
        text_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        start = time.perf_counter()
        load_dataset("Big", Path(tmp))
        seconds = time.perf_counter() - start
        tracemalloc.start()
        data = load_dataset("Big", Path(tmp))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        arrays = data.X_train.nbytes + data.X_test.nbytes  # type: ignore[union-attr]
    print(f"files {text_mb:.0f} MiB of text, arrays {arrays / 2**20:.0f} MiB float32")
    print(f"load {seconds:.2f} s ({text_mb / seconds:.0f} MiB/s), peak traced memory {peak / 2**20:.0f} MiB")
    print(f"peak / arrays = {peak / arrays:.2f} (contract: <= 2)")


if __name__ == "__main__":
    main()
