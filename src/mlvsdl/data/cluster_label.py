"""The options of ``--task cluster``: ``--k`` and the evaluation label, checked.

The label (``--label``) is read for evaluation only: rows where it is missing are dropped (they
could not be scored), its values are kept as strings, and a label with a single value is refused
(it cannot score a grouping). ``--k`` must be at least 2 and at most the number of rows;
``TaskSpec.check_splits`` later checks it against the rows a model is fitted on.
"""

from __future__ import annotations

import difflib
from numbers import Integral
from typing import Any

import pandas as pd

from mlvsdl.errors import ConfigError, TargetError

__all__ = ["check_k", "cluster_label"]


def check_k(k: Any, n_rows: int) -> int | None:
    """``--k``: None (each family picks its number of clusters by its stated rule), or an
    integer from 2 to the number of rows."""
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 2:
        raise ConfigError(
            f"--k must be a whole number of clusters, at least 2, got {k!r}; or leave it out to "
            "let each family choose (silhouette, BIC or HDBSCAN's own rule)."
        )
    if k > n_rows:
        raise ConfigError(
            f"--k {k} is more clusters than the table's {n_rows} rows; pass a smaller --k."
        )
    return int(k)


def cluster_label(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, list[str]]:
    """Check ``label``, drop rows where it is missing and keep its values as strings.

    Returns the frame and notes for the user.
    """
    if label not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(label, names, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise TargetError(
            f"label column {label!r} not found.{hint} The table has {len(names)} columns; pass "
            "one of them to --label, or leave --label out to cluster without labels."
        )
    notes: list[str] = []
    missing = frame[label].isna().to_numpy()
    if missing.all():
        raise TargetError(f"label column {label!r} has no values; choose another --label.")
    if missing.any():
        notes.append(
            f"dropped {int(missing.sum())} of {len(frame)} rows whose label {label!r} is "
            "missing (the label scores the clusterings, so unlabelled rows cannot be scored)."
        )
        frame = frame.loc[~missing].reset_index(drop=True)
    values = frame[label].astype(str)
    counts = values.value_counts()
    if len(counts) < 2:
        raise TargetError(
            f"label column {label!r} has one value ({counts.index[0]!r}) in {len(values)} rows, "
            "so it cannot score a grouping; choose another --label or leave it out."
        )
    return frame.assign(**{label: values.to_numpy()}), notes
