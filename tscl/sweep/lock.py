"""One lock per trial, so two sweeps (or two workers, or two machines on a shared folder) never run it at once.

The lock is the run's kind of lock (:class:`tscl.runs.lock.ProcessLock`): an operating-system file lock taken
through the ``filelock`` library, released by the system when its holder exits however it exits, so no stale
lock ever needs to be found and broken. The holder's pid and host are written beside it
(``<lock>.owner.json``) for messages only.
"""

from __future__ import annotations

from tscl.runs.lock import ProcessLock


class TrialLock(ProcessLock):
    """An exclusive, non-blocking lock; ``acquire`` returns False while another holder (process or lock) has it."""
