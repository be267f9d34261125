"""The evaluation label of a task without a target (anomaly detection, later clustering).

Such a task fits its models on the input columns alone; a label column, when the user names one,
is checked here, turned into what the task scores against (for anomaly detection: 1 for the
anomaly value, 0 otherwise) and kept out of the inputs. It is never given to a model.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError, TargetError

__all__ = ["anomaly_label", "check_contamination"]


def check_contamination(contamination: float | None) -> float | None:
    """``--contamination``: the share of rows expected to be anomalies, in (0, 0.5)."""
    if contamination is None:
        return None
    if isinstance(contamination, bool) or not 0 < float(contamination) < 0.5:
        raise ConfigError(
            f"--contamination must be a share of rows between 0 and 0.5 (exclusive), got "
            f"{contamination!r}; e.g. 0.01 for 1 % anomalies, or leave it out to let each "
            "detector set its threshold from its training scores."
        )
    return float(contamination)


def anomaly_label(
    frame: pd.DataFrame, label: str, anomaly_value: Any = None
) -> tuple[pd.DataFrame, Any, list[str]]:
    """Check ``label``, drop rows where it is missing, and code it 1 (anomaly) / 0 (normal).

    Returns the frame (label column coded), the value read as an anomaly (``anomaly_value``, or
    the rarer value), and notes for the user.
    """
    if label not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(label, names, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise TargetError(
            f"label column {label!r} not found.{hint} The table has {len(names)} columns; pass "
            "one of them to --label, or leave --label out to detect anomalies without labels."
        )
    notes: list[str] = []
    values = frame[label]
    missing = values.isna().to_numpy()
    if missing.all():
        raise TargetError(f"label column {label!r} has no values; choose another --label.")
    if missing.any():
        notes.append(
            f"dropped {int(missing.sum())} of {len(frame)} rows whose label {label!r} is "
            "missing (the label scores the detectors, so unlabelled rows cannot be scored)."
        )
        frame = frame.loc[~missing].reset_index(drop=True)
        values = frame[label]
    counts = values.astype(str).value_counts()
    if len(counts) < 2:
        raise TargetError(
            f"label column {label!r} has one value ({counts.index[0]!r}) in {len(values)} rows, "
            "so it cannot tell anomalies from normal rows; choose another --label or leave it "
            "out."
        )
    if anomaly_value is None:
        chosen = str(counts.index[-1])  # the rarer value (value_counts sorts by count)
        notes.append(
            f"label {label!r}: {chosen!r} marks an anomaly (the rarer value, {counts.iloc[-1]} "
            f"of {len(values)} rows); pass --anomaly-value to choose another."
        )
    else:
        chosen = str(anomaly_value)
        if chosen not in counts.index:
            shown = ", ".join(map(repr, counts.index[:8]))
            raise TargetError(
                f"--anomaly-value {anomaly_value!r} does not occur in label {label!r} (its "
                f"values: {shown}); pass one of them."
            )
    coded = (values.astype(str) == chosen).to_numpy().astype(np.int64)
    frame = frame.assign(**{label: coded})
    return frame, _plain(values[coded == 1].iloc[0]), notes


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
