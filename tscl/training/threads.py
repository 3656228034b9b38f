"""How many CPU threads torch gets when none is asked for (``--threads`` not given, ``threads=None``).

torch's own default is one thread per core. When another process keeps a core busy, one of torch's OpenMP
threads keeps losing that core, and every parallel region waits at its barrier for it: on a 2-core machine
with one core busy, GunPoint pretraining took 8x longer on 2 threads than on 1 (README, "Threads"). So the
default counts the cores this process may use (its CPU affinity, capped by a cgroup CPU quota), measures how
busy other processes keep them over a short sample (/proc/stat, this process's own time subtracted), and
takes the cores that are free: ``max(1, min(ceiling, floor(free + 0.25)))``, a core counting as free when
others leave at least 75 % of it idle. The ceiling is torch's current count (``OMP_NUM_THREADS``, or what
the caller set), so the rule only ever lowers it. Where /proc/stat is not readable the 1-minute load
average stands in for the sample.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tscl.errors import ConfigError

SAMPLE_SECONDS = 0.15
FREE_MARGIN = 0.25  # a core counts as free when others use at most 25 % of it
REUSE_SECONDS = 30.0  # a measurement this recent is reused (the Python API may fit or encode in a loop)

_last: tuple[float, float | None] | None = None  # (monotonic time, busy cores) of the last sample


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count chosen and why (recorded in ``meta.json`` as ``threads`` and ``threads_rule``)."""

    threads: int
    rule: str

    def __str__(self) -> str:
        return f"{self.threads} ({self.rule})"


def usable_cores() -> int:
    """Cores this process may run on: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota + FREE_MARGIN)))
    return max(1, cores)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs' worth of time the cgroup may use (cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us``); None: no quota."""
    try:
        text = (root / "cpu.max").read_text().split()
        if len(text) == 2 and text[0] != "max":
            return int(text[0]) / int(text[1])
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cpu_times(cpus: set[int] | None) -> tuple[float, float] | None:
    """(busy, total) jiffies summed over ``cpus`` (None: the machine) from /proc/stat; None when unreadable."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    busy = total = 0.0
    for line in lines:
        name, *fields = line.split()
        wanted = name == "cpu" if cpus is None else name[3:].isdigit() and int(name[3:]) in cpus
        if not name.startswith("cpu") or not wanted:
            continue
        values = [float(v) for v in fields[:8]]
        idle = values[3] + values[4]  # idle + iowait
        busy += sum(values) - idle
        total += sum(values)
    return (busy, total) if total > 0 else None


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float | None:
    """Cores' worth of CPU time that other processes used on this process's cores over ``seconds``."""
    try:
        cpus: set[int] | None = set(os.sched_getaffinity(0))
    except AttributeError:
        cpus = None
    before = _cpu_times(cpus)
    if before is None:
        return _load_average_busy()
    own_before, wall_before = time.process_time(), time.monotonic()
    time.sleep(seconds)
    after = _cpu_times(cpus)
    own = time.process_time() - own_before
    wall = time.monotonic() - wall_before
    if after is None or after[1] <= before[1]:
        return _load_average_busy()
    n_cpus = len(cpus) if cpus is not None else (os.cpu_count() or 1)
    # jiffies busy / jiffies elapsed = the busy fraction of the set; times its size = busy cores.
    busy = (after[0] - before[0]) / (after[1] - before[1]) * n_cpus
    return max(0.0, busy - own / max(wall, 1e-6))


def _load_average_busy() -> float | None:
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)  # the load average counts this process too
    except (AttributeError, OSError):
        return None


def _busy_now() -> float | None:
    global _last
    now = time.monotonic()
    if _last is not None and now - _last[0] < REUSE_SECONDS:
        return _last[1]
    busy = busy_cores()
    _last = (time.monotonic(), busy)
    return busy


def choose_threads(threads: int | None = None, ceiling: int | None = None) -> ThreadChoice:
    """The thread count to train or evaluate with: ``threads`` when given, else the free cores (module doc).

    Args:
        threads: An explicit count (``--threads``); checked and returned as it is.
        ceiling: The most the rule may pick (default: torch's current count).
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
            raise ConfigError(
                f"threads must be a positive integer but got {threads!r}", hint="pass --threads N, N >= 1"
            )
        return ThreadChoice(int(threads), "given")
    import torch

    top = max(1, min(ceiling or torch.get_num_threads(), usable_cores()))
    busy = _busy_now()
    if busy is None:
        return ThreadChoice(top, f"auto: {top} usable cores, load unknown")
    free = usable_cores() - busy
    chosen = max(1, min(top, math.floor(free + FREE_MARGIN)))
    return ThreadChoice(chosen, f"auto: {usable_cores()} usable cores, {busy:.1f} busy with other work")


@contextmanager
def thread_scope(threads: int | None = None, ceiling: int | None = None) -> Iterator[ThreadChoice]:
    """Run the block on the chosen thread count (see :func:`choose_threads`), then restore torch's count."""
    import torch

    previous = torch.get_num_threads()
    choice = choose_threads(threads, ceiling)
    if choice.threads != previous:
        torch.set_num_threads(choice.threads)
    try:
        yield choice
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
