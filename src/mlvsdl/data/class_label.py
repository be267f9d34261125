"""A class label read for evaluation only (dimensionality reduction, clustering).

A task without a target fits its models on the input columns alone; a label column, when the
user names one, is checked here (it exists, has values, and has at least two of them), its
unlabelled rows are dropped, and it is kept as is: the task scores against its values, and no
model ever sees it.
"""

from __future__ import annotations

import difflib

import pandas as pd

from mlvsdl.errors import TargetError

__all__ = ["class_label"]


def class_label(frame: pd.DataFrame, label: str, task: str) -> tuple[pd.DataFrame, list[str]]:
    """Check ``label`` and drop rows where it is missing; the frame and notes for the user."""
    if label not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(label, names, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise TargetError(
            f"label column {label!r} not found.{hint} The table has {len(names)} columns; pass "
            f"one of them to --label, or leave --label out (--task {task} needs no label)."
        )
    notes: list[str] = []
    missing = frame[label].isna().to_numpy()
    if missing.all():
        raise TargetError(f"label column {label!r} has no values; choose another --label.")
    if missing.any():
        notes.append(
            f"dropped {int(missing.sum())} of {len(frame)} rows whose label {label!r} is "
            "missing (the label scores the models, so unlabelled rows cannot be scored)."
        )
        frame = frame.loc[~missing].reset_index(drop=True)
    values = frame[label].astype(str)
    if values.nunique() < 2:
        raise TargetError(
            f"label column {label!r} has one value ({values.iloc[0]!r}) in {len(values)} rows, "
            "so it cannot tell groups apart; choose another --label or leave it out."
        )
    return frame.assign(**{label: values.to_numpy(dtype=object)}), notes
