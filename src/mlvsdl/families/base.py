"""The family contract: metadata plus a factory.

A family does not subclass a base model class. It is a frozen record naming what it is (key, kind,
tasks, modalities), how expensive it is relative to others, and a ``factory`` that returns an
UNFITTED scikit-learn compatible estimator for a given schema, preprocessing included. Because
every estimator obeys scikit-learn's contract, cross-validation, cloning, storing, reporting and
serving have a single code path for classical models and networks alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.base import BaseEstimator

from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = ["Family"]

Factory = Callable[[Schema, int], BaseEstimator]


@dataclass(frozen=True)
class Family:
    """One model family.

    Attributes:
        key: short unique name used on the command line (``lgbm``, ``mlp``).
        title: human name shown in tables.
        kind: ``Kind.ML`` or ``Kind.DL``.
        tasks: tasks the family can learn.
        modalities: input modalities it accepts.
        factory: ``factory(schema, random_state) -> unfitted estimator``.
        relative_cost: cost per row and feature relative to a linear model (1.0); used to run
            cheap families first and to predict whether one fits the remaining budget.
        max_train_rows: above this many training rows the family trains on a seeded subsample
            (the leaderboard says so). ``None`` means never.
        interpretable: whether the fitted model can be read directly (coefficients, a tree) or
            needs post-hoc explanation.
        description: one line for ``mlvsdl families``.
    """

    key: str
    title: str
    kind: Kind
    tasks: frozenset[Task]
    modalities: frozenset[Modality]
    factory: Factory
    relative_cost: float = 1.0
    max_train_rows: int | None = None
    interpretable: bool = False
    description: str = ""

    def build(self, schema: Schema, *, random_state: int) -> BaseEstimator:
        """Return an unfitted estimator for ``schema``."""
        return self.factory(schema, random_state)

    def cost_hint(self, schema: Schema) -> float:
        """Relative cost of one fit on this schema; only ratios between families matter."""
        n_rows = max(schema.n_rows, 1)
        if self.max_train_rows is not None:
            n_rows = min(n_rows, self.max_train_rows)
        return self.relative_cost * n_rows * max(len(schema.feature_names), 1)

    def supports(self, schema: Schema) -> bool:
        return schema.task in self.tasks and schema.modality in self.modalities
