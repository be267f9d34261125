"""The analysis step: what the report needs from the data, computed while the data is in memory.

The store keeps no copy of the data, so everything a report shows beyond the leaderboard (cost
profiles, importances, confusion matrices, learning curves, the recommendation) is computed at
the end of ``compare`` (learning curves only with ``curves=True``, or later by ``mlvsdl curves``
from the original file) and written to the store as ONE JSON document per run:

    <store>/runs/<run_id>/analysis.json

Why a JSON artifact rather than new tables: it is written atomically in one rename
(``write_bytes_atomic``), holds nested data (curves with bands, matrices) that tables would
flatten, carries a ``format`` number for later changes, and, being plain data, is safe to read.
Its sections (each a key; a failing section is logged and recorded under ``errors`` without
stopping the others):

``reference_row`` training medians/modes (the baseline of per-row explanations);
``costs`` per model (see :mod:`~mlvsdl.evaluate.cost`); ``importance`` per model plus
``agreement``; ``diagnostics`` per model (confusion matrix / residual histograms on the test
rows); ``overfitting`` per model; ``engineering``; ``curves`` with ``crossover``; ``examples``
(one held-out row explained; for text and images a few rows, word by word or pixel by pixel, see
:mod:`~mlvsdl.evaluate.examples`); ``attention`` (text runs with the transformer);
``recommendation``; ``errors``; ``timings_s``; ``skipped`` (per section, the models left out
because the run's time budget ended: past it, only the best model of each kind is measured).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import StoreError
from mlvsdl.evaluate.cost import profile_candidate
from mlvsdl.evaluate.diagnostics import error_diagnostics, overfitting
from mlvsdl.evaluate.engineering import measure_engineering
from mlvsdl.evaluate.ensembles import ensemble_summary
from mlvsdl.evaluate.examples import attention_section, media_examples
from mlvsdl.evaluate.importance import (
    ModelImportance,
    agreement,
    native_importance,
    permutation_importance,
)
from mlvsdl.evaluate.learning import curves_section
from mlvsdl.evaluate.local import reference_values
from mlvsdl.evaluate.recommend import recommend
from mlvsdl.evaluate.rundata import RunData, load_run_data, read_options, source_path
from mlvsdl.explain import ROW_EXPLAINERS, explain_row
from mlvsdl.families.registry import all_families
from mlvsdl.store import Store
from mlvsdl.store.artifacts import write_bytes_atomic
from mlvsdl.types import Modality, Schema, Task

__all__ = [
    "ANALYSIS_FILE",
    "RunData",
    "analyse_run",
    "analysis_path",
    "load_analysis",
    "load_run_data",
    "read_options",
    "save_analysis",
    "source_path",
    "update_curves",
]

logger = logging.getLogger(__name__)

ANALYSIS_FILE = "analysis.json"
FORMAT = 1
IMPORTANCE_ROWS = 500
IMPORTANCE_TIME_FACTOR = 2.0  # the importance section's time, in units of the cheap budget
EXPLAIN_ROWS = 200


def analysis_path(store: Store, run_id: str) -> Path:
    return store.run_dir(run_id) / ANALYSIS_FILE


def load_analysis(store: Store, run_id: str) -> dict[str, Any] | None:
    """The run's analysis document, or None if it has none (an older or unfinished run)."""
    path = analysis_path(store, run_id)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"analysis of run {run_id} at {path} is unreadable: {exc}") from None


def save_analysis(store: Store, run_id: str, document: dict[str, Any]) -> Path:
    path = analysis_path(store, run_id)
    write_bytes_atomic(path, json.dumps(document, default=_json_default, indent=1).encode())
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


