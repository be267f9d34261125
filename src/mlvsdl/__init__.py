"""mlvsdl: machine learning versus deep learning, measured on your own data.

>>> from mlvsdl import compare, load_run
>>> result = compare(df, target="churn", time_budget=120)
>>> result.leaderboard          # ML and DL candidates ranked under one protocol
>>> result.best_model.predict(new_rows)
"""

from __future__ import annotations

import logging

from mlvsdl import _clock  # noqa: F401  first: the time budget counts from here
from mlvsdl.compare import compare
from mlvsdl.errors import (
    BudgetError,
    ConfigError,
    DataError,
    MlvsdlError,
    SchemaMismatchError,
    StoreError,
    TargetError,
)
from mlvsdl.export.bundle import load_model
from mlvsdl.result import CompareResult, load_run
from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = [
    "BudgetError",
    "CompareResult",
    "ConfigError",
    "DataError",
    "Kind",
    "MlvsdlError",
    "Modality",
    "Schema",
    "SchemaMismatchError",
    "StoreError",
    "TargetError",
    "Task",
    "compare",
    "load_model",
    "load_run",
]

__version__ = "0.1.0"

logging.getLogger("mlvsdl").addHandler(logging.NullHandler())
