"""A small seeded table with injected anomalies, and its anomaly-task schema."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mlvsdl.data import infer_schema
from mlvsdl.types import Schema, Task

NUMERIC = ("a", "b", "c", "d", "e")


def make_anomaly_table(
    n: int = 400, share: float = 0.05, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows on a 2-D manifold in five numeric columns (plus a category and a flag); a ``share``
    of them have two numeric columns pushed 6-8 units off it. Returns the table and the flags."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    noise = rng.normal(scale=0.1, size=(n, 5))
    frame = pd.DataFrame(
        {
            "a": z1 + noise[:, 0],
            "b": z2 + noise[:, 1],
            "c": z1 + z2 + noise[:, 2],
            "d": z1 - z2 + noise[:, 3],
            "e": 0.5 * z1 + noise[:, 4],
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "flag": rng.choice([True, False], size=n),
        }
    )
    flags = np.zeros(n, dtype=bool)
    anomalies = rng.choice(n, round(share * n), replace=False)
    flags[anomalies] = True
    for row in anomalies:
        for column in rng.choice(NUMERIC, 2, replace=False):
            frame.loc[row, column] += rng.choice([-1, 1]) * rng.uniform(6, 8)
    frame.loc[rng.choice(n, 4, replace=False), "b"] = np.nan
    return frame, flags


def anomaly_schema(frame: pd.DataFrame) -> Schema:
    """The schema of an anomaly run on ``frame``: no target, every column a feature."""
    labelled = frame.assign(_label=np.arange(len(frame)) % 2)
    _, schema = infer_schema(labelled, "_label", "binary")
    return replace(schema, target="", task=Task.ANOMALY, classes=None)