class _Context:
    """What every section needs: the store rows, the data, the fitted models, the deadlines."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        data: RunData,
        models: Mapping[str, Any],
        budget_s: float,
        deadline: float | None = None,  # a perf_counter time: the end of the run's budget
    ) -> None:
        self.store, self.run_id, self.data, self.budget_s = store, run_id, data, budget_s
        self.deadline = deadline
        self.skipped: dict[str, list[str]] = {}  # section -> models left out at the deadline
        self._models = dict(models)
        self.candidates = store.db.candidates(run_id, refits=False, ensembles=False)
        self.done = [c for c in self.candidates if c["status"] == "completed"]
        families = {f.key: f for f in all_families()}
        self.titles = {
            c["name"]: getattr(families.get(c["family"]), "title", c["name"])
            for c in self.candidates
        }
        self.interpretable = {
            c["name"]: bool(getattr(families.get(c["family"]), "interpretable", False))
            for c in self.candidates
        }

    def model(self, name: str) -> Any:
        if name not in self._models:
            self._models[name] = self.store.load_model(self.run_id, name)
        return self._models[name]

    def family(self, name: str) -> str:
        return next((c["family"] for c in self.candidates if c["name"] == name), name)

    def ranked(self) -> list[dict[str, Any]]:
        sign = 1 if self.data.metric.greater_is_better else -1
        unscored = float("inf")  # a model with no validation score goes last
        return sorted(
            self.done,
            key=lambda c: unscored if c["val_score"] is None else -sign * float(c["val_score"]),
        )

    def in_time(self, section: str) -> Iterator[dict[str, Any]]:
        """The completed candidates, best first, for a section that measures each model.

        Past the run's deadline only the best model of each kind is still measured (the ones
        the report shows); the others are left out and listed in ``skipped[section]``.
        """
        kinds: set[str] = set()
        for cand in self.ranked():
            late = self.deadline is not None and time.perf_counter() > self.deadline
            if late and cand["kind"] in kinds:
                self.skipped.setdefault(section, []).append(cand["name"])
                continue
            kinds.add(cand["kind"])
            yield cand

    def sample(self, rows: np.ndarray, size: int) -> np.ndarray:
        rng = np.random.default_rng(self.data.seed)
        return np.sort(rng.choice(rows, size=min(size, len(rows)), replace=False))


def _section(doc: dict[str, Any], name: str, fn: Callable[[], Any]) -> None:
    start = time.perf_counter()
    try:
        doc[name] = fn()
    except Exception as exc:  # one broken section must not cost the user the others
        logger.warning("analysis section %s failed: %s", name, exc, exc_info=True)
        doc.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
    doc.setdefault("timings_s", {})[name] = round(time.perf_counter() - start, 3)


def analyse_run(
    store: Store,
    run_id: str,
    data: RunData,
    models: Mapping[str, Any],
    *,
    curves: bool = False,
    time_left_s: float | None = None,
    budget_s: float = 20.0,
) -> dict[str, Any]:
    """Compute every analysis section for a finished run and write ``analysis.json``.

    ``budget_s`` bounds the cheap sections (importance, latency). ``time_left_s`` is what
    remains of the run's time budget (None: no limit): with ``curves``, whatever the cheap
    sections leave of it goes a quarter to the feature-engineering refits and the rest to the
    learning curves; without, neither runs (both refit models).
    """
    deadline = None if time_left_s is None else time.perf_counter() + time_left_s
    ctx = _Context(store, run_id, data, models, budget_s, deadline)
    doc: dict[str, Any] = {"format": FORMAT, "run_id": run_id, "created_at": _now()}
    doc["errors"], doc["timings_s"] = {}, {}
    _section(
        doc, "reference_row", lambda: reference_values(data.X.iloc[data.splits.train], data.schema)
    )
    task_sections = _TASK_SECTIONS.get(data.schema.task)
    if task_sections is not None:  # a task with sections of its own (no target to predict)
        task_sections(ctx, doc)
        doc["skipped"] = ctx.skipped
        save_analysis(store, run_id, doc)
        return doc
    _section(doc, "importance", lambda: _importance(ctx, doc.get("reference_row") or {}))
    if data.schema.modality is Modality.TEXT:
        _section(doc, "attention", lambda: attention_section(ctx))
    _section(doc, "costs", lambda: _costs(ctx))
    _section(doc, "diagnostics", lambda: _diagnostics(ctx))
    _section(doc, "overfitting", lambda: overfitting(store.db.metrics(run_id), data.metric))
    every = store.db.candidates(run_id, refits=False)  # the ensembles too
    _section(doc, "ensembles", lambda: ensemble_summary(every, data.metric))
    if curves:
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        _measured_sections(ctx, doc, left)
    else:
        doc["curves"] = {"status": "not run", "reason": "run with --curves or 'mlvsdl curves'"}
    _section(doc, "recommendation", lambda: _recommend(ctx, doc))
    _section(doc, "examples", lambda: _examples(ctx, doc))
    doc["skipped"] = ctx.skipped  # models left out of a section at the budget's end
    save_analysis(store, run_id, doc)
    return doc


def _anomaly_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """An anomaly run: score distributions and curves, costs, the recommendation, the most
    unusual held-out rows explained, and (with a label) the supervised reference."""
    from mlvsdl.evaluate import anomaly

    _section(doc, "anomaly", lambda: anomaly.anomaly_section(ctx))
    _shared_sections(ctx, doc)
    chosen = (doc.get("recommendation") or {}).get("model")
    _section(doc, "flagged", lambda: anomaly.flagged_section(ctx, chosen))
    _section(doc, "supervised", lambda: anomaly.supervised_section(ctx))


def _embed_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """A dimensionality-reduction run: every model's metrics, costs, the recommendation, and
    2-D maps of the held-out rows for the best ML and DL embeddings."""
    from mlvsdl.evaluate import embed

    _section(doc, "embeddings", lambda: embed.embeddings_section(ctx))
    _shared_sections(ctx, doc)
    _section(doc, "maps", lambda: embed.maps_section(ctx))


def _cluster_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """A clustering run: each model's rule and sizes, costs, the recommendation, and for the
    best classical and deep clusterings the cluster profiles and the 2-D map."""
    from mlvsdl.evaluate import cluster

    _section(doc, "clusterers", lambda: cluster.clusterers_section(ctx))
    _shared_sections(ctx, doc)
    best = cluster.best_by_kind(ctx)
    _section(doc, "clusters", lambda: cluster.profiles_section(ctx, best))
    _section(doc, "cluster_map", lambda: cluster.map_section(ctx, best))


def _forecast_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """A forecasting run: the test window as the best classical and deep models and the
    baseline forecast it, errors by step ahead and by series, costs, the recommendation."""
    from mlvsdl.evaluate import forecast

    _section(doc, "backtest", lambda: forecast.backtest_section(ctx))
    _section(doc, "horizon_errors", lambda: forecast.horizon_section(ctx))
    _section(doc, "series_errors", lambda: forecast.series_section(ctx))
    _shared_sections(ctx, doc)


def _recommend_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """A recommendation run: every model's metrics and answer time, the metric by user
    activity, costs, the recommendation, and example users with the best models' lists."""
    from mlvsdl.evaluate import recsys

    _section(doc, "recommenders", lambda: recsys.recommenders_section(ctx))
    _section(doc, "activity", lambda: recsys.activity_section(ctx))
    _shared_sections(ctx, doc)
    _section(doc, "rec_examples", lambda: recsys.examples_section(ctx))


