"""The cost profile of a fitted candidate: time, memory, size and parameters, measured.

What is measured, and how:

* **fit time**: the wall-clock seconds of the refit on the whole training part (from the trial).
* **peak fit memory**: :class:`MemoryProbe` wraps the whole trial (cross-validation fits, refit,
  scoring). On Linux it resets the kernel's resident-set high-water mark (``VmHWM``, via
  ``/proc/self/clear_refs``) before the trial and reads it after, so it counts every byte the
  process held in RAM, including native allocations (LightGBM, PyTorch, BLAS) that Python's
  ``tracemalloc`` cannot see. The figure stored is that peak minus the resident memory just
  before the trial: the extra memory training needed. Freed heap is first handed back to the OS
  (glibc ``malloc_trim``); memory an allocator still keeps (PyTorch's CPU caching, arenas) can be
  reused without showing up, so this is a lower bound, exact enough to tell a 5 MB model from a
  500 MB one. Elsewhere it falls back to ``ru_maxrss`` growth, which
  reads 0 when an earlier peak was higher (the method is stored with the figure).
* **prediction latency**: single-row calls (``predict_proba`` for classifiers, as a service would
  call it) timed one by one, reported as p50 and p95; per 1,000 rows from the trial. One row is
  timed the way ``mlvsdl serve`` answers it: through the compiled numpy fast path
  (:mod:`mlvsdl.fastpath`, records in) when the model has one, else through the pipeline on a
  one-row DataFrame; ``latency_path`` says which.
* **model size** on disk and **load time** (checksum, safe skops parsing, rebuild) of the stored
  artifact, the best of up to three loads.
* **parameters**: trainable weights of a network; coefficients of linear models; nodes of trees;
  stored values for nearest neighbours (each with what was counted).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.explain import final_step
from mlvsdl.types import Schema

__all__ = [
    "CostProfile",
    "MemoryProbe",
    "count_parameters",
    "measure_latency",
    "measure_load_time",
    "profile_candidate",
]

logger = logging.getLogger(__name__)

_PROC_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class CostProfile:
    """What one candidate costs to train, store, load and serve (units in the names)."""

    fit_time_s: float | None
    peak_fit_memory_bytes: int | None
    memory_method: str
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_calls: int
    latency_path: str  # "fast path" (as served) or "pipeline"
    predict_ms_per_1k: float | None
    model_bytes: int | None
    load_time_s: float | None
    n_params: int | None
    params_counted: str
    device: str = "cpu"  # where the model was fitted (a network's torch device)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _status_kb(field: str) -> int | None:
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class MemoryProbe:
    """Peak extra resident memory of this process inside a ``with`` block.

    >>> with MemoryProbe() as probe:
    ...     model.fit(X, y)
    >>> probe.peak_bytes, probe.method
    """

    def __init__(self) -> None:
        self.peak_bytes: int | None = None
        self.method = "unavailable"
        self._before_kb = 0
        self._hwm = False

    def __enter__(self) -> MemoryProbe:
        _release_free_memory()
        try:
            _CLEAR_REFS.write_text("5")  # reset the peak RSS (Linux >= 4.0)
            self._hwm = _status_kb("VmHWM") is not None
        except OSError:
            self._hwm = False
        if self._hwm:
            self._before_kb = _status_kb("VmRSS") or 0
        else:
            self._before_kb = _maxrss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._hwm:
            peak = _status_kb("VmHWM") or self._before_kb
            self.method = "peak RSS above RSS before training (Linux VmHWM)"
        else:
            peak = _maxrss_kb()
            self.method = "growth of the process's ru_maxrss (0 if below an earlier peak)"
        self.peak_bytes = max(peak - self._before_kb, 0) * 1024


def _release_free_memory() -> None:
    """Hand freed heap back to the OS (glibc ``malloc_trim``), so that memory an earlier fit
    freed but the allocator kept is not silently reused without showing as growth."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: a looser lower bound
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _maxrss_kb() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage // 1024 if sys.platform == "darwin" else usage  # macOS reports bytes


def measure_latency(
    predict: Callable[[Any], Any],
    rows: pd.DataFrame | Sequence[Any],
    *,
    max_calls: int = 100,
    min_calls: int = 50,
    max_time_s: float = 1.0,
) -> tuple[float, float, int]:
    """p50 and p95 milliseconds of ``predict`` on one row at a time, and the number of calls.

    ``rows`` is a DataFrame (each call gets a one-row frame) or a sequence of ready inputs, one
    per call. Calls cycle through them; after ``min_calls`` it stops once ``max_time_s`` is
    spent.
    """
    inputs = [rows.iloc[[i]] for i in range(len(rows))] if isinstance(rows, pd.DataFrame) else rows
    predict(inputs[0])  # warm-up: lazy imports, caches, thread pools
    times: list[float] = []
    spent = 0.0
    for i in range(max_calls):
        row = inputs[i % len(inputs)]
        start = time.perf_counter()
        predict(row)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
        if len(times) >= min_calls and spent > max_time_s:
            break
    ms = np.asarray(times) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), len(times)


