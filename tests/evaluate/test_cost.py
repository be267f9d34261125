"""Cost profile: peak memory of native allocations, latency percentiles, parameter counts."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline

from mlvsdl.data import infer_schema
from mlvsdl.evaluate.cost import (
    MemoryProbe,
    count_parameters,
    measure_latency,
    measure_load_time,
    profile_candidate,
)
from mlvsdl.families.registry import get_family
from tests.conftest import make_table


def quick(model):
    """Cut a model's training to what a unit test needs (few epochs, trees, one thread)."""
    params = model.get_params()
    settings = {"model__max_epochs": 3, "model__n_estimators": 20}
    if type(params["model"]).__name__.startswith("LGBM"):
        settings["model__n_jobs"] = 1  # several threads crawl on a busy 2-core machine
    return model.set_params(**{k: v for k, v in settings.items() if k in params})


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One torch thread: on a shared 2-core machine, more threads wait on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def table():
    frame, schema = infer_schema(make_table(n=160), "y")
    return frame.drop(columns="y"), frame["y"].to_numpy(), schema


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux-only")
def test_memory_probe_sees_a_large_allocation_and_not_a_small_one():
    with MemoryProbe() as big:
        block = np.ones(64 * 1024 * 1024 // 8)  # 64 MB, written so it is resident
        del block
    assert big.peak_bytes is not None and big.peak_bytes >= 48 * 1024 * 1024
    assert "VmHWM" in big.method
    with MemoryProbe() as small:
        sum(range(1000))
    assert small.peak_bytes is not None and small.peak_bytes < 16 * 1024 * 1024


def test_latency_percentiles_and_call_count():
    rows = make_table(n=10)
    p50, p95, calls = measure_latency(lambda X: time.sleep(0.001), rows, max_calls=30)
    assert 1.0 <= p50 <= p95
    assert calls == 30
    _, _, capped = measure_latency(lambda X: time.sleep(0.01), rows, min_calls=5, max_time_s=0.05)
    assert 5 <= capped < 30


def test_load_time_is_the_best_of_a_few_calls():
    calls = []
    assert measure_load_time(lambda: calls.append(time.sleep(0.002)), repeats=3) >= 0.002
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("family", "counted"),
    [
        ("linear", "coefficients"),
        ("decision_tree", "tree nodes"),
        ("random_forest", "all trees"),
        ("lgbm", "splits and leaves"),
        ("knn", "stored training values"),
        ("naive_bayes", "class means"),
        ("dummy", "class priors"),
        ("mlp", "trainable weights"),
    ],
)
def test_parameters_are_counted_for_every_family(table, family, counted):
    X, y, schema = table
    model = quick(get_family(family).build(schema, random_state=0)).fit(X, y)
    n, what = count_parameters(model)
    assert n is not None and n > 0
    assert counted in what


def test_profile_of_a_stored_candidate(table):
    X, y, schema = table
    model = get_family("linear").build(schema, random_state=0).fit(X, y)
    row = {"fit_time_s": 0.1, "predict_time_s_per_1k": 0.02, "model_bytes": 1234,
           "details": {"peak_fit_memory_bytes": 10, "memory_method": "m"}}  # fmt: skip
    profile = profile_candidate(model, row, X.iloc[:20], lambda: model, classification=True)
    assert profile.latency_p50_ms > 0 and profile.latency_calls >= 20
    assert profile.predict_ms_per_1k == pytest.approx(20.0)
    assert profile.model_bytes == 1234 and profile.peak_fit_memory_bytes == 10
    assert profile.load_time_s is not None and profile.n_params > 0
    assert set(profile.to_dict()) >= {"latency_p95_ms", "load_time_s", "params_counted"}
    assert profile.latency_path == "pipeline"  # without the schema, no fast path is tried


def test_one_row_is_timed_as_the_server_answers_it(table):
    X, y, schema = table
    row = {"fit_time_s": 0.1, "details": {}}
    linear = get_family("linear").build(schema, random_state=0).fit(X, y)
    fast = profile_candidate(linear, row, X.iloc[:20], lambda: linear, classification=True,
                             schema=schema)  # fmt: skip
    assert fast.latency_path == "fast path" and fast.latency_p50_ms > 0
    other = make_pipeline(DummyClassifier()).fit(X, y)  # not clean -> encode -> model
    slow = profile_candidate(other, row, X.iloc[:20], lambda: other, classification=True,
                             schema=schema)  # fmt: skip
    assert slow.latency_path == "pipeline" and slow.latency_p50_ms > 0


def test_the_cost_profile_names_the_device_each_model_was_fitted_on(tmp_path):
    import json

    from mlvsdl.compare import compare
    from tests.conftest import make_table

    result = compare(make_table(n=160), "y", families=["dummy", "mlp"], cv=2, store=tmp_path)
    costs = json.loads((tmp_path / "runs" / result.run_id / "analysis.json").read_text())["costs"]
    expected = "cuda" if __import__("torch").cuda.is_available() else "cpu"
    assert costs["mlp"]["device"].startswith(expected)
    # recorded from the fitted network itself, not the profile's default
    from mlvsdl.store import Store

    details = {c["name"]: c["details"] for c in Store(tmp_path).db.candidates(result.run_id)}
    assert details["mlp"]["device"].startswith(expected) and "device" not in details["dummy"]
    assert costs["dummy"]["device"] == "cpu"  # not a network: fitted by this process's CPU
    assert "fitted on" in result.report_path.read_text()