def _synth_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """A synthetic-data run: privacy and train-on-real utility, costs, the recommendation, and
    for the best classical and deep models the marginals and the associations' difference."""
    from mlvsdl.evaluate import synthesize

    _section(doc, "synth_models", lambda: synthesize.models_section(ctx))
    _shared_sections(ctx, doc)
    best = synthesize.best_by_kind(ctx)
    _section(doc, "synth_marginals", lambda: synthesize.marginals_section(ctx, best))
    _section(doc, "synth_associations", lambda: synthesize.associations_section(ctx, best))


def _shared_sections(ctx: _Context, doc: dict[str, Any]) -> None:
    """What every task without a target reports alike: costs, overfitting (train against
    validation), no learning curves, and the recommendation."""
    _section(doc, "costs", lambda: _costs(ctx))
    _section(
        doc, "overfitting", lambda: overfitting(ctx.store.db.metrics(ctx.run_id), ctx.data.metric)
    )
    doc["curves"] = {"status": "not run", "reason": "learning curves cover prediction tasks only"}
    _section(doc, "recommendation", lambda: _recommend(ctx, doc))


# The analysis of each task without a target; the prediction tasks take the default sections.
_TASK_SECTIONS: dict[Task, Callable[[_Context, dict[str, Any]], None]] = {
    Task.ANOMALY: _anomaly_sections,
    Task.EMBED: _embed_sections,
    Task.CLUSTER: _cluster_sections,
    Task.FORECAST: _forecast_sections,
    Task.RECOMMEND: _recommend_sections,
    Task.SYNTHESIZE: _synth_sections,
}


