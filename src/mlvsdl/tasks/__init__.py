"""Tasks: what a run learns and how it is judged (see ``tasks/base.py`` for the contract).

``get_task(Task.BINARY)`` returns the registered :class:`TaskSpec`; ``register_task`` adds one
(duplicates refused). The task modules register themselves on import, below.
"""

from __future__ import annotations

from mlvsdl.errors import ConfigError
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Task

__all__ = ["Predictions", "TaskSpec", "all_tasks", "get_task", "register_task"]

_TASKS: dict[Task, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry. Raises if its task is taken."""
    if spec.task in _TASKS:
        raise ValueError(f"task {spec.task!r} is already registered")
    _TASKS[spec.task] = spec
    return spec


def get_task(task: Task | str) -> TaskSpec:
    """The spec of ``task``; a one-line error naming the valid tasks if there is none."""
    try:
        return _TASKS[Task(task)]
    except (KeyError, ValueError):
        valid = ", ".join(str(t) for t in _TASKS)
        raise ConfigError(f"unknown task {task!r}; use one of {valid}.") from None


def all_tasks() -> list[TaskSpec]:
    return list(_TASKS.values())


# Each task module registers its specs on import (after the registry exists).
from mlvsdl.tasks import (  # noqa: E402, F401
    anomaly,
    cluster,
    embed,
    forecast,
    recommend,
    supervised,
    synthesize,
)
