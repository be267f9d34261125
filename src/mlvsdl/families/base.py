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
        lazy: a lazy learner (k-nearest neighbours): fitting stores the rows and every prediction
            scans them, so its cost grows with rows x training rows, not with rows alone.
        priority: families run by priority, then cheapest first; 0 marks the few that make the
            first answer (the baseline, a linear model, gradient boosting), 1 the rest.
        interpretable: whether the fitted model can be read directly (coefficients, a tree) or
            needs post-hoc explanation.
        self_limiting: whether the model stops itself on a wall-clock allowance (its pipeline
            has ``model__max_time_s``: the networks trained by the one loop). The budget gives
            such a family a share of what remains; any other family (classical models, and the
            frozen-encoder families whose last step is a scikit-learn model) is costed before it
            starts and has its validation folds cut when they would overrun.
        description: one line for ``mlvsdl families``.
        opt_in: runs only when named (``--families``): a family too slow on a CPU for the
            default comparison's budget (FT-Transformer: about a minute an epoch on 18k rows),
            or the searched boosters, whose share would come out of every other allowance.
    """

    key: str
    title: str
    kind: Kind
    tasks: frozenset[Task]
    modalities: frozenset[Modality]
    factory: Factory
    relative_cost: float = 1.0
    max_train_rows: int | None = None
    lazy: bool = False
    priority: int = 1
    interpretable: bool = False
    description: str = ""
    self_limiting: bool = False
    opt_in: bool = False

    def build(self, schema: Schema, *, random_state: int) -> BaseEstimator:
        """Return an unfitted estimator for ``schema``."""
        return self.factory(schema, random_state)

    def cost_hint(self, schema: Schema) -> float:
        """Relative cost of one fit on this schema; only ratios between families matter."""
        n_rows = max(schema.n_rows, 1)
        n_fit = n_rows if self.max_train_rows is None else min(n_rows, self.max_train_rows)
        per_row = n_fit / 1000 if self.lazy else 1.0  # a lazy learner scans its rows per query
        n_cost = n_rows if self.lazy else n_fit
        return self.relative_cost * n_cost * per_row * max(len(schema.feature_names), 1)

    def order_key(self, schema: Schema) -> tuple[int, float]:
        """Run order: priority first, then cheapest first."""
        return (self.priority, self.cost_hint(schema))

    def supports(self, schema: Schema) -> bool:
        return schema.task in self.tasks and schema.modality in self.modalities