def _measured_sections(ctx: _Context, doc: dict[str, Any], budget_s: float | None) -> None:
    """The sections that refit models: feature engineering (a quarter of the time), then the
    learning curves (the rest). Only with curves asked for, as they cost real training time."""
    start = time.perf_counter()
    fe_budget = 0.25 * budget_s if budget_s is not None else 120.0
    _section(doc, "engineering", lambda: _engineering(ctx, doc, fe_budget))
    left = None if budget_s is None else max(budget_s - (time.perf_counter() - start), 0.0)
    _section(doc, "curves", lambda: _curves(ctx, left))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _importance(ctx: _Context, reference: dict[str, Any]) -> dict[str, Any]:
    data = ctx.data
    rows = ctx.sample(data.splits.test, IMPORTANCE_ROWS)
    X, y = data.X.iloc[rows], data.y[rows]
    per_model_s = min(1.0, ctx.budget_s / (2 * max(len(ctx.done), 1)))
    kinds = {c["name"]: c["kind"] for c in ctx.done}
    out: dict[str, Any] = {}
    # Best models first; past the section's time (its share of the analysis budget: a text
    # model's integrated gradients take seconds a row), the rest are left out, saying so.
    ends = time.perf_counter() + IMPORTANCE_TIME_FACTOR * ctx.budget_s
    skipped: list[str] = []
    for cand in ctx.ranked():
        if time.perf_counter() > ends and cand["family"] != "dummy":
            skipped.append(cand["name"])
            continue
        name, estimator = cand["name"], ctx.model(cand["name"])
        if cand["family"] == "dummy":  # ignores its inputs: nothing to measure
            zeros = dict.fromkeys(data.schema.feature_names, 0.0)
            out[name] = ModelImportance(name, True, zeros, zeros, 0, len(rows)).to_dict()
            continue
        means, stds, repeats = permutation_importance(
            estimator,
            X,
            y,
            data.metric,
            data.schema.feature_names,
            random_state=data.seed,
            max_time_s=per_model_s,
        )
        native = _native_or_none(estimator, X.iloc[:EXPLAIN_ROWS], data.schema, reference)
        out[name] = ModelImportance(
            name,
            ctx.interpretable[name],
            means,
            stds,
            repeats,
            len(rows),
            native[0] if native else None,
            native[1] if native else None,
        ).to_dict()
    models = [ModelImportance(**v) for k, v in out.items() if ctx.family(k) != "dummy"]
    agree = agreement(models, kinds)
    found = {"models": out, "agreement": agree.to_dict() if agree else None, "split": "test"}
    return found | ({"skipped_for_time": skipped} if skipped else {})


def _native_or_none(
    estimator: Any, X: pd.DataFrame, schema: Schema, reference: dict[str, Any]
) -> tuple[str, dict[str, float]] | None:
    try:
        return native_importance(estimator, X, schema, reference)
    except Exception as exc:  # a native view is a bonus; permutation importance still stands
        logger.warning("native importance failed: %s", exc, exc_info=True)
        return None


