"""The demo dataset: scikit-learn's breast-cancer table, which ships with the package offline."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_breast_cancer

__all__ = ["demo_frame"]


def demo_frame() -> tuple[pd.DataFrame, str]:
    """569 tumours, 30 numeric measurements, and the diagnosis to predict."""
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.copy()
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    return frame, "diagnosis"
