"""Where trials run: in this process, in a pool of worker processes (``--jobs N``) or as Ray tasks.

    compare -> run_families(executor, families, run_one)   N driver threads, one per slot
                 run_one -> budget check, then executor.run(spec) -> (TrialResult, measured)
                         -> record_trial in the driver (artifact, then its row)

Every executor runs the same pure ``run_trial`` on the same frozen spec, so scores do not depend
on where a trial ran. The driver alone writes the store; workers return the fitted model inside
the TrialResult. Slots are filled in the planned order (cheap first) as they free up, and each
trial's budget check happens when its slot frees, against the global budget, so a family that
cannot fit what is left is skipped with its reason as in a sequential run.

The data travels once: a worker process gets it when it starts (the pool initializer), a Ray
cluster through one ``ray.put``; each trial then carries only its spec. A worker that dies
(killed, out of memory) fails its own trial with the reason, and its slot gets a fresh worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError
from mlvsdl.evaluate.cost import MemoryProbe
from mlvsdl.families.base import Family
from mlvsdl.search.trial import TrialResult, TrialSpec, run_trial

__all__ = [
    "Executor",
    "ProcessExecutor",
    "RayExecutor",
    "check_executor",
    "measured_trial",
    "open_executor",
    "run_families",
]

logger = logging.getLogger(__name__)

Measured = tuple[TrialResult, dict[str, Any]]
RAY_ADDRESS_ENV = "MLVSDL_RAY_ADDRESS"
THREADS_ENV = "MLVSDL_THREADS"  # threads a worker's models use (read by families/ml)


def measured_trial(spec: TrialSpec) -> Measured:
    """``run_trial`` with the peak memory its fits took in this process."""
    with MemoryProbe() as memory:
        result = run_trial(spec)
    return result, {"peak_fit_memory_bytes": memory.peak_bytes, "memory_method": memory.method}


class Executor:
    """Trials in this process, one at a time (the default)."""

    slots = 1

    def run(self, spec: TrialSpec) -> Measured:
        return measured_trial(spec)

    def close(self) -> None:
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_families(
    executor: Executor,
    todo: Sequence[tuple[int, Family]],
    run_one: Callable[[int, Family], Any],
) -> dict[str, Any]:
    """Run ``run_one(index, family)`` for each planned family, ``executor.slots`` at a time, in
    order; return the fitted models by family key (None results left out)."""
    if executor.slots <= 1 or len(todo) <= 1:
        results = [(family.key, run_one(index, family)) for index, family in todo]
    else:
        with cf.ThreadPoolExecutor(executor.slots, thread_name_prefix="mlvsdl-trial") as pool:
            futures = [(f.key, pool.submit(run_one, i, f)) for i, f in todo]
            results = [(key, future.result()) for key, future in futures]
    return {key: fitted for key, fitted in results if fitted is not None}


def _without_data(spec: TrialSpec, X: pd.DataFrame, y: np.ndarray) -> TrialSpec:
    """The spec without the table when the worker already holds it (it travels once)."""
    if spec.X is X and spec.y is y:
        return replace(spec, X=None, y=None)  # type: ignore[arg-type]
    return spec


def _with_data(spec: TrialSpec, data: tuple[pd.DataFrame, np.ndarray]) -> TrialSpec:
    return replace(spec, X=data[0], y=data[1]) if spec.X is None else spec


def _failed(spec: TrialSpec, reason: str) -> Measured:
    logger.warning("family %s failed: %s", spec.family, reason)
    return TrialResult(spec.family, "failed", reason=reason), {}


# --- a pool of worker processes on this machine -------------------------------------------------

_WORKER_DATA: tuple[pd.DataFrame, np.ndarray] | None = None


def _init_worker(
    X: pd.DataFrame, y: np.ndarray, threads: int, sklearn_config: dict[str, Any]
) -> None:
    """Runs once in each worker: keep the data, use a share of the cores."""
    global _WORKER_DATA
    os.environ[THREADS_ENV] = str(threads)  # before the families are imported
    import sklearn
    import torch

    torch.set_num_threads(threads)
    sklearn.set_config(**sklearn_config)
    _WORKER_DATA = (X, y)


def _worker_trial(spec: TrialSpec) -> Measured:
    assert _WORKER_DATA is not None, "worker started without its data"
    return measured_trial(_with_data(spec, _WORKER_DATA))


class ProcessExecutor(Executor):
    """``jobs`` worker processes, each with its own single-process pool (so a worker that dies
    breaks only its own trial) and ``cpu_count // jobs`` threads for its models."""

    def __init__(self, jobs: int, X: pd.DataFrame, y: np.ndarray) -> None:
        import sklearn

        self.slots = jobs
        self._X, self._y = X, y
        threads = max(1, (os.cpu_count() or 1) // jobs)
        self._initargs = (X, y, threads, sklearn.get_config())
        self._free: queue.Queue[cf.ProcessPoolExecutor] = queue.Queue()
        for _ in range(jobs):
            self._free.put(self._new_worker())

    def _new_worker(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),  # fork after OpenMP can hang
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def run(self, spec: TrialSpec) -> Measured:
        worker = self._free.get()
        try:
            return worker.submit(_worker_trial, _without_data(spec, self._X, self._y)).result()
        except BrokenProcessPool:
            worker.shutdown(wait=False)
            worker = self._new_worker()
            return _failed(spec, "the worker process died (killed, or out of memory)")
        finally:
            self._free.put(worker)

    def close(self) -> None:
        while not self._free.empty():
            self._free.get().shutdown(wait=True, cancel_futures=True)


# --- Ray ----------------------------------------------------------------------------------------


def _ray_trial(spec: TrialSpec, data: tuple[pd.DataFrame, np.ndarray]) -> Measured:
    return measured_trial(_with_data(spec, data))


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--ray needs Ray, which is not installed; pip install 'mlvsdl[ray]'."
        ) from None
    return ray


