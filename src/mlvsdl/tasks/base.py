"""The task contract: one record per task, owning everything that differs between tasks.

A *family* says how to fit a model; a *task* says what is learned and how it is judged. A
:class:`TaskSpec` is registered like a family (``register_task``) and answers, for its task:

* **inputs** — ``target``: whether a target column is required (``"required"``), or an
  optional label is read for evaluation only and never shown to a model (``"evaluation"``);
* **split** — ``split(y, n_rows, test_size, n_folds, seed)``: the held-out test rows and the
  validation folds inside the training part (stratified, shuffled, and later temporal or grouped);
* **fit** — ``fit(estimator, X, y)``: what a model is given (``X`` alone for unsupervised tasks);
* **answers** — ``predict(estimator, X) -> Predictions``: which estimator methods are called
  (``predict_proba``, ``predict``, ``score_samples``; later ``transform``, ``forecast``,
  ``recommend``, ``sample``) and the one value type every caller receives;
* **metrics** — ``metrics`` (every one stored), ``default_metric`` (ranks the models),
  ``score(y, predictions)`` and ``spread(...)`` (the score's uncertainty on one holdout);
* **baseline** — the family every model must beat;
* **outputs** — ``output_columns`` and ``to_frame``: what ``mlvsdl predict`` writes, and
  ``to_records``: what ``mlvsdl serve`` answers per record;
* **report** — ``report_sections``: the anchors of the report's sections, in order (shared
  ones such as ``leaderboard`` and ``cost``, and the task's own, ``report/build.SECTIONS``).

The three prediction tasks (binary, multiclass, regression) are instances of
``tasks.supervised.SupervisedTask``; ``tasks.anomaly.AnomalyTask`` is the first task without a
target. ``docs/DESIGN.md`` describes the contract for the tasks still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlvsdl.data.split import Splits
from mlvsdl.types import Schema, Task

__all__ = ["Predictions", "TargetRole", "TaskSpec"]

TargetRole = Literal["required", "evaluation"]


@dataclass(frozen=True, eq=False)
class Predictions:
    """What a fitted model answered for some rows, in one value whatever the task.

    ``values``: the predicted label or value per row (for anomaly detection, 1 where the row is
    flagged as an anomaly, else 0); ``proba`` and ``classes``: class probabilities and their
    order (classification); ``scores``: a real-valued score per row (anomaly detection: higher
    is more anomalous; clustering: the distance to the assigned cluster's centre); ``space``:
    the rows in the space a task scores them in (clustering: the run's shared evaluation space,
    dense or sparse, for the metrics that need no label).
    """

    values: np.ndarray
    proba: np.ndarray | None = None
    classes: np.ndarray | None = None
    scores: np.ndarray | None = None
    space: Any = None

    def take(self, rows: np.ndarray) -> Predictions:
        """The same answers for a subset of rows (bootstrap resamples)."""
        return Predictions(
            self.values[rows],
            None if self.proba is None else self.proba[rows],
            self.classes,
            None if self.scores is None else self.scores[rows],
            None if self.space is None else self.space[rows],
        )


class TaskSpec:
    """Base of every task; subclasses fill in the behaviour (see the module docstring)."""

    task: Task
    title: str
    target: TargetRole = "required"
    metrics: tuple[str, ...] = ()
    default_metric: str = ""
    baseline: str = "dummy"
    # Estimator methods a model of this task must have (the conformance suite checks them).
    answers: tuple[str, ...] = ("predict",)
    report_sections: tuple[str, ...] = ()
    # Refit on the whole training part even after a single validation fold (forecasting: the
    # model of a window before the test one cannot forecast the test window).
    always_refit: bool = False

    @property
    def key(self) -> str:
        return str(self.task)

    def metric_for(self, schema: Schema, requested: str | None) -> str:
        """The ranking metric: ``requested`` (checked by ``evaluate.metrics.get_metric``) or the
        task's default for this schema."""
        return requested or self.default_metric

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        raise NotImplementedError

    def split_frame(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        y: np.ndarray | None,
        test_size: float,
        n_folds: int,
        seed: int,
    ) -> Splits:
        """The split, for a task that needs the rows themselves or the schema's options
        (recommendations: each user's interactions, ordered by time; forecasting: the series'
        lengths and the horizon); by default ``split`` on the target alone."""
        return self.split(y, len(frame), test_size, n_folds, seed)

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X, y)

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        raise NotImplementedError

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        raise NotImplementedError

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        """Standard deviation of ``metric`` over bootstrap resamples of one holdout."""
        return None

    def probe_rows(
        self, schema: Schema, y: np.ndarray | None, train: np.ndarray, seed: int
    ) -> np.ndarray | None:
        """Training rows every fold model also scores, when the task compares the fold models
        with each other (``across_folds``); None (the default) when it does not."""
        return None

    def across_folds(
        self, predictions: list[Predictions], schema: Schema, seed: int
    ) -> dict[str, list[float]]:
        """Scores of the fold models taken together (one value per pair, say), by metric."""
        return {}

    def check_plan(self, frame: pd.DataFrame, schema: Schema, metric: str) -> None:
        """Checks of the task's options that need the inputs (one-line ``ConfigError``);
        ``plan.plan_run`` calls it before anything is stored."""

    def min_folds(self, schema: Schema) -> int:
        """The fewest validation folds the task's ranking needs (1: a holdout is enough)."""
        return 1

    def fold_count(self, schema: Schema, requested: int | None, planned: int) -> int:
        """The validation folds to make: ``planned`` (``--cv`` or the size rule), unless the
        task counts them otherwise (forecasting: backtest windows the shortest series allows)."""
        return planned

    def check_splits(self, schema: Schema, splits: Splits) -> None:
        """Refuse options the split makes impossible (``plan_run`` calls it before the run is
        stored; clustering: ``--k`` above the rows a model is fitted on). Default: none."""

    def output_columns(self, schema: Schema) -> list[str]:
        raise NotImplementedError

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        raise NotImplementedError

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        """One JSON-ready answer per row, as ``mlvsdl serve`` returns them."""
        raise NotImplementedError
