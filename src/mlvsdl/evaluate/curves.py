"""Learning curves: how each candidate's score grows with training rows, and where ML and DL cross.

Protocol. The held-out rows are the first cross-validation fold's validation rows; the pool is
that fold's training rows (so the test split is never touched). For each seed, the pool is put in
a seeded, class-stratified order and the model is trained on the first ``n`` rows for geometric
sizes ``n`` (6 sizes from a few rows per class up to the whole pool), each time scored on the same
held-out rows with the run's primary metric.

Fit. ``score(n) = a - b * (n / n_pool) ** (-c)`` (metrics where lower is better are negated first)
is fitted with ``scipy.optimize.curve_fit`` under bounds (``b >= 0``, ``0.05 <= c <= 2``, ``a``
below the metric's ceiling). The uncertainty band is a residual bootstrap: the fitted values plus
resampled residuals are refitted 100 times; bands are their 10th-90th percentiles.

Crossover. On a grid from the largest measured size to 10x the training part, the first size at
which the runner-up kind's best curve reaches the leading kind's best curve; its band comes from
pairing the two models' bootstrap refits. "None within 10x" when most refits never cross.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit
from sklearn.base import clone

from mlvsdl.data.split import Splits
from mlvsdl.evaluate.metrics import Metric
from mlvsdl.families.registry import get_family
from mlvsdl.types import Schema

__all__ = [
    "CurveCandidate",
    "FittedCurve",
    "crossover",
    "curve_sizes",
    "fit_curve",
    "measure_curves",
    "plan_seeds",
]

logger = logging.getLogger(__name__)

N_SIZES = 6
N_BOOTSTRAP = 100
BAND = (10.0, 90.0)
EXTRAPOLATION = 10.0
_CEILING = {"roc_auc": 1.0, "accuracy": 1.0, "balanced_accuracy": 1.0, "f1_macro": 1.0}
_CEILING |= {"mcc": 1.0, "r2": 1.0, "rmse": 0.0, "mae": 0.0, "log_loss": 0.0}


@dataclass(frozen=True)
class CurveCandidate:
    """A stored candidate to trace a curve for, with what its refit cost."""

    name: str
    family: str
    kind: str
    fit_time_s: float
    n_train_rows: int


def curve_sizes(n_pool: int, n_classes: int = 0, n_sizes: int = N_SIZES) -> list[int]:
    """``n_sizes`` geometric training sizes from a few rows per class up to ``n_pool``."""
    floor = max(20, 5 * n_classes, n_pool // 32)
    low = min(floor, max(n_pool // 4, 2))
    sizes = np.unique(np.round(np.geomspace(low, n_pool, n_sizes)).astype(int))
    return [int(s) for s in sizes]


def nested_order(y: np.ndarray, classification: bool, seed: int) -> np.ndarray:
    """A seeded order of positions whose every prefix keeps the class proportions."""
    rng = np.random.default_rng(seed)
    if not classification:
        return rng.permutation(len(y))
    key = np.empty(len(y))
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        ranks = rng.permutation(len(members))
        key[members] = (ranks + rng.uniform(size=len(members))) / len(members)
    return np.argsort(key, kind="stable")


def plan_seeds(
    candidates: list[CurveCandidate], sizes: list[int], budget_s: float | None, max_seeds: int = 3
) -> dict[str, int]:
    """How many seeds each candidate gets: one each in rank order, then more for the leaders."""
    cost = {
        c.name: 1.3 * c.fit_time_s * sum(sizes) / max(c.n_train_rows, 1) + 0.05 * len(sizes)
        for c in candidates
    }
    if budget_s is None:
        return {c.name: max_seeds for c in candidates}
    seeds: dict[str, int] = {}
    spent = 0.0
    for round_ in range(max_seeds):
        for c in candidates if round_ == 0 else candidates[:2]:
            if spent + cost[c.name] <= budget_s and seeds.get(c.name, 0) == round_:
                seeds[c.name] = round_ + 1
                spent += cost[c.name]
    return seeds


def measure_curves(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    splits: Splits,
    metric: Metric,
    candidates: list[CurveCandidate],
    seeds: dict[str, int],
    *,
    random_state: int = 0,
    deadline: float | None = None,
    score: Callable[[Any, pd.DataFrame, np.ndarray, Metric], float] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Points ``{n, seed, score, fit_time_s}`` per candidate (``deadline``: a perf_counter time)."""
    from mlvsdl.evaluate.importance import oriented_score

    scorer = score or oriented_score
    pool = splits.train[splits.folds[0][0]]
    held = splits.train[splits.folds[0][1]]
    X_held, y_held = X.iloc[held], y[held]
    sizes = curve_sizes(len(pool), schema.n_classes)
    points: dict[str, list[dict[str, Any]]] = {c.name: [] for c in candidates}
    for seed_index in range(max(seeds.values(), default=0)):
        seed = random_state + seed_index
        order = pool[nested_order(y[pool], schema.task.is_classification, seed)]
        for c in candidates:
            if seeds.get(c.name, 0) <= seed_index:
                continue
            for n in sizes:
                est_s = c.fit_time_s * n / max(c.n_train_rows, 1)
                if deadline is not None and time.perf_counter() + est_s > deadline:
                    logger.info("learning curves: time is up before %s at n=%d", c.name, n)
                    return points
                point = _fit_point(c, schema, X, y, order[:n], X_held, y_held, metric, seed, scorer)
                if point is not None:
                    points[c.name].append(point | {"n": n, "seed": seed})
    return points