class RayExecutor(Executor):
    """Trials as Ray tasks (one CPU each; networks also take a GPU when the cluster has one).

    ``address``: None starts a local runtime (its files in a fresh temporary folder, removed
    afterwards); ``"auto"`` joins the cluster running on this machine; ``host:port`` joins that
    one. Slots: ``jobs`` if given, else the cluster's CPUs.
    """

    def __init__(
        self, address: str | None, X: pd.DataFrame, y: np.ndarray, jobs: int | None = None
    ) -> None:
        ray = self._ray = _import_ray()
        self._temp_dir: str | None = None
        self._owns = not ray.is_initialized()
        if self._owns:
            self._start(address, jobs)
        resources = ray.cluster_resources()
        self.slots = jobs or max(1, int(resources.get("CPU", 1)))
        self._gpus = resources.get("GPU", 0) >= 1
        self._X, self._y = X, y
        self._data = ray.put((X, y))  # once; every task reads it from the object store
        self._task = ray.remote(_ray_trial)

    def _start(self, address: str | None, jobs: int | None) -> None:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            self._temp_dir = tempfile.mkdtemp(prefix="mlvsdl-ray-")
            options.update(num_cpus=jobs, _temp_dir=self._temp_dir)
        try:
            self._ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local runtime"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot start Ray on {where}: {first}") from None

    def run(self, spec: TrialSpec) -> Measured:
        from mlvsdl.families.registry import get_family
        from mlvsdl.types import Kind

        gpus = 1 if self._gpus and get_family(spec.family).kind is Kind.DL else 0
        options = {"num_cpus": 1, "num_gpus": gpus, "max_retries": 0}
        runtime_env = {"env_vars": {THREADS_ENV: "1"}}  # one core's worth of threads per trial
        ref = self._task.options(**options, runtime_env=runtime_env).remote(
            _without_data(spec, self._X, self._y), self._data
        )
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:  # the worker or its node died
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return _failed(spec, f"the Ray worker running it died: {type(exc).__name__}: {first}")

    def close(self) -> None:
        if self._owns:
            self._ray.shutdown()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)


def check_executor(jobs: int | None, ray: str | bool | None) -> None:
    """Refuse bad ``--jobs`` and a missing Ray before a run is written (one-line errors)."""
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be 1 or more, got {jobs}.")
    if ray or (ray is None and os.environ.get(RAY_ADDRESS_ENV)):
        _import_ray()


def open_executor(
    jobs: int | None, ray: str | bool | None, X: pd.DataFrame, y: np.ndarray
) -> Executor:
    """The executor for ``--jobs``/``--ray``: Ray when asked (``ray`` True: a local runtime, a
    string: that address; ``$MLVSDL_RAY_ADDRESS`` when ``ray`` is None), else a process pool for
    ``jobs`` > 1, else this process."""
    check_executor(jobs, ray)
    if ray is None:
        ray = os.environ.get(RAY_ADDRESS_ENV) or None
    if ray:
        return RayExecutor(ray if isinstance(ray, str) else None, X, y, jobs)
    if jobs is not None and jobs > 1:
        return ProcessExecutor(jobs, X, y)
    return Executor()
