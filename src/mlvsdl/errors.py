"""Errors raised by mlvsdl.

Every message says what was wrong, what was expected and how to fix it, in one line, so the CLI
can print it as is and exit with code 2.

    MlvsdlError
    ├── DataError          the input file or frame cannot be used as given
    │   └── TargetError    the target column is missing, empty or unusable for the task
    ├── ConfigError        an option is invalid (unknown family, metric, task, ...)
    ├── BudgetError        the time budget cannot fit even the cheapest candidate
    ├── StoreError         a run or artifact is missing, unreadable or refused as unsafe
    └── SchemaMismatchError  new data does not match the schema a run was trained on
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "ConfigError",
    "DataError",
    "MlvsdlError",
    "SchemaMismatchError",
    "StoreError",
    "TargetError",
]


class MlvsdlError(Exception):
    """Root of every error mlvsdl raises on purpose."""


class DataError(MlvsdlError):
    """The input data cannot be used as given."""


class TargetError(DataError):
    """The target column is missing, empty or unusable for the task."""


class ConfigError(MlvsdlError):
    """An option has an invalid value."""


class BudgetError(MlvsdlError):
    """The time budget is too small for any candidate."""


class StoreError(MlvsdlError):
    """A run or an artifact is missing, unreadable or refused as unsafe."""


class SchemaMismatchError(DataError):
    """New data does not match the schema a run was trained on."""
