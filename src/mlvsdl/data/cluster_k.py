"""``--k`` of ``--task cluster``, checked (the evaluation label: ``data/class_label.py``).

``--k`` must be at least 2 and at most the number of rows; ``TaskSpec.check_splits`` later checks
it against the rows a model is fitted on.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from mlvsdl.errors import ConfigError

__all__ = ["check_k"]


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
