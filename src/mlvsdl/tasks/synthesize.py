"""Synthetic tables: generate new rows like the table's, judged against held-out real rows.

A synthesizer is fitted on training rows alone (``fit(X)``; every generated column is an input,
the ``--target`` included: it only names the column utility is measured on). To score a model on
some real rows it generates as many rows (seed ``SAMPLE_SEED``) and compares them with those rows,
so validation compares with the validation rows and the test with the held-out test rows —
never with the rows the model was fitted on. The split is shuffled, and validation is always one
holdout (a fifth of the training part), so each family trains once: a generator's score does not
need K refits and a GAN's costs minutes.

Metrics (``evaluate/synth_metrics.py`` has their definitions), all stored for every model:

* fidelity — ``column_distance`` (mean of the per-column KS or total variation distance),
  ``association_difference`` (mean |real - synthetic| pairwise association), ``detection_auc``
  (real vs synthetic, 0.5 is indistinguishable); ``fidelity`` is their mean as scores in [0, 1]:
  1 - column distance, 1 - association difference and 1 - 2 |max(AUC, 0.5) - 0.5|;
* utility — train on synthetic, test on real: ``utility_raw`` (ROC AUC, accuracy or R² on
  ``--target``; without one, the mean over the first ``UTILITY_COLUMNS`` columns), and
  ``utility``, the same in [0, 1] (ROC AUC: 2 (AUC - 0.5); R²: clipped at 0; accuracy as is);
* ``quality`` (**primary**) — the mean of ``fidelity`` and ``utility``.

Privacy (distances to training vs held-out rows, exact copies) needs the training rows, which a
model's score does not see: the run's analysis computes it for every model (``evaluate/
synthesize.py``), beside train-on-real utility. Cost is the shared fit time, rows generated per
second (from the timed ``predict``, which is sampling) and model size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.split import Splits, make_splits
from mlvsdl.data.synth_options import check_min_rows
from mlvsdl.errors import ConfigError
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Modality, Schema, Task

__all__ = ["SYNTHESIZE", "SynthPredictions", "SynthesizeTask", "quality_scores"]

SAMPLE_SEED = 0
UTILITY_COLUMNS = 10
METRIC_SEED = 0


@dataclass(frozen=True, eq=False)
class SynthPredictions(Predictions):
    """Generated rows (``samples``) beside the real rows they are judged against
    (``reference``), with the generated columns and the utility target."""

    samples: pd.DataFrame | None = None
    reference: pd.DataFrame | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    target: str | None = None

    def take(self, rows: np.ndarray) -> Predictions:
        return self  # no bootstrap: the spread of a generator's score is not resampled


def _normalized_utility(metric: str, value: float) -> float:
    if not np.isfinite(value):
        return 0.0
    if metric == "roc_auc":
        return float(np.clip(2 * (value - 0.5), 0.0, 1.0))
    return float(np.clip(value, 0.0, 1.0))


def quality_scores(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    target: str | None,
    seed: int = METRIC_SEED,
) -> dict[str, float]:
    """Every stored metric of ``synth`` judged against ``real`` (see the module docstring)."""
    from mlvsdl.evaluate import synth_metrics as sm  # LightGBM: imported when scoring

    distances = sm.column_distances(real, synth, numeric, categorical)
    column_distance = float(np.mean(list(distances.values()))) if distances else 0.0
    association = sm.association_difference(
        sm.association_matrix(real, numeric, categorical),
        sm.association_matrix(synth, numeric, categorical),
    )
    auc = sm.detection_auc(real, synth, numeric, categorical, seed)
    fidelity = float(
        np.mean([1 - column_distance, 1 - association, 1 - 2 * abs(max(auc, 0.5) - 0.5)])
    )
    order = [c for c in real.columns if c in {*numeric, *categorical}]
    targets = [target] if target else order[:UTILITY_COLUMNS]
    raw, normalized = [], []
    for column in targets:
        metric, value = sm.utility(synth, real, column, numeric, categorical, seed)
        raw.append(value)
        normalized.append(_normalized_utility(metric, value))
    utility = float(np.mean(normalized)) if normalized else 0.0
    return {
        "quality": (fidelity + utility) / 2,
        "fidelity": fidelity,
        "column_distance": column_distance,
        "association_difference": association,
        "detection_auc": auc,
        "utility": utility,
        "utility_raw": float(np.nanmean(raw)) if raw and np.isfinite(raw).any() else float("nan"),
    }


class SynthesizeTask(TaskSpec):
    task = Task.SYNTHESIZE
    title = "Synthetic data"
    target = "evaluation"  # no target removed from the inputs; --target names utility's column
    metrics = (
        "quality",
        "fidelity",
        "column_distance",
        "association_difference",
        "detection_auc",
        "utility",
        "utility_raw",
    )
    default_metric = "quality"
    baseline = "dummy"
    answers = ("sample",)
    report_sections = (
        "recommendation",
        "leaderboard",
        "synth_scores",
        "synth_marginals",
        "synth_associations",
        "synth_privacy",
        "cost",
        "provenance",
    )

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        """Shuffled; validation is the first fold of five (one holdout, whatever ``n_folds``)."""
        splits = make_splits(
            np.zeros(n_rows), Task.REGRESSION, test_size=test_size, n_folds=5, random_state=seed
        )
        return Splits(train=splits.train, test=splits.test, folds=splits.folds[:1])

    def check_plan(self, frame: pd.DataFrame, schema: Schema, metric: str) -> None:
        from mlvsdl.families.synth.codec import synth_columns

        if schema.modality is not Modality.TABULAR:
            raise ConfigError(
                f"--task synthesize generates tables; {schema.modality} data is not supported "
                "yet (generated images are not built); pass a table."
            )
        check_min_rows(len(frame))
        columns, _ = synth_columns(schema)
        if not columns:
            raise ConfigError(
                "--task synthesize generates numeric, boolean and categorical columns, and this "
                "table has none a model can use; check the schema (mlvsdl show)."
            )
        target = schema.options.get("target")
        if target is not None and target not in columns:
            raise ConfigError(
                f"--target {target!r} is not a generated column (it is a date, a text, or "
                "dropped: see mlvsdl show); name a numeric or categorical column."
            )

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X)

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        """As many generated rows as ``X`` has (seeded), to be judged against ``X``."""
        from mlvsdl.families.synth.base import final_sampler

        sampler = final_sampler(estimator)
        samples = sampler.sample(len(X), random_state=SAMPLE_SEED)
        codec = sampler.codec_
        return SynthPredictions(
            values=np.arange(len(samples)),
            samples=samples,
            reference=X,
            numeric=tuple(codec.num_columns_),
            categorical=tuple(codec.cat_columns_),
            target=getattr(sampler, "target", None),
        )

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        assert isinstance(predictions, SynthPredictions)
        assert predictions.reference is not None and predictions.samples is not None
        return quality_scores(
            predictions.reference,
            predictions.samples,
            list(predictions.numeric),
            list(predictions.categorical),
            predictions.target,
        )

    def output_columns(self, schema: Schema) -> list[str]:
        from mlvsdl.families.synth.codec import synth_columns

        return list(synth_columns(schema)[0])

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        assert isinstance(predictions, SynthPredictions) and predictions.samples is not None
        return predictions.samples.reset_index(drop=True)

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        frame = self.to_frame(predictions, schema)
        return records(frame)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: numpy scalars as Python values, missing values as None."""
    out = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        out.append({k: v.item() if hasattr(v, "item") else v for k, v in row.items()})
    return out


def sample_model(
    result: Any,
    rows: Any,
    model: str | None = None,
    condition: list[str] | dict[str, Any] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """``rows`` generated rows from ``model`` (default: the best) of a synthesize run's
    ``result`` (``mlvsdl sample``, ``/sample``); every input checked, one-line errors."""
    from mlvsdl.data.synth_options import check_sample_rows
    from mlvsdl.errors import StoreError

    rows = check_sample_rows(rows)
    if result.schema.task != Task.SYNTHESIZE:
        raise ConfigError(
            f"run {result.run_id} is a {result.schema.task} run; 'mlvsdl sample' generates rows "
            "from a --task synthesize run (use 'mlvsdl predict' for this one)."
        )
    name = model or result.best_model_name
    if name not in result.models:
        raise StoreError(
            f"run {result.run_id} has no fitted model {name!r}; choose one of: "
            f"{', '.join(result.models)}."
        )
    return result.models[name].sample(rows, condition=condition, random_state=seed)


SYNTHESIZE = SynthesizeTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(SYNTHESIZE)


_register()