def measure_load_time(
    load: Callable[[], Any], *, repeats: int = 3, max_time_s: float = 2.0
) -> float:
    """Best of up to ``repeats`` timed calls of ``load`` (fewer when one is slow)."""
    best = float("inf")
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        load()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > max_time_s:
            break
    return best


def count_parameters(estimator: Any) -> tuple[int | None, str]:
    """Learned values of the model at the end of a pipeline, and what was counted."""
    model = final_step(estimator)
    if hasattr(model, "n_params_"):
        return int(model.n_params_), "trainable weights"
    if hasattr(model, "booster_"):
        frame = model.booster_.trees_to_dataframe()
        return len(frame), "tree nodes (splits and leaves)"
    if hasattr(model, "tree_"):
        return int(model.tree_.node_count), "tree nodes"
    if hasattr(model, "estimators_") and all(hasattr(t, "tree_") for t in model.estimators_):
        return int(sum(t.tree_.node_count for t in model.estimators_)), "tree nodes (all trees)"
    if hasattr(model, "support_vectors_"):
        n = np.size(model.support_vectors_) + np.size(getattr(model, "dual_coef_", 0))
        return int(n), "support vectors and their weights"
    if hasattr(model, "coef_"):
        n = np.size(model.coef_) + np.size(getattr(model, "intercept_", 0))
        return int(n), "coefficients and intercepts"
    if hasattr(model, "_fit_X"):
        return int(np.size(model._fit_X)), "stored training values (non-parametric)"
    if hasattr(model, "theta_") and hasattr(model, "var_"):
        return int(np.size(model.theta_) + np.size(model.var_)), "class means and variances"
    if hasattr(model, "class_prior_") or hasattr(model, "constant_"):
        values = getattr(model, "class_prior_", getattr(model, "constant_", None))
        return int(np.size(values)), "class priors or constant"
    return None, "not countable"


def _served_predict(
    estimator: Any, rows: pd.DataFrame, schema: Schema | None, classification: bool
) -> tuple[Callable[[Any], Any], pd.DataFrame | list[Any], str]:
    """How a service answers one row of ``rows``: the fast path when it applies to them."""
    if schema is not None:
        from mlvsdl.fastpath import fast_predictor

        try:
            fast = fast_predictor(estimator, schema)
            records = [[record] for record in rows.to_dict("records")]
            for record in records:
                fast.predict_proba(record)  # every timed row must take the fast path
        except Exception as exc:  # no fast path for this model or these rows: the pipeline
            logger.debug("latency through the pipeline: %s", exc)
        else:
            return fast.predict_proba, records, "fast path"
    if hasattr(estimator, "sample") and not hasattr(estimator, "predict"):
        return lambda X: estimator.sample(len(X)), rows, "pipeline"  # a synthesizer: rows made
    if classification:
        predict = estimator.predict_proba
    else:  # a task answered by the coordinates (embed) has transform, not predict
        predict = estimator.predict if hasattr(estimator, "predict") else estimator.transform
    return predict, rows, "pipeline"


def profile_candidate(
    estimator: Any,
    candidate: dict[str, Any],
    rows: pd.DataFrame,
    load: Callable[[], Any],
    *,
    classification: bool,
    max_time_s: float = 1.0,
    schema: Schema | None = None,
) -> CostProfile:
    """The cost profile of one stored candidate (its row from the store, fitted model in hand).

    ``rows`` are a few raw input rows to time single-row predictions on; ``load`` loads the
    stored artifact (timed). With the run's ``schema``, one row is timed as ``mlvsdl serve``
    answers it (the fast path where the model has one).
    """
    predict, inputs, path = _served_predict(estimator, rows, schema, classification)
    p50, p95, calls = measure_latency(predict, inputs, max_time_s=max_time_s)
    details = candidate.get("details") or {}
    n_params, counted = count_parameters(estimator)
    per_1k = candidate.get("predict_time_s_per_1k")
    return CostProfile(
        fit_time_s=candidate.get("fit_time_s"),
        peak_fit_memory_bytes=details.get("peak_fit_memory_bytes"),
        memory_method=str(details.get("memory_method", "not measured")),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_calls=calls,
        latency_path=path,
        predict_ms_per_1k=per_1k * 1000.0 if per_1k is not None else None,
        model_bytes=candidate.get("model_bytes"),
        load_time_s=measure_load_time(load, max_time_s=max_time_s),
        n_params=n_params,
        params_counted=counted,
        device=str(details.get("device") or "cpu"),
    )
