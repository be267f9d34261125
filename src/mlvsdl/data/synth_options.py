"""The options of ``--task synthesize``, checked before anything is stored.

``--target`` is optional: it names the column whose prediction measures the synthetic rows'
utility (train on synthetic, test on real); it stays among the generated columns, as every
column does. The options of the other tasks without a target are refused. The rows the protocol
needs (``MIN_ROWS``) and ``mlvsdl sample``'s ``--rows`` and ``--condition`` are checked here too.
"""

from __future__ import annotations

import difflib
from numbers import Integral
from typing import Any

import pandas as pd

from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.types import Task

__all__ = ["MIN_ROWS", "check_min_rows", "check_sample_rows", "parse_conditions", "synth_options"]

# Fewest rows of a table to synthesize: the held-out test fifth and the validation fifth of the
# rest must each hold enough rows for the detection classifier's 3 folds and the distances.
MIN_ROWS = 50


def synth_options(
    frame: pd.DataFrame,
    target: str | None,
    label: Any,
    anomaly_value: Any,
    contamination: Any,
    dims: Any,
    k: Any,
) -> tuple[pd.DataFrame, Task, dict[str, Any], str | None, list[str]]:
    """The frame, task, options (``target``: the utility column or None), no excluded column
    (the target is generated like the others) and notes."""
    given = [
        name
        for name, value in (
            ("--label", label),
            ("--anomaly-value", anomaly_value),
            ("--contamination", contamination),
            ("--dims", dims),
            ("--k", k),
        )
        if value is not None
    ]
    if given:
        raise ConfigError(
            f"{', '.join(given)}: not an option of --task synthesize; leave it out (--target "
            "names the column whose prediction measures the synthetic rows' utility)."
        )
    check_min_rows(len(frame))
    if target is None:
        return frame, Task.SYNTHESIZE, {"target": None}, None, []
    target = str(target)
    if target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TargetError(
            f"--target {target!r} is not a column of the table.{hint} It names the column whose "
            "prediction measures utility; leave it out to predict each column in turn."
        )
    if frame[target].notna().sum() < 2 or frame[target].nunique() < 2:
        raise TargetError(
            f"--target {target!r} has fewer than two distinct values, so no model can be scored "
            "on it; name another column or leave --target out."
        )
    return frame, Task.SYNTHESIZE, {"target": target}, None, []


def check_min_rows(n_rows: int) -> None:
    if n_rows < MIN_ROWS:
        raise DataError(
            f"--task synthesize needs at least {MIN_ROWS} rows (held-out rows for fidelity and "
            f"privacy, validation rows for ranking), got {n_rows}; give a larger table."
        )


def check_sample_rows(rows: Any) -> int:
    """``--rows``: a whole number of rows to generate, at least 1."""
    if isinstance(rows, bool) or not isinstance(rows, Integral) or rows < 1:
        raise ConfigError(f"--rows must be a whole number of rows of at least 1, got {rows!r}.")
    return int(rows)


def parse_conditions(
    conditions: list[str] | dict[str, Any] | None, levels: dict[str, list[Any]]
) -> dict[str, Any]:
    """``--condition col=value`` (repeatable) as {column: value}, checked against the training
    categories (``levels``: each categorical column's values, as strings and as stored)."""
    if not conditions:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(conditions, dict):
        pairs = list(conditions.items())
    else:
        for item in conditions:
            column, sep, value = str(item).partition("=")
            if not sep or not column.strip():
                raise ConfigError(f"--condition takes column=value, got {item!r}.")
            pairs.append((column.strip(), value.strip()))
    out: dict[str, Any] = {}
    for column, value in pairs:
        if column not in levels:
            valid = ", ".join(levels) or "none"
            raise ConfigError(
                f"--condition names {column!r}, which is not a categorical column of the run; "
                f"condition on one of: {valid}."
            )
        by_text = {str(v): v for v in levels[column]}
        if str(value) not in by_text:
            shown = ", ".join(list(by_text)[:12])
            raise ConfigError(
                f"--condition {column}={value} is not a value seen in training; use one of: "
                f"{shown}."
            )
        out[column] = by_text[str(value)]
    return out
