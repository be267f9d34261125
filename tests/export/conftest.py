"""Fixtures for export tests: pipelines fitted directly (fast), and one small stored run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.families.registry import get_family
from mlvsdl.types import Schema
from tests.conftest import make_table

_CACHE: dict[tuple[str, str], tuple[Any, Schema, pd.DataFrame]] = {}


def fitted_pipeline(task: str, family: str) -> tuple[Any, Schema, pd.DataFrame]:
    """A fitted ``family`` pipeline on the mixed table, its schema, and unseen raw rows."""
    key = (task, family)
    if key not in _CACHE:
        frame, schema = infer_schema(make_table(n=240, task=task, seed=0), "y")
        estimator = get_family(family).build(schema, random_state=0)
        if family in ("mlp", "resmlp"):
            estimator.set_params(model__max_epochs=8)
        if family == "lgbm":  # fewer rounds, one thread: quick on a busy machine, same converter
            estimator.set_params(model__n_estimators=60, model__n_jobs=1)
        estimator.fit(frame.drop(columns=["y"]), frame["y"].to_numpy())
        unseen = make_table(n=120, task=task, seed=1).drop(columns=["y"])
        unseen.loc[0, "colour"] = "purple"  # a category never seen in training
        unseen.loc[1, ["x1", "colour"]] = [float("nan"), None]
        _CACHE[key] = (estimator, schema, unseen)
    return _CACHE[key]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> tuple[Path, str, pd.DataFrame]:
    """A stored binary run (dummy, linear); returns (store, run_id, raw rows)."""
    store = tmp_path_factory.mktemp("export") / "store"
    frame = make_table(n=200, seed=0)
    result = compare(frame, "y", families=["dummy", "linear"], cv=2, time_budget=300, store=store)
    return store, result.run_id, frame.drop(columns=["y"])
