"""When the running command started: the first module the package imports records the time.

The command line counts ``--time-budget`` from the start of the command, so that loading the
libraries (numpy, scikit-learn, PyTorch: several seconds on a busy machine) and reading the data
are part of the budget the user set, as they are of the wall time the user measures.
"""

from __future__ import annotations

import time

__all__ = ["STARTED", "command_started", "loaded"]

STARTED = time.monotonic()  # the package's import began
_load_s: float | None = None  # how long loading the command line took (set once)
_claimed = False


def loaded() -> None:
    """Mark the command line as loaded (the end of ``mlvsdl.cli``'s import)."""
    global _load_s
    if _load_s is None:
        _load_s = time.monotonic() - STARTED


def command_started() -> float:
    """The ``time.monotonic()`` reading a command's budget counts from: now, less the time the
    libraries took to load for the first command of the process (the console script's only
    one); a later command in the same process (tests, notebooks) counts from now."""
    global _claimed
    now = time.monotonic()
    if _claimed or _load_s is None:
        return now
    _claimed = True
    return now - _load_s
