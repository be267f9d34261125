"""Fit registered families on a fixed train/test split and print test scores and fit times.

The benchmarks of unstructured data use the datasets' own splits (official train/test, or a
seeded stratified split), so every family is fitted once on the training part and scored once
on the test part: the same estimators ``mlvsdl compare`` stores, without its inner
cross-validation. Networks get ``--max-time-s`` seconds of training each.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from sklearn.model_selection import train_test_split

from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs
from mlvsdl.families.registry import get_family, resolve_families
from mlvsdl.types import Kind, Schema

logger = logging.getLogger("bench")


def stratified_split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[target]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def run_families(
    name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    families: Sequence[str] | None,
    max_time_s: float,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Fit each family on ``train``, score it on ``test``; print one line per family."""
    frame, schema = infer_schema(train, target)
    frame, schema = check_inputs(frame, schema)  # decodes images and audio once
    test, _ = check_inputs(test, schema)
    keys = [f.key for f in resolve_families(list(families) if families else None, schema)]
    print(
        f"\n== {name}: {len(train):,} train / {len(test):,} test rows, {schema.modality}, "
        f"{schema.n_classes} classes; families: {', '.join(keys)}",
        flush=True,
    )
    X, y = frame.drop(columns=[target]), frame[target].to_numpy()
    X_test, y_test = test.drop(columns=[target]), test[target].to_numpy()
    rows = []
    for key in keys:
        row = _fit_one(key, schema, X, y, X_test, y_test, max_time_s, seed)
        rows.append({"dataset": name, **row})
        print(_line(row), flush=True)
    return rows


def _fit_one(
    key: str,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    max_time_s: float,
    seed: int,
) -> dict[str, Any]:
    family = get_family(key)
    model = family.build(schema, random_state=seed)
    if family.kind is Kind.DL and "model__max_time_s" in model.get_params():
        model.set_params(model__max_time_s=max_time_s)
    start = time.perf_counter()
    try:
        model.fit(X, y)
    except Exception as exc:  # a benchmark reports a failing family and goes on
        logger.exception("family %s failed", key)
        return {"family": key, "kind": str(family.kind), "error": str(exc)[:200]}
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = np.asarray(model.predict(X_test))
    predict_s = time.perf_counter() - start
    y_true = y_test.astype(pred.dtype) if pred.dtype.kind in "iu" else y_test
    inner = model.steps[-1][1]
    return {
        "family": key,
        "kind": str(family.kind),
        "accuracy": float(accuracy_score(y_true, pred)),
        "macro_f1": float(f1_score(y_true, pred, average="macro")),
        "mcc": float(matthews_corrcoef(y_true, pred)),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "epochs": len(getattr(inner, "history_", [])) or None,
        "stop": getattr(inner, "stop_reason_", None),
    }


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"  {row['family']:<17} {row['kind']:<3} FAILED: {row['error']}"
    extra = f"  ({row['epochs']} epochs, {row['stop']})" if row.get("epochs") else ""
    return (
        f"  {row['family']:<17} {row['kind']:<3} acc {row['accuracy']:.4f}  "
        f"F1 {row['macro_f1']:.4f}  MCC {row['mcc']:.4f}  fit {row['fit_s']:7.1f}s  "
        f"predict {row['predict_s']:5.1f}s{extra}"
    )


def save(rows: list[dict[str, Any]], path: str | None) -> None:
    if path:
        Path(path).write_text(json.dumps(rows, indent=2))
