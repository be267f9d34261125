"""A trial's deadline, for the work inside a fit that no model parameter can stop.

Networks stop on their own allowance, and a classical trial stops between folds; but some input
preparation runs for as long as the data asks (encoding every text with a pretrained encoder).
``run_trial`` sets the trial's deadline here (a context variable, so each thread or worker has
its own); such loops call :func:`check_deadline` between batches and end the trial with
:class:`OutOfTime` once it has passed. Work done so far (cached embeddings) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["OutOfTime", "check_deadline", "deadline"]

_DEADLINE: ContextVar[float | None] = ContextVar("mlvsdl_trial_deadline", default=None)


class OutOfTime(Exception):
    """A trial's deadline passed in work that cannot stop by itself."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, :func:`check_deadline` raises once ``seconds`` have passed (None: no
    deadline)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline(what: str) -> None:
    """Raise :class:`OutOfTime` (naming ``what`` was being done) if the deadline has passed."""
    end = _DEADLINE.get()
    if end is not None and time.monotonic() > end:
        raise OutOfTime(f"its time ran out while {what}")
