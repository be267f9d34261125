"""The options of ``--task embed``, checked before anything is stored: ``--dims`` (a whole
number of at least 1, default 2) and an optional evaluation label. That ``--dims`` is below the
number of encoded input features is checked once the inputs are known (``EmbedTask.check_plan``).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import pandas as pd

from mlvsdl.data.class_label import class_label
from mlvsdl.errors import ConfigError
from mlvsdl.types import Task

__all__ = ["check_dims", "embed_options"]

DEFAULT_DIMS = 2


def check_dims(dims: Any) -> int:
    """``--dims``: the number of coordinates per row, a whole number >= 1 (default 2)."""
    if dims is None:
        return DEFAULT_DIMS
    if isinstance(dims, bool) or not isinstance(dims, Integral) or dims < 1:
        raise ConfigError(
            f"--dims must be a whole number of coordinates of at least 1, got {dims!r}; e.g. 2 "
            "for a picture, 8-50 to feed another model."
        )
    return int(dims)


def embed_options(
    frame: pd.DataFrame,
    target: str | None,
    label: str | None,
    dims: Any,
    anomaly_value: Any,
    contamination: Any,
) -> tuple[pd.DataFrame, Task, dict[str, Any], str | None, list[str]]:
    """The frame (unlabelled rows dropped), task, options, excluded column and notes."""
    if target is not None:
        raise ConfigError(
            f"--task embed learns without a target; to score the embeddings against a column, "
            f"pass it as --label {target} (it is then used for evaluation only)."
        )
    if anomaly_value is not None or contamination is not None:
        raise ConfigError(
            "--anomaly-value and --contamination belong to --task anomaly; leave them out."
        )
    options: dict[str, Any] = {"dims": check_dims(dims)}
    if label is None:
        return frame, Task.EMBED, options, None, []
    frame, notes = class_label(frame, str(label), "embed")
    options["n_label_values"] = int(frame[label].nunique())
    return frame, Task.EMBED, options, str(label), notes
