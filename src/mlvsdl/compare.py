"""``compare``: the whole flow from data to a stored, ranked set of fitted models.

    data -> read_table -> infer_schema -> make_splits -> families (cheap first, within budget)
         -> run_trial each -> store (artifact, then its row) -> CompareResult

All validation of the user's input happens before the run is written to the store, so bad input
leaves nothing behind. From then on each finished candidate is durable on its own.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import monotonic as _monotonic  # compare()'s ``time`` argument shadows the module
from typing import Any

import sklearn

from mlvsdl.evaluate.local import reference_values
from mlvsdl.families.base import Family
from mlvsdl.plan import RunOptions, RunPlan, plan_run, test_source
from mlvsdl.result import CompareResult, load_run
from mlvsdl.search.budget import Budget
from mlvsdl.search.ensemble import build_ensembles
from mlvsdl.search.executor import (
    Executor,
    check_executor,
    measured_trial,
    open_executor,
    run_families,
)
from mlvsdl.search.record import now_iso, record_trial, to_json
from mlvsdl.search.refit import refit_on_all_rows
from mlvsdl.search.resume import open_run
from mlvsdl.search.trial import TrialSpec
from mlvsdl.store import Store
from mlvsdl.store.provenance import hardware, library_versions
from mlvsdl.track import mlflow as tracking
from mlvsdl.types import Kind, Task

__all__ = ["Event", "compare"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Progress of a comparison, for whoever renders it (the CLI shows a live table)."""

    kind: str  # "start" | "trial_start" | "trial_end" | "analysis"
    family: str | None = None
    elapsed_s: float = 0.0
    remaining_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Event], None]


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def compare(
    data: Any,
    target: str | None = None,
    *,
    task: Task | str | None = None,
    metric: str | None = None,
    time_budget: float | None = 300,
    seed: int = 0,
    families: Sequence[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    cv: int | None = None,
    test_size: float = 0.2,
    names: Sequence[str] | None = None,
    na_values: Sequence[str] | None = None,
    on_event: Listener | None = None,
    modality: str | None = None,
    on_bad_file: str = "skip",
    curves: bool = False,
    label_from_name: str | None = None,
    label: str | None = None,
    anomaly_value: Any = None,
    contamination: float | None = None,
    dims: int | None = None,
    k: int | None = None,
    test: Any = None,
    series: str | None = None,
    horizon: int | None = None,
    known: Sequence[str] | None = None,
    refit_all: bool = False,
    user: str | None = None,
    item: str | None = None,
    rating: str | None = None,
    time: str | None = None,
    mlflow: str | bool | None = None,
    resume: str | None = None,
    jobs: int | None = None,
    ray: str | bool | None = None,
    started: float | None = None,
) -> CompareResult:
    """Train every suitable ML and DL family on ``data`` under one protocol and rank them.

    Args:
        data: a path (CSV/TSV/Parquet/JSON Lines, optionally gzipped), a pandas DataFrame, a
            folder of images or audio files (one subfolder per class), or ``(arrays, labels)``.
        target: the column to predict; ``label`` for a folder or arrays. None for a task
            without a target (``task="anomaly"``).
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` (inferred when None) or
            ``"anomaly"`` or ``"embed"`` (never inferred: models fit on the inputs alone).
        metric: the primary metric used for ranking; the task's default when None.
        time_budget: seconds for the whole comparison (None: no limit); 15 % of it (10 to 90 s)
            is kept for the analysis and the report that follow the families.
        seed: seeds the split, every model and every subsample.
        families: family keys to try (see ``mlvsdl families``); all suitable ones when None.
        store: store directory; ``$MLVSDL_STORE`` or ``./mlvsdl-runs`` when None.
        cv: folds of cross-validation inside the training part; 1 means one holdout fifth
            (None: 5 up to 20k rows, 3 up to 60k, else 1).
        test_size: fraction of rows held out for the final test, never used for selection.
        names: column names for a CSV/TSV file without a header row.
        na_values: extra cell values read as missing in CSV/TSV files (default: ``?``).
        on_event: called with an :class:`Event` as the run progresses.
        modality: ``"tabular"``, ``"text"``, ``"image"`` or ``"audio"``; inferred when None.
        on_bad_file: ``"skip"`` (default) leaves out rows with an unreadable file or empty
            text, noting how many and which; ``"fail"`` refuses such data.
        curves: also trace learning curves (and their ML/DL crossover) at the end; the families
            then get 70 % of ``time_budget`` and the curves what is left.
        label_from_name: for a folder, a file-name pattern that holds the label, such as
            ``"{label}_*.wav"``.
        label: for ``task="anomaly"`` or ``"embed"``, a column read for evaluation only (it
            stratifies the split and scores the models; no model sees it).
        anomaly_value: the label value that marks an anomaly (default: the rarer value).
        contamination: the expected share of anomalies in (0, 0.5); sets every detector's
            threshold on its training scores (default: each detector's Tukey fence).
        dims: for ``task="embed"``, the coordinates per row (default 2).
        k: for ``task="cluster"``, the number of clusters (None: each family chooses by its
            stated rule: silhouette, BIC, or HDBSCAN's own).
        test: the user's own test rows (a file, read with the same options, or a DataFrame)
            with the training data's columns; they become the test split (``test_size`` is then
            unused) and the validation folds come from ``data`` alone.
        time: for ``task="forecast"``, the time column (dates, or whole-number steps); for
            ``task="recommend"``, the interactions' time: each user's newest interaction is
            then the test (leave-last-out) and the one before it validates (``--time``).
        series: for ``task="forecast"``, the series id column (None: the table is one series).
        horizon: for ``task="forecast"``, the steps ahead to forecast (and each backtest
            window's length).
        known: for ``task="forecast"``, covariates known in advance (holidays, prices).
        user, item, rating: for ``task="recommend"``, the interactions' user and item columns
            and, for explicit feedback, the rating column (without it: implicit feedback).
        refit_all: after testing, refit the recommended model's family on every row (training
            and test) and store it as ``<model>_all``: unranked, with no test score.
        mlflow: also log the finished run to MLflow: True for a SQLite tracking database in the
            store, or a tracking URI (see ``track/mlflow.py``).
        resume: continue this unfinished run (same data and settings): its recorded candidates
            are kept, the rest run under what is left of ``time_budget``.
        jobs: trials run at once (worker processes on this machine; with ``ray``, Ray tasks).
        ray: run trials as Ray tasks: True starts a local runtime, ``"auto"`` joins the cluster
            on this machine, ``"host:port"`` that one (None: ``$MLVSDL_RAY_ADDRESS`` if set).
        started: the ``time.monotonic()`` reading ``time_budget`` counts from (None: this
            call, so reading the data counts; the command line passes the time mlvsdl was
            first imported, so loading the libraries counts too).
    """
    started = _monotonic() if started is None else started
    read_options: dict[str, Any] = {"names": tuple(names) if names is not None else None}
    if na_values is not None:
        read_options["na_values"] = tuple(na_values)
    options = RunOptions(
        target=target,
        task=None if task is None else str(task),
        metric=metric,
        families=tuple(families) if families is not None else None,
        cv=cv,
        test_size=test_size,
        seed=seed,
        read_options={**read_options, "label_from_name": label_from_name},
        modality=modality,
        on_bad_file=on_bad_file,
        label=label,
        anomaly_value=anomaly_value,
        contamination=contamination,
        dims=dims,
        k=k,
        test=test,
        time=time,
        series=series,
        horizon=horizon,
        known=tuple(known) if known is not None else None,
        user=user,
        item=item,
        rating=rating,
    )
    plan = plan_run(data, options)
    check_executor(jobs, ray)
    if mlflow:
        tracking.check_available()
    emit = on_event or (lambda event: None)
    db_store = Store(store)
    run_id = resume or _new_run_id()
    settings = {
        "time_budget_s": time_budget,
        "n_folds": plan.n_folds,
        "test_size": test_size,
        "families": [f.key for f in plan.families],
        "n_train": len(plan.splits.train),
        "n_test": len(plan.splits.test),
        "hardware": hardware(),
        "versions": library_versions(),
        "warnings": [*plan.table.warnings, *plan.schema.notes],
        # typical value per feature from the training part, for explanations (serve)
        "reference": reference_values(plan.frame.iloc[plan.splits.train], plan.schema),
        # how the data was read, so 'mlvsdl curves RUN' can re-read the source identically
        "read_options": read_options,
        "on_bad_file": on_bad_file,
        "label_from_name": label_from_name,  # for a folder: read it with data.media.read_inputs
        # every option that planned the run, so that it can be planned again identically
        "options": options.to_dict(),
        # the user's test rows (--test): a path, re-read by 'mlvsdl curves'; None: carved out
        "test_file": test_source(test),
        "refit_all": refit_all,
    }
    opened = open_run(
        db_store,
        {
            "run_id": run_id,
            "created_at": now_iso(),
            "status": "running",
            "source": plan.table.source,
            "target": plan.schema.target or "",  # "" for a task without a target
            "task": str(plan.schema.task),
            "metric": plan.metric.key,
            "seed": seed,
            "n_rows": len(plan.frame),
            "fingerprint": plan.table.fingerprint,
            "schema_json": to_json(plan.schema.to_dict()),
            "settings_json": to_json(settings),
        },
        resume,
    )
    db_store.run_dir(run_id).mkdir(parents=True, exist_ok=True)
    # reading and planning count: the budget is the wall time the user waits
    before_s = _monotonic() - started
    budget = Budget(_family_budget_s(time_budget, curves), spent_s=opened.spent_s + before_s)
    emit(
        Event(
            "start",
            info={
                "run_id": run_id,
                "schema": plan.schema,
                "n_folds": plan.n_folds,
                "metric": plan.metric.key,
                "families": settings["families"],
            },
        )
    )
    status = "interrupted"
    models: dict[str, Any] = {}
    with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
        try:
            with open_executor(jobs, ray, plan.frame, plan.y) as executor:
                todo = [(i, f) for i, f in enumerate(plan.families) if f.key not in opened.done]
                models = run_families(
                    executor,
                    todo,
                    lambda i, f: _run_family(
                        db_store, run_id, plan, f, i, budget, seed, emit, executor
                    ),
                )
            for row in build_ensembles(db_store, run_id, plan, models, seed):
                emit(Event("trial_end", row["name"], budget.elapsed_s, budget.remaining_s, row))
            status = "completed"
        finally:
            db_store.db.finish_run(run_id, status, now_iso())
        emit(Event("analysis", elapsed_s=budget.elapsed_s, info={"curves": curves}))
        _analyse(db_store, run_id, plan, models, seed, time_budget, budget, curves)
        if refit_all:
            refit_on_all_rows(db_store, run_id, plan, seed)
    if mlflow:
        tracking.log_run(db_store, run_id, mlflow, example=plan.frame.iloc[plan.splits.train[:5]])
    return load_run(run_id, store=db_store.root, preloaded=models)


# --- analysis step: evaluate/analysis.py computes, report/ renders; both only after the run ---

# scikit-learn's chunk size for pairwise distances (kNN): its default, 1 GB, took a 10k-row run
# from 0.5 GB to 1.8 GB peak memory; 128 MB chunks cost no measurable time.
WORKING_MEMORY_MB = 128
CURVES_SHARE = 0.3  # of the time budget kept for learning curves when they are asked for
ANALYSIS_SHARE = 0.15  # kept for costs, importances and the report (10-90 s, at most half)


def _family_budget_s(time_budget: float | None, curves: bool) -> float | None:
    """The families' part of the budget; the rest is for what follows them.

    The analysis and the report after the families took 20 s of a 120-s run on 10k rows and 70 s
    on 1M (measured by bench/scale.py), so a share is kept for them; with curves, the curves'
    share covers it.
    """
    if time_budget is None:
        return None
    if curves:
        return time_budget * (1 - CURVES_SHARE)
    reserve = min(max(ANALYSIS_SHARE * time_budget, 10.0), 90.0, 0.5 * time_budget)
    return time_budget - reserve


def _analyse(
    store: Store,
    run_id: str,
    plan: RunPlan,
    models: dict[str, Any],
    seed: int,
    time_budget: float | None,
    budget: Budget,
    curves: bool,
) -> None:
    """Costs, importances, diagnostics, (curves), the recommendation, then the HTML report."""
    from mlvsdl.evaluate.analysis import RunData, analyse_run
    from mlvsdl.report import write_report

    data = RunData(plan.frame, plan.y, plan.schema, plan.splits, plan.metric, seed)
    left = None if time_budget is None else max(time_budget - budget.elapsed_s, 0.0)
    cheap_s = 30.0 if time_budget is None else min(max(0.05 * time_budget, 5.0), 30.0)
    analyse_run(store, run_id, data, models, curves=curves, time_left_s=left, budget_s=cheap_s)
    write_report(store, run_id)


DL_RESERVE_SHARE = 0.3  # of the budget held back for networks while classical models run


def _dl_reserve_s(plan: RunPlan, index: int, budget: Budget) -> float:
    """Seconds classical families must leave for the networks still to come."""
    family = plan.families[index]
    networks_left = any(f.kind is Kind.DL for f in plan.families[index + 1 :])
    if family.kind is Kind.DL or not networks_left or budget.total_s is None:
        return 0.0
    return DL_RESERVE_SHARE * budget.total_s


def _run_family(
    store: Store,
    run_id: str,
    plan: RunPlan,
    family: Family,
    index: int,
    budget: Budget,
    seed: int,
    emit: Listener,
    executor: Executor | None = None,
) -> Any:
    cost = family.cost_hint(plan.schema)
    boundable = family.self_limiting
    reserve_s = _dl_reserve_s(plan, index, budget)
    fits = plan.n_folds + int(plan.n_folds > 1)  # validation folds and the refit
    reason = budget.skip_reason(
        cost, time_boundable=boundable, reserve_s=reserve_s, shrinks_to=1 / fits
    )
    base = {"name": family.key, "family": family.key, "kind": str(family.kind)}
    if reason is not None:
        row = {**base, "status": "skipped", "reason": reason, "finished_at": now_iso()}
        store.db.insert_candidate(run_id, row, {})
        emit(Event("trial_end", family.key, budget.elapsed_s, budget.remaining_s, row))
        return None
    if boundable:  # a share of what remains, which the network obeys
        n_boundable = sum(f.self_limiting for f in plan.families[index:])
        max_time_s = budget.allowance_s(n_boundable)
        if max_time_s is not None and reserve_s > 0:  # a classical one (XGBoost, CatBoost)
            # leaves the networks' reserve, as the classical families that cannot stop do
            available = (budget.remaining_s or 0.0) - reserve_s
            max_time_s = max(min(max_time_s, available), 1.0)
    else:  # what it may take before its folds are cut (it cannot stop inside a fit)
        left = budget.remaining_s
        max_time_s = None if left is None else max(left - reserve_s, 0.0)
    emit(
        Event(
            "trial_start",
            family.key,
            budget.elapsed_s,
            budget.remaining_s,
            {"estimate_s": budget.estimate_s(cost), "max_time_s": max_time_s},
        )
    )
    start = time.perf_counter()
    result, measured = (executor.run if executor else measured_trial)(
        TrialSpec(
            family.key,
            plan.schema,
            plan.frame,
            plan.y,
            plan.splits,
            plan.metric.key,
            seed,
            max_time_s,
        )
    )
    budget.record(cost, time.perf_counter() - start)
    row = record_trial(
        store,
        run_id,
        schema=plan.schema,
        fingerprint=plan.table.fingerprint,
        metric=plan.metric.key,
        family=family,
        result=result,
        seed=seed,
        base=base,
        measured=measured,
    )
    emit(Event("trial_end", family.key, budget.elapsed_s, budget.remaining_s, row))
    return result.estimator if result.status == "completed" else None
