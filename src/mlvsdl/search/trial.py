"""One trial: fit one family on one split and measure it.

``run_trial`` is pure and picklable (a plain function of a frozen spec), so the same code runs
in-process, in a process pool or on a Ray worker. A failure is returned as a result with
``status="failed"`` and the error, never raised, so one broken family never ends a run.

The protocol, identical for classical models and networks:

1. K-fold cross-validation inside the training part gives the validation score and its spread
   (the score used to rank models; the test rows are never seen here).
2. With K >= 2 folds the model is refitted on the whole training part; that refit is the stored
   model and its fit time is the one reported. With a single holdout fold (large data, where
   validation is one fifth of the training part) the model validated is the model kept: a refit
   on 25 % more rows would double every fit for a gain well inside the score's noise at that size.
3. The kept model predicts the held-out test rows once: test metrics and prediction latency. Its
   training score (for the overfitting gap) is taken on at most ``TRAIN_SCORE_ROWS`` of its own
   training rows, a seeded sample.

Families with ``max_train_rows`` fit on a seeded subsample of each training set larger than that.
A trial given a wall-clock allowance (``max_time_s``) shares it among its fits as they come,
holding back what its predictions are expected to take (:class:`_Allowance`). Self-limiting
families (``Family.self_limiting``: the networks) obey their share; the others are costed before
they start (``search.budget``) and, as they cannot stop inside a fit, stop between folds when the
remaining folds and the refit would take them past their time (the leaderboard says so).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlvsdl.data.split import Splits
from mlvsdl.evaluate.metrics import get_metric
from mlvsdl.families.registry import get_family
from mlvsdl.search.clock import OutOfTime, deadline
from mlvsdl.tasks import Predictions, TaskSpec, get_task
from mlvsdl.types import Schema

__all__ = ["TrialResult", "TrialSpec", "limit_rows", "run_trial"]

logger = logging.getLogger(__name__)

# Rows the training score (for the overfitting gap) is measured on, at most: a seeded sample of
# 5,000 puts the score within about 0.01; more costs an expensive predictor more than its whole
# training allowance (a fine-tuned text encoder predicted 3,080 banking77 texts in 47.5 s).
TRAIN_SCORE_ROWS = 5_000
LATENCY_ROWS = 1_000  # rows the prediction latency is timed on
PREDICT_SHARE = 0.2  # of a trial's allowance held for predicting, before any was timed
MIN_FIT_S = 1.0  # a network whose share is used up still trains (about one step)
DEADLINE_GRACE_S = 5.0  # past its allowance, preparation that cannot stop is ended
# A self-limiting model stopped by its clock on a fold, with less than this left for each of its
# remaining fits, keeps that fold's model (no more folds, no refit): more fits would each train
# a few steps and take the trial past its time (FSDD at 300 s on busy cores: 51 s shared by four
# fits of the audio CNN took 109 s).
MIN_NETWORK_FIT_S = 20.0
# A self-limiting trial whose allowance gives each of its planned fits less than
# MIN_NETWORK_FIT_S runs fewer folds from the start, each given at least this (and no refit):
# one fit of 40 s trains a network far better than six of 7 s (electricity at 120 s: four
# networks trained 2-6 s each, one fold kept, and 45 s of the budget went unused).
STARVED_FIT_S = 2 * MIN_NETWORK_FIT_S
LATE_SCORE_ROWS = 500  # training-score and latency rows for a trial already past its allowance


@dataclass(frozen=True)
class TrialSpec:
    family: str
    schema: Schema
    X: pd.DataFrame
    y: np.ndarray | None  # the target, or a task's evaluation label; None when there is neither
    splits: Splits
    metric: str
    random_state: int
    # Wall-clock allowance for the whole trial: a self-limiting family (a network) shares it
    # among its fits and stops on it; any other family has its folds cut when they would pass it.
    max_time_s: float | None = None


@dataclass
class TrialResult:
    family: str
    status: str  # "completed" | "failed"
    reason: str = ""
    estimator: Any = None
    val_score: float | None = None
    val_std: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metric -> value
    fit_time_s: float | None = None
    predict_time_s_per_1k: float | None = None
    n_train_rows: int = 0  # rows the kept model was fitted on
    n_available_rows: int = 0  # rows it could have been fitted on (more when subsampled)
    subsampled: bool = False
    notes: list[str] = field(default_factory=list)  # what the trial changed to keep its time
    # Out-of-fold validation predictions, one row per training row (in ``splits.train`` order,
    # NaN where its fold was not run): class probabilities in ``schema.classes`` order, or the
    # predicted value; None for tasks without a target. Ensembles are selected on them.
    oof: np.ndarray | None = None

    def score(self, split: str, metric: str) -> float | None:
        return self.metrics.get(split, {}).get(metric)


class _Allowance:
    """A trial's wall-clock allowance, shared out among its fits as they come.

    Networks stop on the allowance they are given; what they cannot stop is predicting (the
    validation folds, the test rows, the training score, the latency sample), and for a text
    encoder that costs as much as training. So each fit gets an equal share of what is left
    after holding back the time the remaining predictions are expected to take: their rows at
    the rate this trial's own predictions ran, or ``PREDICT_SHARE`` of the allowance before
    any was timed.
    """

    def __init__(self, total_s: float | None, rows_to_predict: int) -> None:
        self.total_s = total_s
        self.rows_left = rows_to_predict
        self._start = time.perf_counter()
        self._predict_s = 0.0
        self._predicted = 0

    def next_fit_s(self, fits_left: int) -> float | None:
        if self.total_s is None:
            return None
        left = self.total_s - (time.perf_counter() - self._start)
        if self._predicted:
            held = self._predict_s / self._predicted * self.rows_left
        else:
            held = PREDICT_SHARE * self.total_s
        return max((left - held) / max(fits_left, 1), MIN_FIT_S)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._start

    def predicted(self, rows: int, seconds: float) -> None:
        self._predict_s += seconds
        self._predicted += rows
        self.rows_left = max(self.rows_left - rows, 0)


def limit_rows(idx: np.ndarray, limit: int | None, random_state: int) -> np.ndarray:
    if limit is None or len(idx) <= limit:
        return idx
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(idx, size=limit, replace=False))


def _rows(y: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if y is None else y[rows]


def _evaluate(
    spec: TrialSpec, estimator: Any, X: pd.DataFrame, y: np.ndarray | None
) -> tuple[dict[str, float], float]:
    """Every metric on (X, y), and the seconds the prediction call alone took."""
    task = get_task(spec.schema.task)
    start = time.perf_counter()
    predictions = task.predict(estimator, X)
    predict_s = time.perf_counter() - start
    return task.score(y, predictions), predict_s


def _fit(
    task: TaskSpec,
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray | None,
    spec: TrialSpec,
    max_time_s: float | None,
) -> Any:
    params = estimator.get_params()
    if max_time_s is not None and "model__max_time_s" in params:
        estimator.set_params(model__max_time_s=max_time_s)
    contamination = spec.schema.options.get("contamination")
    if contamination is not None and "model__contamination" in params:
        estimator.set_params(model__contamination=contamination)
    return task.fit(estimator, X, y)


@dataclass
class _Fitted:
    """A fitted model with the training rows it saw and its fit time."""

    model: Any
    rows: np.ndarray
    fit_time_s: float
    n_available: int  # rows it could have used; more than len(rows) when subsampled


def _fit_rows(
    spec: TrialSpec,
    template: Any,
    available: np.ndarray,
    limit: int | None,
    seed: int,
    per_fit_s: float | None,
) -> _Fitted:
    rows = limit_rows(available, limit, seed)
    task = get_task(spec.schema.task)
    start = time.perf_counter()
    model = _fit(task, clone(template), spec.X.iloc[rows], _rows(spec.y, rows), spec, per_fit_s)
    return _Fitted(model, rows, time.perf_counter() - start, len(available))


def _over_time(spec: TrialSpec, allowance: _Allowance, fits_done: int, fits_left: int) -> bool:
    """Whether ``fits_left`` more fits, at the pace of the ``fits_done`` so far (fit and
    validation predictions), would take a trial that cannot stop itself past its time."""
    if spec.max_time_s is None or get_family(spec.family).self_limiting or fits_done == 0:
        return False
    spent = allowance.elapsed_s
    return spent + spent / fits_done * fits_left > spec.max_time_s


def _oof_values(schema: Schema, predictions: Predictions) -> np.ndarray:
    """A fold's validation predictions as stored for ensembles: probabilities in the order of
    ``schema.classes`` (a class the fold's model never saw gets 0), or the predicted values."""
    if not schema.task.is_classification:
        return np.asarray(predictions.values, dtype=np.float64)
    classes = list(schema.classes or [])
    out = np.zeros((len(predictions.values), len(classes)))
    if predictions.proba is None or predictions.classes is None:  # labels only: one-hot
        for j, label in enumerate(classes):
            out[:, j] = predictions.values == label
        return out
    for j, label in enumerate(predictions.classes):
        if label in classes:
            out[:, classes.index(label)] = predictions.proba[:, j]
    return out


def _cross_validate(
    spec: TrialSpec,
    template: Any,
    limit: int | None,
    allowance: _Allowance,
    n_fits: int,
    n_folds: int,
) -> tuple[list[dict[str, float]], list[float] | None, float | None, _Fitted, np.ndarray | None]:
    """Metrics of every fold; for a single holdout fold the bootstrap spread of its score.

    A task may also compare the fold models with each other (anomaly detection without labels:
    the stability of their top-ranked rows on one seeded probe sample of training rows); those
    scores come back as the second value. Also returns the last fold's fitted model (the kept
    model when there is one holdout fold).

    A trial that cannot stop itself (a classical model) stops after the fold at whose pace the
    remaining folds and the refit would take it past its time (``spec.max_time_s``): its score
    is then the mean of the folds done (one fold: the bootstrap spread of its score). One that
    stops itself stops after a fold that its clock ended when too little is left for the rest
    (``MIN_NETWORK_FIT_S`` a fit). Only the first ``n_folds`` folds are run (see
    ``_planned_folds``).
    """
    train = spec.splits.train
    task = get_task(spec.schema.task)
    probe = task.probe_rows(spec.schema, spec.y, train, spec.random_state)
    probed: list[Predictions] = []
    fold_metrics: list[dict[str, float]] = []
    spread = None
    oof = None
    if spec.schema.task.is_supervised:
        width = (len(spec.schema.classes or []),) if spec.schema.task.is_classification else ()
        oof = np.full((len(train), *width), np.nan)
    for k, (fold_train, fold_val) in enumerate(spec.splits.folds[:n_folds]):
        fitted = _fit_rows(
            spec,
            template,
            train[fold_train],
            limit,
            spec.random_state + k,
            allowance.next_fit_s(n_fits - k),
        )
        val_rows = train[fold_val]
        y_val = _rows(spec.y, val_rows)
        start = time.perf_counter()
        predictions = task.predict(fitted.model, spec.X.iloc[val_rows])
        allowance.predicted(len(val_rows), time.perf_counter() - start)
        fold_metrics.append(task.score(y_val, predictions))
        if oof is not None:
            oof[fold_val] = _oof_values(spec.schema, predictions)
        if probe is not None:
            probed.append(task.predict(fitted.model, spec.X.iloc[probe]))
        if len(fold_metrics) == 1:
            spread = task.spread(spec.metric, y_val, predictions, spec.random_state)
        if k + 1 < n_folds and _over_time(spec, allowance, k + 1, n_fits - k - 1):
            break
        enough = k + 1 >= task.min_folds(spec.schema)  # the folds its ranking needs are done
        more = k + 1 < n_folds
        if more and enough and _starved(fitted.model, allowance, n_fits - k - 1):
            break
    across = task.across_folds(probed, spec.schema, spec.random_state) if probe is not None else {}
    for key, values in across.items():
        for metrics in fold_metrics:
            metrics[key] = float(np.mean(values))
    return fold_metrics, across.get(spec.metric), spread, fitted, oof


def _planned_folds(spec: TrialSpec, allowance: _Allowance, n_fits: int) -> int:
    """The folds a trial runs: all of them, unless it is self-limiting and its allowance would
    give each of its fits (the folds and the refit) less than ``MIN_NETWORK_FIT_S``; then one
    fold per ``STARVED_FIT_S`` of its allowance (at least the folds its task's ranking needs),
    each trained with a full share, the last fold's model kept."""
    n_folds = len(spec.splits.folds)
    share = allowance.next_fit_s(n_fits)
    if share is None or share >= MIN_NETWORK_FIT_S or not get_family(spec.family).self_limiting:
        return n_folds
    fits = int(share * n_fits // STARVED_FIT_S)
    needed = get_task(spec.schema.task).min_folds(spec.schema)
    return min(n_folds, max(needed, fits, 1))


def _starved(model: Any, allowance: _Allowance, fits_left: int) -> bool:
    """Whether a self-limiting model was stopped by its clock and each of its remaining fits
    would get less than ``MIN_NETWORK_FIT_S``."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if getattr(final, "stop_reason_", None) not in ("time", "time_limit"):
        return False
    share = allowance.next_fit_s(fits_left)
    return share is not None and share < MIN_NETWORK_FIT_S


def _mean_metrics(fold_metrics: list[dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(m) for m in fold_metrics)) if fold_metrics else set()
    return {k: float(np.mean([m[k] for m in fold_metrics])) for k in sorted(keys)}


def run_trial(spec: TrialSpec) -> TrialResult:
    """Cross-validate, refit and test one family. Never raises for a model's own failure."""
    try:
        with deadline(None if spec.max_time_s is None else spec.max_time_s + DEADLINE_GRACE_S):
            return _run(spec)
    except OutOfTime as exc:  # input preparation that would not stop (see search/clock.py)
        logger.warning("family %s stopped: %s", spec.family, exc)
        return TrialResult(spec.family, "failed", reason=f"stopped at its time limit: {exc}")
    except Exception as exc:  # a failing family is a result, not the end of the run
        logger.warning("family %s failed: %s", spec.family, exc, exc_info=True)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return TrialResult(spec.family, "failed", reason=f"{type(exc).__name__}: {message}")


def _run(spec: TrialSpec) -> TrialResult:
    family = get_family(spec.family)
    limit = family.max_train_rows
    template = family.build(spec.schema, random_state=spec.random_state)
    refit = len(spec.splits.folds) > 1 or get_task(spec.schema.task).always_refit
    n_fits = len(spec.splits.folds) + int(refit)
    metric = get_metric(spec.metric, spec.schema.task)
    n_train = len(spec.splits.train)
    to_predict = n_train + len(spec.splits.test) + min(n_train, TRAIN_SCORE_ROWS) + LATENCY_ROWS
    if len(spec.splits.folds) == 1:  # one holdout: its rows are a part of the training rows
        to_predict += len(spec.splits.folds[0][1]) - n_train
    allowance = _Allowance(spec.max_time_s, to_predict)
    planned = _planned_folds(spec, allowance, n_fits)
    if planned < len(spec.splits.folds):
        n_fits = planned  # fewer folds, and the last one's model kept

    fold_metrics, compared, holdout_spread, kept, oof = _cross_validate(
        spec, template, limit, allowance, n_fits, planned
    )
    if compared is not None:  # a score of the fold models together (e.g. their stability)
        fold_scores = list(compared)
    else:
        fold_scores = [m[metric.key] for m in fold_metrics if metric.key in m]
    notes = []
    n_folds, done = len(spec.splits.folds), len(fold_metrics)
    if done < n_folds:
        notes.append(f"validated on {done} of {n_folds} folds and not refitted, to keep the budget")
    elif refit and _over_time(spec, allowance, n_folds, 1):
        notes.append("not refitted on the whole training part, to keep the budget")
    elif refit:
        kept = _fit_rows(
            spec, template, spec.splits.train, limit, spec.random_state, allowance.next_fit_s(1)
        )
    model = kept.model

    X_test, y_test = spec.X.iloc[spec.splits.test], _rows(spec.y, spec.splits.test)
    test_metrics, _ = _evaluate(spec, model, X_test, y_test)
    # Past its allowance, the training score and the latency take fewer rows (they inform; the
    # validation and test scores, which rank and report, are always taken on every row).
    late = spec.max_time_s is not None and allowance.elapsed_s > spec.max_time_s
    score_rows, timed_rows = (LATE_SCORE_ROWS,) * 2 if late else (TRAIN_SCORE_ROWS, LATENCY_ROWS)
    scored = limit_rows(kept.rows, score_rows, spec.random_state)
    train_metrics, _ = _evaluate(spec, model, spec.X.iloc[scored], _rows(spec.y, scored))
    # Latency per 1,000 rows is timed on 1,000 test rows (repeated if the test split is smaller),
    # so fixed per-call costs are not inflated by extrapolation from a small split.
    latency_rows = np.resize(spec.splits.test, timed_rows)
    _, predict_s = _evaluate(spec, model, spec.X.iloc[latency_rows], _rows(spec.y, latency_rows))

    return TrialResult(
        family=spec.family,
        status="completed",
        estimator=model,
        val_score=float(np.mean(fold_scores)) if fold_scores else None,
        val_std=float(np.std(fold_scores)) if len(fold_scores) > 1 else holdout_spread,
        fold_scores=fold_scores,
        metrics={"cv": _mean_metrics(fold_metrics), "test": test_metrics, "train": train_metrics},
        fit_time_s=kept.fit_time_s,
        predict_time_s_per_1k=predict_s * LATENCY_ROWS / timed_rows,
        n_train_rows=len(kept.rows),
        n_available_rows=kept.n_available,
        subsampled=len(kept.rows) < kept.n_available,
        notes=notes,
        oof=oof,
    )
