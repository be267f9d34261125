"""The analysis sections of an anomaly-detection run (beside the shared costs and recommendation).

``anomaly``: per detector, its anomaly scores on the held-out test rows as histograms (normal
and anomalous rows apart when the run has a label), and with a label its precision-recall and
ROC curves; the threshold rule each detector used. ``flagged``: the held-out rows the
recommended detector finds most unusual, each with the columns that make it so (and the label,
when known). ``supervised``: with a label, the answer to "do I need labels?" — a LightGBM
classifier trained on the labelled training rows, scored on the same test rows, beside the best
detector that never saw a label.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn import metrics as skm

from mlvsdl.evaluate.local import json_scalar
from mlvsdl.explain.anomaly import anomaly_attribution
from mlvsdl.tasks import get_task

__all__ = ["anomaly_section", "flagged_section", "supervised_section"]

CURVE_POINTS = 120  # points kept per precision-recall or ROC curve
BINS = 30
TOP_ROWS = 10
TOP_COLUMNS = 5


def _scores(ctx: Any, name: str, rows: np.ndarray) -> Any:
    return get_task(ctx.data.schema.task).predict(ctx.model(name), ctx.data.X.iloc[rows])


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    keep = np.unique(np.linspace(0, len(arrays[0]) - 1, CURVE_POINTS).round().astype(int))
    return [np.asarray(a, dtype=float)[keep].tolist() for a in arrays]


def anomaly_section(ctx: Any) -> dict[str, Any]:
    """Score distributions and curves of every detector on the held-out test rows."""
    test = ctx.data.splits.test
    y = None if ctx.data.y is None else np.asarray(ctx.data.y)[test].astype(bool)
    labelled = y is not None and 0 < y.sum() < len(y)
    out: dict[str, Any] = {}
    for cand in ctx.done:
        name = cand["name"]
        predictions = _scores(ctx, name, test)
        scores = np.asarray(predictions.scores, dtype=float)
        edges = np.histogram_bin_edges(scores, bins=BINS)
        entry: dict[str, Any] = {
            "kind": cand["kind"],
            "bins": edges.tolist(),
            "flagged": int(predictions.values.sum()),
            "rule": str(getattr(ctx.model(name).steps[-1][1], "threshold_rule_", "")),
        }
        if labelled:
            entry["normal"] = np.histogram(scores[~y], bins=edges)[0].tolist()
            entry["anomalous"] = np.histogram(scores[y], bins=edges)[0].tolist()
            precision, recall, _ = skm.precision_recall_curve(y, scores)
            fpr, tpr, _ = skm.roc_curve(y, scores)
            entry["pr"] = dict(zip(("recall", "precision"), _thin(recall, precision), strict=True))
            entry["roc"] = dict(zip(("fpr", "tpr"), _thin(fpr, tpr), strict=True))
            entry["average_precision"] = float(skm.average_precision_score(y, scores))
            entry["roc_auc"] = float(skm.roc_auc_score(y, scores))
        else:
            entry["all"] = np.histogram(scores, bins=edges)[0].tolist()
        out[name] = entry
    return {
        "models": out,
        "labelled": labelled,
        "split": "test",
        "n_rows": len(test),
        "n_anomalies": int(y.sum()) if y is not None else None,
        "label": ctx.data.schema.label,
        "anomaly_value": json_scalar(ctx.data.schema.options.get("anomaly_value")),
    }


def flagged_section(ctx: Any, model: str | None) -> dict[str, Any] | None:
    """The held-out rows ``model`` finds most unusual, with the columns that make them so."""
    if model is None:
        return None
    test = ctx.data.splits.test
    predictions = _scores(ctx, model, test)
    order = np.argsort(-np.asarray(predictions.scores), kind="stable")[:TOP_ROWS]
    rows = test[order]
    frame = ctx.data.X.iloc[rows]
    attribution = anomaly_attribution(ctx.model(model), frame, ctx.data.schema)
    out = []
    for i, position in enumerate(rows):
        item: dict[str, Any] = {
            "row": int(position),
            "score": float(predictions.scores[order[i]]),
            "flagged": bool(predictions.values[order[i]]),
        }
        if ctx.data.y is not None:
            item["anomaly"] = bool(np.asarray(ctx.data.y)[position])
        if attribution is not None:
            values = attribution.values[i]
            top = np.argsort(-np.abs(values))[:TOP_COLUMNS]
            item["columns"] = [
                {
                    "feature": attribution.columns[j],
                    "value": json_scalar(frame.iloc[i][attribution.columns[j]]),
                    "contribution": float(values[j]),
                }
                for j in top
            ]
        out.append(item)
    method = attribution.method if attribution is not None else None
    return {"model": model, "rows": out, "method": method}


def supervised_section(ctx: Any) -> dict[str, Any] | None:
    """With a label: a supervised LightGBM on the labelled training rows beside the detectors."""
    from dataclasses import replace

    from mlvsdl.families.registry import get_family
    from mlvsdl.types import Task

    if ctx.data.y is None:
        return None
    y = np.asarray(ctx.data.y).astype(int)
    train, test = ctx.data.splits.train, ctx.data.splits.test
    schema = replace(ctx.data.schema, task=Task.BINARY, target="__label__", classes=(0, 1))
    model = get_family("lgbm").build(schema, random_state=ctx.data.seed)
    start = time.perf_counter()
    model.fit(ctx.data.X.iloc[train], y[train])
    fit_s = time.perf_counter() - start
    proba = model.predict_proba(ctx.data.X.iloc[test])[:, 1]
    best = max(
        (c for c in ctx.done if c["family"] != "dummy"),
        key=lambda c: c["test_score"] if c["test_score"] is not None else -1.0,
        default=None,
    )
    detector = None
    if best is not None:
        scores = _scores(ctx, best["name"], test).scores
        detector = {
            "model": best["name"],
            "kind": best["kind"],
            "average_precision": float(skm.average_precision_score(y[test], scores)),
            "roc_auc": float(skm.roc_auc_score(y[test], scores)),
            "fit_time_s": best["fit_time_s"],
        }
    return {
        "supervised": {
            "model": "LightGBM classifier trained on the labels",
            "average_precision": float(skm.average_precision_score(y[test], proba)),
            "roc_auc": float(skm.roc_auc_score(y[test], proba)),
            "fit_time_s": fit_s,
        },
        "best_detector": detector,
        "split": "test",
    }