def _costs(ctx: _Context) -> dict[str, Any]:
    rows = ctx.data.X.iloc[ctx.sample(ctx.data.splits.test, 50)]
    out = {}
    for cand in ctx.in_time("costs"):
        name = cand["name"]
        profile = profile_candidate(
            ctx.model(name),
            cand,
            rows,
            lambda name=name: ctx.store.load_model(ctx.run_id, name),
            classification=ctx.data.schema.task.is_classification,
            max_time_s=min(0.5, ctx.budget_s / (4 * max(len(ctx.done), 1))),
            schema=ctx.data.schema,
        )
        out[name] = profile.to_dict()
    return out


def _diagnostics(ctx: _Context) -> dict[str, Any]:
    test = ctx.data.splits.test
    X, y = ctx.data.X.iloc[test], ctx.data.y[test]
    return {
        c["name"]: error_diagnostics(ctx.model(c["name"]), X, y, ctx.data.schema)
        for c in ctx.in_time("diagnostics")
    }


def _engineering(ctx: _Context, doc: dict[str, Any], budget_s: float) -> dict[str, Any] | None:
    ranking: list[str] = []
    best_ml = next((c for c in ctx.ranked() if c["kind"] == "ml"), None)
    imp = (doc.get("importance") or {}).get("models", {})
    if best_ml is not None and best_ml["name"] in imp:
        means = imp[best_ml["name"]]["permutation_mean"]
        ranking = sorted(means, key=lambda k: -means[k])
    data = ctx.data
    return measure_engineering(
        data.X,
        data.y,
        data.schema,
        data.splits,
        data.metric,
        ctx.candidates,
        ranking,
        random_state=data.seed,
        deadline=time.perf_counter() + budget_s,
    )


def _curves(ctx: _Context, budget_s: float | None) -> dict[str, Any]:
    return curves_section(ctx.data, ctx.ranked(), ctx.titles, budget_s)


def _recommend(ctx: _Context, doc: dict[str, Any]) -> dict[str, Any] | None:
    curves = doc.get("curves") or {}
    found = recommend(
        ctx.candidates,
        ctx.data.metric,
        costs=doc.get("costs") or {},
        interpretable=ctx.interpretable,
        titles=ctx.titles,
        crossover=curves.get("crossover"),
        curves_status=str(curves.get("status", "not run")),
        curves_reason=str(curves.get("reason", "")),
    )
    return found.to_dict() if found else None


def _examples(ctx: _Context, doc: dict[str, Any]) -> dict[str, Any] | None:
    rec = doc.get("recommendation")
    if not rec:
        return None
    modality = ctx.data.schema.modality
    if modality in (Modality.TEXT, Modality.IMAGE):
        return media_examples(ctx)
    if modality not in ROW_EXPLAINERS:
        return {"row": None, "models": {}, "reason": f"not available for {modality} data yet"}
    kinds = {c["name"]: c["kind"] for c in ctx.done}
    other = next(
        (c["name"] for c in ctx.ranked() if c["kind"] != rec["kind"] and c["family"] != "dummy"),
        None,
    )
    position = int(ctx.data.splits.test[0])
    row = ctx.data.X.iloc[[position]]
    out = {"row": position, "models": {}}
    for name in [rec["model"], *([other] if other else [])]:
        explanation = explain_row(
            ctx.model(name), name, row, ctx.data.schema, doc.get("reference_row") or {}, top=8
        )
        out["models"][name] = explanation.to_dict() | {"kind": kinds[name]}
    return out


def update_curves(
    store: Store, run_id: str, data: RunData, *, budget_s: float | None
) -> dict[str, Any]:
    """Trace learning curves (and measure feature engineering) for a stored run, and merge them
    into its analysis."""
    doc = load_analysis(store, run_id) or {"format": FORMAT, "run_id": run_id, "errors": {}}
    ctx = _Context(store, run_id, data, {}, 0.0)
    for name in ("curves", "engineering"):
        doc.get("errors", {}).pop(name, None)
    _measured_sections(ctx, doc, budget_s)
    _section(doc, "recommendation", lambda: _recommend(ctx, doc))
    save_analysis(store, run_id, doc)
    return doc
