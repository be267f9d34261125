"""Learning curves: sizes, stratified nested order, the power-law fit, bands and the crossover."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mlvsdl.data import infer_schema, make_splits
from mlvsdl.evaluate.curves import (
    CurveCandidate,
    crossover,
    curve_sizes,
    fit_curve,
    measure_curves,
    nested_order,
    plan_seeds,
)
from mlvsdl.evaluate.metrics import METRICS
from tests.conftest import make_table


def _points(a: float, b: float, c: float, sizes: list[int], noise: float = 0.0, seeds: int = 2):
    rng = np.random.default_rng(0)
    return [
        {"n": n, "seed": s, "score": a - b * (n / sizes[-1]) ** (-c) + rng.normal(scale=noise)}
        for s in range(seeds)
        for n in sizes
    ]


def test_sizes_are_geometric_and_end_at_the_pool():
    sizes = curve_sizes(4507, n_classes=2)
    assert len(sizes) >= 5 and sizes[-1] == 4507
    ratios = np.diff(np.log(sizes))
    assert np.allclose(ratios, ratios[0], atol=0.05)
    assert curve_sizes(10_000, n_classes=77)[0] >= 5 * 77


def test_nested_order_keeps_class_shares_in_every_prefix():
    y = np.array([0] * 300 + [1] * 100)
    order = nested_order(y, classification=True, seed=3)
    assert sorted(order) == list(range(400))
    for n in (20, 40, 100):
        assert abs((y[order[:n]] == 1).mean() - 0.25) <= 1.5 / n + 0.02
    assert np.array_equal(order, nested_order(y, True, seed=3))
    assert not np.array_equal(order, nested_order(y, True, seed=4))


def test_fit_recovers_a_known_power_law_with_a_band_around_it():
    sizes = [100, 200, 400, 800, 1600, 3200]
    fit = fit_curve(_points(0.9, 0.05, 0.5, sizes, noise=0.002), METRICS["roc_auc"])
    assert fit is not None
    grid = np.asarray([150.0, 3200.0, 32_000.0])
    truth = 0.9 - 0.05 * (grid / 3200) ** -0.5
    assert np.allclose(fit.score(grid), truth, atol=0.01)
    low, high = fit.band(grid)
    assert np.all(low <= fit.score(grid) + 1e-9) and np.all(fit.score(grid) <= high + 1e-9)


def test_fit_handles_lower_is_better_metrics():
    sizes = [100, 200, 400, 800, 1600, 3200]
    points = [{**p, "score": -p["score"]} for p in _points(-2.0, 1.0, 0.4, sizes)]  # RMSE falls
    fit = fit_curve(points, METRICS["rmse"])
    assert fit is not None
    assert fit.score(np.asarray([100.0]))[0] > fit.score(np.asarray([30_000.0]))[0]


def test_too_few_sizes_give_no_fit():
    assert fit_curve(_points(0.9, 0.05, 0.5, [100, 200, 400]), METRICS["roc_auc"]) is None


def test_crossover_is_found_where_the_curves_meet():
    sizes = [100, 200, 400, 800, 1600, 3200]
    flat = fit_curve(_points(0.86, 0.02, 0.5, sizes, noise=0.001), METRICS["roc_auc"])
    steep = fit_curve(_points(0.95, 0.10, 0.5, sizes, noise=0.001), METRICS["roc_auc"])
    # analytic: 0.86 - 0.02 u^-.5 = 0.95 - 0.10 u^-.5  ->  u^-.5 = 1.125  ->  u = 0.79 (n ~ 2530)
    # both are fitted at n_ref=3200; from n=3200 on, 'steep' is ahead, so start the search lower
    found = crossover(flat, steep, n_start=1000, n_current=3200)
    assert found["n_estimate"] == pytest.approx(2528, rel=0.15)
    assert found["share_crossing"] > 0.9
    assert found["n_low"] <= found["n_estimate"] <= found["n_high"]
    never = crossover(steep, flat, n_start=3200, n_current=3200)
    assert never["n_estimate"] is None and never["share_crossing"] < 0.5


def test_plan_gives_every_candidate_a_seed_then_more_to_the_leaders():
    cands = [CurveCandidate(k, k, "ml", 1.0, 1000) for k in ("a", "b", "c")]
    sizes = [100, 200, 400, 800]
    assert plan_seeds(cands, sizes, None) == {"a": 3, "b": 3, "c": 3}
    roomy = plan_seeds(cands, sizes, 20.0)
    assert roomy["a"] == roomy["b"] == 3 and roomy["c"] == 1
    assert plan_seeds(cands, sizes, 0.5) == {}


def test_measure_traces_points_on_held_out_rows_and_stops_at_the_deadline():
    frame, schema = infer_schema(make_table(n=240), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    splits = make_splits(y, schema.task, n_folds=3, random_state=0)
    cand = [CurveCandidate("linear", "linear", "ml", 0.05, len(splits.train))]
    points = measure_curves(X, y, schema, splits, METRICS["roc_auc"], cand, {"linear": 1})
    sizes = curve_sizes(len(splits.folds[0][0]), schema.n_classes)
    assert [p["n"] for p in points["linear"]] == sizes
    assert all(0.5 < p["score"] <= 1.0 for p in points["linear"])
    late = measure_curves(
        X, y, schema, splits, METRICS["roc_auc"], cand, {"linear": 1},
        deadline=time.perf_counter() - 1,
    )  # fmt: skip
    assert late["linear"] == []
