"""Ensembles across families: greedy ensemble selection over out-of-fold predictions.

Caruana, Niculescu-Mizil, Crew and Ksikes, *Ensemble Selection from Libraries of Models*
(ICML 2004), with replacement, as auto-sklearn and AutoGluon use it: start from nothing; in each
of ``ROUNDS`` rounds add the one model (again, if it is already in) whose addition makes the
averaged predictions score best; a model's weight is the share of rounds that picked it. As in
AutoGluon, the ensemble is cut back to the round with the best score, so on the predictions it
was selected on it is never worse than its best member (the first round picks that member).

The predictions are the ones every trial already made on its validation folds
(``TrialResult.oof``, stored as ``<model>.oof.npy``); the score is the run's metric, averaged
over the folds exactly as a model's validation score is. After the families, three ensembles are
built when their pool has two models or more: within classical ML (``ensemble_ml``), within deep
learning (``ensemble_dl``) and across both (``ensemble_all``, which needs one of each). Each is
stored as one model (``families/ensemble.py``, its members' fitted pipelines inside), scored
once on the held-out test rows like every model, and recorded as a candidate with its members
and weights. Its validation score is in-sample (its weights were chosen on those predictions),
which its row says; its test score is not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlvsdl.errors import StoreError
from mlvsdl.evaluate.metrics import Metric
from mlvsdl.families.ensemble import EnsembleClassifier, EnsembleRegressor
from mlvsdl.search.record import now_iso, to_json
from mlvsdl.search.trial import LATENCY_ROWS
from mlvsdl.store import Store
from mlvsdl.store.provenance import library_versions
from mlvsdl.tasks import Predictions, get_task
from mlvsdl.types import Schema

__all__ = ["ENSEMBLES", "ROUNDS", "Selection", "build_ensembles", "select", "weighted_average"]

logger = logging.getLogger(__name__)

ROUNDS = 50  # auto-sklearn's default ensemble size
ENSEMBLES = {"ensemble_ml": ("ml",), "ensemble_dl": ("dl",), "ensemble_all": ("ml", "dl")}
FAMILY = "ensemble"  # the family column of an ensemble's row


@dataclass(frozen=True)
class Selection:
    """What greedy selection chose: each model's weight (0 when never picked), the score after
    every round, and the round kept (the first with the best score)."""

    weights: np.ndarray
    trajectory: list[float]
    kept_rounds: int

    @property
    def score(self) -> float:
        return self.trajectory[self.kept_rounds - 1]


def weighted_average(predictions: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return sum(w * p for w, p in zip(weights, predictions, strict=True) if w > 0)


def select(
    predictions: Sequence[np.ndarray],
    objective: Callable[[np.ndarray], float],
    greater_is_better: bool,
    rounds: int = ROUNDS,
) -> Selection:
    """Greedy ensemble selection with replacement (Caruana et al. 2004).

    ``predictions``: one array per model, all the same shape; ``objective`` scores an averaged
    array. Ties go to the model listed first.
    """
    if not predictions:
        raise ValueError("ensemble selection needs at least one model")
    sign = 1.0 if greater_is_better else -1.0
    total = np.zeros_like(np.asarray(predictions[0], dtype=np.float64))
    picked: list[int] = []
    trajectory: list[float] = []
    for r in range(rounds):
        best_j, best = -1, -np.inf
        for j, p in enumerate(predictions):
            value = sign * objective((total + p) / (r + 1))
            if value > best:
                best_j, best = j, value
        picked.append(best_j)
        total += predictions[best_j]
        trajectory.append(sign * best)
    kept = int(np.argmax([sign * t for t in trajectory])) + 1  # first round with the best score
    counts = np.bincount(picked[:kept], minlength=len(predictions))
    return Selection(counts / kept, trajectory, kept)


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    picked = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)  # clipped as metrics._log_loss
    return float(-np.mean(np.log(picked)))


# Numpy versions of the metrics the greedy loop calls rounds x models x folds times, where
# scikit-learn's input checks alone cost about a millisecond a call (tests compare the values).
_FAST = {
    "accuracy": lambda y, p: np.mean(p.argmax(axis=1) == y),
    "log_loss": _log_loss,
    "rmse": lambda y, p: np.sqrt(np.mean((y - p) ** 2)),
    "mae": lambda y, p: np.mean(np.abs(y - p)),
}


class _FoldScorer:
    """The run's metric on stored out-of-fold predictions, averaged over the validation folds
    (as a model's validation score is), on integer class codes like ``score_predictions``."""

    def __init__(self, schema: Schema, y: np.ndarray, folds: list[np.ndarray], metric: Metric):
        self.schema, self.metric, self.folds = schema, metric, folds
        self.classes = np.asarray(schema.classes) if schema.task.is_classification else None
        if self.classes is not None:
            lookup = {c: i for i, c in enumerate(schema.classes or [])}
            self.y = np.array([lookup.get(v, -1) for v in y])
            self.codes = np.arange(len(self.classes))
        else:
            self.y = np.asarray(y, dtype=np.float64)

    def fold_scores(self, oof: np.ndarray) -> list[float]:
        out = []
        fast = _FAST.get(self.metric.key)
        for rows in self.folds:
            y, p = self.y[rows], oof[rows]
            if fast is not None:  # the same value as the metric's own function, in numpy
                out.append(float(fast(y, p)))
            elif self.classes is None:
                out.append(float(self.metric.fn(y, p)))
            elif self.metric.needs_proba:
                out.append(float(self.metric.fn(y, p, self.codes)))
            else:
                out.append(float(self.metric.fn(y, p.argmax(axis=1))))
        return out

    def __call__(self, oof: np.ndarray) -> float:
        return float(np.mean(self.fold_scores(oof)))

    def all_metrics(self, oof: np.ndarray) -> dict[str, float]:
        """Every metric of the task, averaged over the folds (the ``cv`` metrics of a row)."""
        task = get_task(self.schema.task)
        per_fold = []
        for rows in self.folds:
            per_fold.append(task.score(self._labels(rows), self._predictions(oof[rows])))
        keys = set.intersection(*(set(m) for m in per_fold))
        return {k: float(np.mean([m[k] for m in per_fold])) for k in sorted(keys)}

    def _labels(self, rows: np.ndarray) -> np.ndarray:
        return self.y[rows] if self.classes is None else self.classes[self.y[rows]]

    def _predictions(self, values: np.ndarray) -> Predictions:
        if self.classes is None:
            return Predictions(values)
        return Predictions(self.classes[values.argmax(axis=1)], values, self.classes)


def _pool(
    store: Store, run_id: str, first_fold: np.ndarray
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """Completed single models whose out-of-fold predictions cover the first validation fold
    at least (every trial runs it first; one cut to save time may have stopped there), the dummy
    baseline left out."""
    pool = []
    for cand in store.db.candidates(run_id, refits=False):
        oof = cand["details"].get("oof")
        if cand["status"] != "completed" or cand["family"] in (FAMILY, "dummy") or not oof:
            continue
        try:
            values = store.load_oof(run_id, oof["file"], oof["sha256"]).astype(np.float64)
        except StoreError as exc:  # missing or changed: that model is left out, said so
            logger.warning("%s is left out of the ensembles: %s", cand["name"], exc)
            continue
        if values.ndim == 2:  # probabilities stored as float32: sum to one again
            values /= values.sum(axis=1, keepdims=True)
        if not np.isnan(values[first_fold]).any():
            pool.append((cand, values))
    return pool


def _covered_folds(
    members: list[tuple[dict[str, Any], np.ndarray]], folds: list[np.ndarray]
) -> list[np.ndarray]:
    """The validation folds every member predicted: an ensemble is selected and scored on
    those (all of them, unless a member was cut to fewer folds to keep the budget)."""
    return [rows for rows in folds if not any(np.isnan(v[rows]).any() for _, v in members)]


def build_ensembles(
    store: Store, run_id: str, plan: Any, models: dict[str, Any], seed: int
) -> list[dict[str, Any]]:
    """Select, store and score the three ensembles of a finished run; returns their rows."""
    schema = plan.schema
    if not schema.task.is_supervised:
        return []
    splits, metric = plan.splits, plan.metric
    folds = [np.asarray(val) for _, val in splits.folds]
    pool = _pool(store, run_id, folds[0])
    sign = 1 if metric.greater_is_better else -1
    pool.sort(key=lambda item: -sign * float(item[0]["val_score"]))
    done = {c["name"] for c in store.db.candidates(run_id)}
    rows = []
    for name, kinds in ENSEMBLES.items():
        members = [(c, v) for c, v in pool if c["kind"] in kinds]
        if name in done or len(members) < 2 or {c["kind"] for c, _ in members} != set(kinds):
            continue
        covered = _covered_folds(members, folds)
        scorer = _FoldScorer(schema, plan.y[splits.train], covered, metric)
        try:
            rows.append(_build(store, run_id, plan, name, kinds, members, models, scorer, seed))
        except Exception as exc:  # an ensemble that cannot be built must not end the run
            logger.warning("ensemble %s failed: %s", name, exc, exc_info=True)
    return rows


def _build(
    store: Store,
    run_id: str,
    plan: Any,
    name: str,
    kinds: tuple[str, ...],
    members: list[tuple[dict[str, Any], np.ndarray]],
    models: dict[str, Any],
    scorer: _FoldScorer,
    seed: int,
) -> dict[str, Any]:
    schema, metric = plan.schema, plan.metric
    start = time.perf_counter()
    oofs = [v for _, v in members]
    chosen = select(oofs, scorer, metric.greater_is_better)
    selection_s = time.perf_counter() - start
    picked = [(c, w) for (c, _), w in zip(members, chosen.weights, strict=True) if w > 0]
    fitted = [(c["name"], _model(store, run_id, c["name"], models)) for c, _ in picked]
    weights = [float(w) for _, w in picked]
    if schema.task.is_classification:
        ensemble = EnsembleClassifier.from_fitted(fitted, weights, schema.classes)
    else:
        ensemble = EnsembleRegressor.from_fitted(fitted, weights)
    oof = weighted_average(oofs, chosen.weights)
    fold_scores = scorer.fold_scores(oof)

    task = get_task(schema.task)
    X_test, y_test = plan.frame.iloc[plan.splits.test], plan.y[plan.splits.test]
    test_metrics = task.score(y_test, task.predict(ensemble, X_test))
    latency_rows = np.resize(plan.splits.test, LATENCY_ROWS)
    tick = time.perf_counter()
    task.predict(ensemble, plan.frame.iloc[latency_rows])
    predict_s = time.perf_counter() - tick

    kind = "+".join(kinds)
    manifest = {
        "run_id": run_id,
        "model": name,
        "kind": kind,
        "seed": seed,
        "members": dict(zip([n for n, _ in fitted], weights, strict=True)),
        "schema": schema.to_dict(),
        "data_fingerprint": plan.table.fingerprint,
        "versions": library_versions(),
        "created_at": now_iso(),
    }
    path, sha256 = store.save_model(run_id, name, ensemble, manifest)
    described = ", ".join(f"{n} {w:.2f}" for n, w in manifest["members"].items())
    n_folds = len(plan.splits.folds)
    on_folds = f" on {len(scorer.folds)} of {n_folds} folds" * (len(scorer.folds) < n_folds)
    row = {
        "name": name,
        "family": FAMILY,
        "kind": kind,
        "status": "completed",
        "reason": (
            f"greedy ensemble selection over out-of-fold predictions{on_folds}: {described}; its "
            "validation score is in-sample (the weights were chosen on those predictions)"
        ),
        "val_score": float(np.mean(fold_scores)),
        "val_std": float(np.std(fold_scores)) if len(fold_scores) > 1 else None,
        "test_score": test_metrics.get(metric.key),
        # the members' fits (each on its own) and the selection
        "fit_time_s": sum(float(c["fit_time_s"] or 0) for c, _ in picked) + selection_s,
        "predict_time_s_per_1k": predict_s,
        "model_bytes": path.stat().st_size,
        "n_train_rows": max(int(c["n_train_rows"] or 0) for c, _ in picked),
        "artifact": path.name,
        "artifact_sha256": sha256,
        "details_json": to_json(
            {
                "members": manifest["members"],
                "pool": [c["name"] for c, _ in members],
                "fold_scores": fold_scores,
                "rounds": len(chosen.trajectory),
                "kept_rounds": chosen.kept_rounds,
                "trajectory": chosen.trajectory,
                "selection_s": selection_s,
            }
        ),
        "finished_at": now_iso(),
    }
    store.db.insert_candidate(run_id, row, {"cv": scorer.all_metrics(oof), "test": test_metrics})
    return row


def _model(store: Store, run_id: str, name: str, models: dict[str, Any]) -> Any:
    model = models.get(name)
    return model if model is not None else store.load_model(run_id, name)