def _fit_point(
    c: CurveCandidate,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: np.ndarray,
    X_held: pd.DataFrame,
    y_held: np.ndarray,
    metric: Metric,
    seed: int,
    scorer: Callable[[Any, pd.DataFrame, np.ndarray, Metric], float],
) -> dict[str, float] | None:
    family = get_family(c.family)
    limit = family.max_train_rows
    rows = rows[:limit] if limit is not None else rows
    model = clone(family.build(schema, random_state=seed))
    if "model__max_time_s" in model.get_params():
        model.set_params(model__max_time_s=max(1.5 * c.fit_time_s, 1.0))
    start = time.perf_counter()
    try:
        model.fit(X.iloc[rows], y[rows])
        fit_s = time.perf_counter() - start
        value = scorer(model, X_held, y_held, metric)
    except Exception as exc:  # one failed point is a gap in the curve, not the end of the run
        logger.info("learning curve point %s n=%d failed: %s", c.name, len(rows), exc)
        return None
    if not np.isfinite(value):
        return None
    return {"score": value if metric.greater_is_better else -value, "fit_time_s": fit_s}


def _power_law(u: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(u, -c)


@dataclass(frozen=True)
class FittedCurve:
    """A fitted curve in gain orientation (larger is better) with its bootstrap refits."""

    params: tuple[float, float, float]
    n_ref: float
    boot: np.ndarray  # (N_BOOTSTRAP, 3)
    greater_is_better: bool
    rmse: float

    def gain(self, n: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        a, b, c = self.params if params is None else params
        return _power_law(np.asarray(n, dtype=float) / self.n_ref, a, b, c)

    def boot_gains(self, n: np.ndarray) -> np.ndarray:
        """(N_BOOTSTRAP, len(n)) gains of every bootstrap refit."""
        return np.stack([self.gain(n, p) for p in self.boot])

    def score(self, n: np.ndarray) -> np.ndarray:
        """Predicted metric values (in the metric's own orientation)."""
        value = self.gain(n)
        return value if self.greater_is_better else -value

    def band(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.percentile(self.boot_gains(n), BAND, axis=0)
        return (low, high) if self.greater_is_better else (-high, -low)


def _fit_once(
    u: np.ndarray, g: np.ndarray, ceiling: float | None, start: np.ndarray | None = None
) -> np.ndarray:
    span = float(np.ptp(g)) + 1e-6
    high_a = float(g.max()) + 3 * span
    if ceiling is not None:
        high_a = min(high_a, ceiling + 1e-9)
    low_a = min(float(g.min()) - 3 * span, high_a - 1e-6)
    p0 = [min(max(float(g.max()), low_a), high_a), span * u.min() ** 0.5, 0.5]
    if start is not None:  # a bootstrap refit starts from the main fit: far fewer iterations
        p0 = [float(np.clip(start[0], low_a, high_a)), float(max(start[1], 0.0)), float(start[2])]
    bounds = ([low_a, 0.0, 0.05], [high_a, np.inf, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            params, _ = curve_fit(_power_law, u, g, p0=p0, bounds=bounds, maxfev=4000)
        except (RuntimeError, ValueError):
            params = np.asarray([float(np.clip(g.mean(), low_a, high_a)), 0.0, 0.5])
    return np.asarray(params, dtype=float)


def fit_curve(
    points: list[dict[str, Any]], metric: Metric, *, random_state: int = 0
) -> FittedCurve | None:
    """Fit the power law to ``points`` (metric values); None with fewer than 4 sizes."""
    n = np.asarray([p["n"] for p in points], dtype=float)
    sign = 1.0 if metric.greater_is_better else -1.0
    g = sign * np.asarray([p["score"] for p in points], dtype=float)
    if len(np.unique(n)) < 4:
        return None
    n_ref = float(n.max())
    ceiling = _CEILING.get(metric.key)
    params = _fit_once(n / n_ref, g, ceiling)
    fitted = _power_law(n / n_ref, *params)
    residuals = g - fitted
    rng = np.random.default_rng(random_state)
    boot = np.stack(
        [
            _fit_once(n / n_ref, fitted + rng.choice(residuals, size=len(g)), ceiling, params)
            for _ in range(N_BOOTSTRAP)
        ]
    )
    rmse = float(np.sqrt(np.mean(residuals**2)))
    return FittedCurve(tuple(params.tolist()), n_ref, boot, metric.greater_is_better, rmse)


def crossover(
    leader: FittedCurve, challenger: FittedCurve, n_start: float, n_current: float
) -> dict[str, Any]:
    """Where ``challenger`` reaches ``leader`` between ``n_start`` and 10x ``n_current``.

    Returns the point estimate (None if the fitted curves do not cross), the 10th-90th percentile
    band over paired bootstrap refits (None for an end that lies beyond the grid), and the share of
    refits that cross within the grid.
    """
    n_end = EXTRAPOLATION * n_current
    grid = np.geomspace(max(n_start, 1.0), n_end, 400)
    estimate = _first_cross(challenger.gain(grid) - leader.gain(grid), grid)
    diffs = challenger.boot_gains(grid) - leader.boot_gains(grid)
    crossings = np.asarray([_first_cross(d, grid) or np.inf for d in diffs])
    share = float(np.isfinite(crossings).mean())
    low, high = np.percentile(crossings, BAND, method="inverted_cdf")  # no inf arithmetic
    return {
        "n_estimate": estimate,
        "n_low": float(low) if np.isfinite(low) else None,
        "n_high": float(high) if np.isfinite(high) else None,
        "share_crossing": share,
        "n_end": float(n_end),
    }


def _first_cross(diff: np.ndarray, grid: np.ndarray) -> float | None:
    reached = np.flatnonzero(diff >= 0)
    return float(grid[reached[0]]) if len(reached) else None
