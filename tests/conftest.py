from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def make_table(n: int = 240, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A small mixed table whose target depends on numeric, categorical and boolean columns."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.choice([True, False], size=n)
    signal = 1.5 * x1 - x2 + (colour == "red") * 1.0 + flag * 0.5
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "colour": colour,
            "flag": flag,
            "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
        }
    )
    frame.loc[rng.choice(n, 5, replace=False), "x2"] = np.nan
    if task == "binary":
        frame["y"] = np.where(signal + rng.normal(scale=0.5, size=n) > 0.3, "yes", "no")
    elif task == "multiclass":
        frame["y"] = np.digitize(signal, [-0.5, 1.0]).astype(int)
    else:
        frame["y"] = 10 * signal + rng.normal(scale=0.5, size=n)
    return frame


@pytest.fixture()
def store(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _no_env_store(monkeypatch):
    monkeypatch.delenv("MLVSDL_STORE", raising=False)


def shared_dataset(*parts: str) -> Path:
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists() or os.environ.get("MLVSDL_SKIP_SHARED"):
        pytest.skip(f"shared dataset {path} not available")
    return path
