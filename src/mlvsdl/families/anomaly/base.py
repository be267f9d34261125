"""The one base class every anomaly detector goes through.

A detector follows scikit-learn's outlier-detector convention (``OutlierMixin``), so a
``Pipeline`` ending in one has ``score_samples``, ``decision_function`` and ``predict``:

* ``score_samples(X)``: lower = more abnormal (the task reports ``-score_samples`` as the
  anomaly score);
* ``decision_function(X) = score_samples(X) - offset_``: negative = anomaly;
* ``predict(X)``: -1 anomaly, +1 normal.

:class:`BaseDetector` owns the threshold, so the rule is identical across families. It is set
on the training rows' scores at fit: with a float ``contamination`` c, ``offset_`` is the
c-quantile of the training ``score_samples``; with ``"auto"``, Tukey's fence: a row is flagged
when its anomaly score is above Q3 + 1.5 IQR of the training anomaly scores. ``threshold_rule_``
says which, in words.

A subclass supplies three small methods on validated float arrays:

* ``_fit(X) -> ndarray``: learn the model; return the anomaly scores (higher = more abnormal) of
  the training rows it learned from, as new rows would see them (a detector whose score of a
  training row would count the row itself, such as a nearest-neighbour distance, returns the
  leave-one-out score);
* ``_anomaly_scores(X) -> ndarray``: anomaly scores of new rows (higher = more abnormal);
* ``_contributions(X) -> ndarray (n_rows, n_features)``: why each row is unusual, per feature
  (larger = more responsible); the default is the robust deviation |x - median| / IQR-scale from
  the training rows, and ``contribution_method_`` says which method a fitted detector used.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from mlvsdl.errors import ConfigError

__all__ = [
    "ROBUST_DEVIATION",
    "TUKEY_RULE",
    "BaseDetector",
    "check_contamination",
    "robust_scale",
    "subsample_rows",
]

TUKEY_RULE = "Tukey fence on training scores (Q3 + 1.5 IQR)"
ROBUST_DEVIATION = "robust deviation |x - median| / IQR-scale from the training rows"
IQR_TO_STD = 1.349  # the IQR of a standard normal: IQR / 1.349 estimates a Gaussian's std


def check_contamination(contamination: Any) -> None:
    """``"auto"`` or a float in (0, 0.5]; raises ``ConfigError`` otherwise."""
    if contamination == "auto" and isinstance(contamination, str):
        return
    ok = isinstance(contamination, Real) and not isinstance(contamination, bool)
    if not ok or not 0 < float(contamination) <= 0.5:
        raise ConfigError(
            f"invalid contamination={contamination!r}; expected 'auto' or the expected share "
            "of anomalies, a float in (0, 0.5], e.g. 0.05."
        )


def robust_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and a robust spread (IQR / 1.349, else the std, else 1)."""
    center = np.median(X, axis=0)
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    scale = (q3 - q1) / IQR_TO_STD
    std = X.std(axis=0)
    scale = np.where(scale > 0, scale, np.where(std > 0, std, 1.0))
    return center, scale


def subsample_rows(X: np.ndarray, max_rows: int | None, random_state: Any) -> np.ndarray:
    """A seeded subsample of ``max_rows`` rows (order kept) when ``X`` has more."""
    if max_rows is None or len(X) <= max_rows:
        return X
    seed = random_state if isinstance(random_state, int | np.integer) else 0
    rows = np.sort(np.random.default_rng(seed).choice(len(X), int(max_rows), replace=False))
    return X[rows]


class BaseDetector(OutlierMixin, BaseEstimator):
    """Shared fit, threshold, scoring and contributions of every anomaly detector.

    Learned attributes: ``offset_``, ``threshold_rule_``, ``contribution_method_``,
    ``feature_center_``, ``feature_scale_``, ``n_features_in_``.
    """

    contribution_method: str = ROBUST_DEVIATION  # what ``_contributions`` computes
    # True when ``_fit`` returns leave-one-out training scores: then ``predict`` on the training
    # rows themselves (which count themselves) flags fewer than ``contamination`` of them
    leave_one_out: bool = False

    # --- hooks --------------------------------------------------------------------------------

    def _fit(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _contributions(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X - self.feature_center_) / self.feature_scale_

    # --- the contract -------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> BaseDetector:
        """Learn the detector on ``X`` (``y`` is ignored: labels are for evaluation only), then
        set the threshold on the training rows' scores."""
        check_contamination(self.contamination)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.feature_center_, self.feature_scale_ = robust_scale(X)
        train_scores = np.asarray(self._fit(X), dtype=np.float64)
        self.offset_, self.threshold_rule_ = _threshold(train_scores, self.contamination)
        self.contribution_method_ = self.contribution_method
        return self

    def _validated(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "offset_")
        return validate_data(self, X, dtype=np.float64, reset=False)

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality of each row: lower = more abnormal (the negated anomaly score)."""
        return -np.asarray(self._anomaly_scores(self._validated(X)), dtype=np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for rows flagged as anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """-1 for anomalies, +1 for normal rows."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_contributions(self, X: Any) -> np.ndarray:
        """Per row and encoded feature, how much it makes the row unusual (larger = more);
        ``contribution_method_`` names the method."""
        return np.asarray(self._contributions(self._validated(X)), dtype=np.float64)


def _threshold(train_scores: np.ndarray, contamination: Any) -> tuple[float, str]:
    """``offset_`` (on the ``score_samples`` scale) and the rule that set it."""
    if contamination == "auto":
        q1, q3 = np.percentile(train_scores, [25, 75])
        return -float(q3 + 1.5 * (q3 - q1)), TUKEY_RULE
    share = float(contamination)
    offset = float(np.percentile(-train_scores, 100.0 * share))
    return offset, f"top {100 * share:.1f} % of training scores"
