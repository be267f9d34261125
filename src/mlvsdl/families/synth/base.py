"""What every table synthesizer shares: the codec, ``sample`` with conditions, the pipeline.

A synthesizer is a scikit-learn estimator: ``fit(X)`` learns the raw training rows (through
:class:`~mlvsdl.families.synth.codec.TableCodec`), ``sample(n, condition, random_state)``
returns ``n`` new raw rows, valid against the run's schema. A subclass implements
``_fit_encoded(num, cat, rng)`` and ``_sample_encoded(n, rng) -> (num, cat)``; a condition
(``{column: value}`` on categorical columns) is met by rejection (drawing until enough rows
match), unless the subclass conditions natively (``_sample_conditioned``).

Families return ``SamplerPipeline([("model", synthesizer)])``: a one-step pipeline, so the
budget reaches a network's allowance as ``model__max_time_s`` like every family's, with
``sample`` passed through; ``result.models[m].sample(n)`` calls it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from mlvsdl.data.synth_options import check_sample_rows, parse_conditions
from mlvsdl.errors import DataError
from mlvsdl.families.synth.codec import TableCodec

__all__ = ["BaseSynthesizer", "SamplerPipeline", "final_sampler"]

REJECTION_ROUNDS = 40  # batches drawn to meet a condition before giving up
MIN_BATCH = 512


class BaseSynthesizer(BaseEstimator):
    """Shared fit (codec) and sample (conditions); see the module docstring."""

    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    target: str | None  # the column whose prediction scores the rows' utility (None: each)
    random_state: int | None

    def fit(self, X: pd.DataFrame, y: Any = None) -> BaseSynthesizer:
        if len(X) < 2:
            raise DataError(f"a synthesizer needs at least 2 training rows, got {len(X)}.")
        self.codec_ = TableCodec(tuple(self.columns), tuple(self.numeric)).fit(X)
        num, cat = self.codec_.encode(X)
        self._fit_encoded(num, cat, np.random.default_rng(self.random_state))
        self.n_train_rows_ = len(X)
        return self

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _sample_conditioned(
        self, n: int, rng: np.random.Generator, codes: dict[int, int]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows generated under ``codes`` ({categorical index: code}); None: use rejection."""
        return None

    def levels(self) -> dict[str, list[Any]]:
        check_is_fitted(self, "codec_")
        return self.codec_.levels()

    def sample(
        self,
        n: int,
        condition: dict[str, Any] | list[str] | None = None,
        random_state: int | None = None,
    ) -> pd.DataFrame:
        """``n`` new rows (raw values, the table's columns); ``condition`` fixes categorical
        columns ({"col": value} or ["col=value"]); ``random_state`` makes them repeatable."""
        check_is_fitted(self, "codec_")
        n = check_sample_rows(n)
        rng = np.random.default_rng(random_state)
        wanted = parse_conditions(condition, self.codec_.levels())
        if not wanted:
            return self.codec_.decode(*self._sample_encoded(n, rng))
        codes = {}
        for column, value in wanted.items():
            j = self.codec_.cat_columns_.index(column)
            codes[j] = self.codec_.raw_values_[j].index(value)
        native = self._sample_conditioned(n, rng, codes)
        if native is not None:
            return self.codec_.decode(*native)
        return self.codec_.decode(*self._rejection(n, rng, codes, wanted))

    def _rejection(
        self, n: int, rng: np.random.Generator, codes: dict[int, int], wanted: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        nums, cats, found = [], [], 0
        batch = max(MIN_BATCH, 2 * n)
        for _ in range(REJECTION_ROUNDS):
            num, cat = self._sample_encoded(batch, rng)
            keep = np.ones(len(cat), dtype=bool)
            for j, code in codes.items():
                keep &= cat[:, j] == code
            nums.append(num[keep])
            cats.append(cat[keep])
            found += int(keep.sum())
            if found >= n:
                return np.concatenate(nums)[:n], np.concatenate(cats)[:n]
        shown = ", ".join(f"{k}={v}" for k, v in wanted.items())
        raise DataError(
            f"this model generated {found} of {n} rows with {shown} in "
            f"{REJECTION_ROUNDS * batch} draws; the condition is too rare for it: ask for fewer "
            "rows, or use a model that conditions (ctgan)."
        )


class SamplerPipeline(Pipeline):
    """A pipeline whose last step is a synthesizer; ``sample`` is the synthesizer's."""

    def sample(
        self,
        n: int,
        condition: dict[str, Any] | list[str] | None = None,
        random_state: int | None = None,
    ) -> pd.DataFrame:
        return final_sampler(self).sample(n, condition=condition, random_state=random_state)

    def levels(self) -> dict[str, list[Any]]:
        return final_sampler(self).levels()


def final_sampler(estimator: Any) -> BaseSynthesizer:
    """The synthesizer at the end of ``estimator`` (a pipeline, or the synthesizer itself)."""
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if not hasattr(model, "sample"):
        raise DataError(f"{type(model).__name__} cannot generate rows; it is not a synthesizer.")
    return model
