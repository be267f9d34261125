"""Forecasting through the task contract: metrics against hand-computed values, the rolling-origin
split, a protocol that never gives a model a point after its origin, and the bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.data.split import Splits
from mlvsdl.errors import ConfigError, DataError
from mlvsdl.families.forecast.base import conformal_quantiles, mase_scale, naive_errors
from mlvsdl.families.forecast.classical import naive_path
from mlvsdl.families.registry import all_families
from mlvsdl.search.trial import TrialSpec, run_trial
from mlvsdl.store import Store
from mlvsdl.tasks import get_task
from mlvsdl.tasks.forecast import forecast_metrics, rolling_origin
from mlvsdl.types import Task

FORECAST = get_task(Task.FORECAST)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sales_table(n_series: int = 3, n: int = 48, seed: int = 0) -> pd.DataFrame:
    """Monthly series with a trend and a yearly season, one row per store and month."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        months = pd.date_range("2018-01-01", periods=n, freq="MS")
        t = np.arange(n)
        values = 50 + 10 * s + 0.4 * t + 8 * np.sin(2 * np.pi * t / 12 + s) + rng.normal(0, 1, n)
        for month, value in zip(months, values, strict=True):
            rows.append({"Date": month.strftime("%Y-%m-%d"), "Store": f"S{s}", "Sales": value})
    return pd.DataFrame(rows)


# --- metrics, by hand ---------------------------------------------------------------------------


def test_metrics_against_hand_computed_values():
    y = np.array([10.0, 20.0, 0.0, 5.0])
    f = np.array([12.0, 15.0, 0.0, 10.0])
    scale = np.array([2.0, 2.0, 5.0, 5.0])
    bounds = {
        "lower_80": np.array([11.0, 14.0, -1.0, 6.0]),
        "upper_80": np.array([13.0, 21.0, 1.0, 9.0]),
        "lower_95": np.array([9.0, 14.0, -1.0, 4.0]),
        "upper_95": np.array([13.0, 21.0, 1.0, 11.0]),
    }
    got = forecast_metrics(y, f, scale, bounds)
    # errors 2, 5, 0, 5; scaled 1, 2.5, 0, 1
    assert got["mase"] == pytest.approx((1 + 2.5 + 0 + 1) / 4)
    assert got["mae"] == pytest.approx(12 / 4)
    assert got["rmse"] == pytest.approx(np.sqrt((4 + 25 + 0 + 25) / 4))
    # sMAPE: 200*2/22, 200*5/35, 0 (both zero), 200*5/15
    assert got["smape"] == pytest.approx((400 / 22 + 1000 / 35 + 0 + 1000 / 15) / 4)
    assert got["coverage_80"] == pytest.approx(2 / 4)  # 10 not in [11, 13]; 5 not in [6, 9]
    assert got["coverage_95"] == pytest.approx(4 / 4)


def test_points_without_a_forecast_are_not_scored():
    got = forecast_metrics(np.array([1.0, 2.0]), np.array([np.nan, 4.0]), np.array([1.0, 1.0]))
    assert got["mae"] == pytest.approx(2.0)
    assert forecast_metrics(np.array([1.0]), np.array([np.nan]), np.array([1.0])) == {}


def test_mase_scale_naive_paths_and_errors_by_hand():
    values = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 6.0])
    # season 2: |4-1|, |3-2|, |5-4|, |6-3| -> mean 2
    assert mase_scale(values, 2) == pytest.approx(2.0)
    assert mase_scale(np.ones(5), 1) == 1.0  # constant: nothing to scale by
    # seasonal naive (m=2) for steps 1..3 from the end: 5, 6, 5
    np.testing.assert_array_equal(naive_path(values, 3, 2), [5.0, 6.0, 5.0])
    np.testing.assert_array_equal(naive_path(values, 2, 1), [6.0, 6.0])
    errors = naive_errors(values, 1, 1)  # one-step naive errors: the first differences
    np.testing.assert_allclose(errors[:, 0][: len(values) - 1], np.diff(values))
    q = conformal_quantiles(np.array([[1.0], [2.0], [3.0], [4.0]]), 2)
    np.testing.assert_allclose(q[:, 0], np.quantile([1, 2, 3, 4], [0.8, 0.95]))


# --- the split ----------------------------------------------------------------------------------


def test_rolling_origin_windows_per_series():
    splits = rolling_origin([10, 12], horizon=2, windows=2)
    np.testing.assert_array_equal(splits.test, [8, 9, 20, 21])
    np.testing.assert_array_equal(splits.train, [*range(8), *range(10, 20)])
    (fit1, val1), (fit2, val2) = splits.folds
    # the earliest window first: series 0 validates rows 4-5 (fit on 0-3), then 6-7 (fit on 0-5)
    np.testing.assert_array_equal(splits.train[val1], [4, 5, 16, 17])
    np.testing.assert_array_equal(splits.train[fit1], [0, 1, 2, 3, 10, 11, 12, 13, 14, 15])
    np.testing.assert_array_equal(splits.train[val2], [6, 7, 18, 19])
    np.testing.assert_array_equal(splits.train[fit2], [*range(6), *range(10, 18)])


def test_options_are_stated_and_windows_follow_the_shortest_series():
    frame, schema = infer_schema(
        sales_table(), "Sales", "forecast", time="Date", series="Store", horizon=6
    )
    o = schema.options
    assert (o["freq"], o["season"], o["horizon"]) == ("MS", 12, 6)
    assert o["windows"] == 3 and o["lengths"] == [48, 48, 48]
    assert any("seasonal period 12" in note for note in schema.notes)
    assert frame["Store"].tolist()[:2] == ["S0", "S0"]


# --- the protocol never gives a model a point after its origin ----------------------------------


FORECAST_FAMILIES = [f.key for f in all_families() if Task.FORECAST in f.tasks]


def _leak_case(family, monkeypatch, leaky=False):
    """Run one trial with spies: every fit records the last time it was given per series; every
    validation or test window it then forecasts must start after it and be forecast in full.
    ``leaky``: the splits give each fold one point of its own validation window (the spies must
    catch it)."""
    frame, schema = infer_schema(
        sales_table(n_series=2, n=40), "Sales", "forecast", time="Date", series="Store", horizon=4
    )
    y = frame.pop("Sales").to_numpy()
    splits = FORECAST.split_frame(frame, schema, y, 0.2, 1, 0)
    if leaky:
        (fit_rows, val_rows), *_ = splits.folds
        splits = Splits(splits.train, splits.test, ((np.append(fit_rows, val_rows[0]), val_rows),))
    windows = [set(splits.train[val]) for _, val in splits.folds] + [set(splits.test)]
    fitted: dict[int, dict[str, pd.Timestamp]] = {}
    checked = []
    fit, predict = type(FORECAST).fit, type(FORECAST).predict

    def spy_fit(self, estimator, X, y_fit):
        assert "Sales" not in X.columns
        fitted[id(estimator)] = X.groupby("Store")["Date"].max().to_dict()
        return fit(self, estimator, X, y_fit)

    def spy_predict(self, estimator, X):
        got = predict(self, estimator, X)
        if any(set(X.index) <= w for w in windows):  # a validation or the test window
            last = fitted[id(estimator)]
            assert (X["Date"] > X["Store"].map(last)).all(), f"{family} saw the future"
            assert np.isfinite(got.values).all(), f"{family} left a window point unforecast"
            checked.append(len(X))
        return got

    monkeypatch.setattr(type(FORECAST), "fit", spy_fit)
    monkeypatch.setattr(type(FORECAST), "predict", spy_predict)
    result = run_trial(TrialSpec(family, schema, frame, y, splits, "mase", 0, max_time_s=10.0))
    return result, checked


@pytest.mark.parametrize("family", FORECAST_FAMILIES)
def test_no_family_is_given_a_point_after_its_origin(family, monkeypatch):
    result, checked = _leak_case(family, monkeypatch)
    assert result.status == "completed", result.reason
    assert len(checked) >= 2  # the validation window and the test window at least
    assert set(result.metrics["test"]) >= {"mase", "smape", "rmse", "mae", "coverage_80"}


def test_the_leak_check_catches_a_fold_given_a_point_of_its_window(monkeypatch):
    result, _ = _leak_case("dummy", monkeypatch, leaky=True)
    assert result.status == "failed" and "saw the future" in result.reason


# --- bad input: one line, nothing stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "words"),
    [
        (None, {"horizon": 0}, ConfigError, "--horizon must be a whole number"),
        (None, {"horizon": None}, ConfigError, "needs --horizon"),
        (None, {"horizon": 30}, DataError, "has 48 points; the backtest needs"),
        (None, {"time": None}, ConfigError, "needs --time COLUMN"),
        (None, {"time": "When"}, ConfigError, "--time 'When' is not a column"),
        ("bad_date", {}, DataError, "is not a date: 'someday'"),
        ("duplicate", {}, DataError, "series 'S1' has the time 2018-01-01 00:00:00 more than once"),
        ("gap", {}, DataError, "series 'S0' has gaps"),
        ("short", {}, DataError, "series 'S2' has 15 points"),
        (None, {"known": ("Nope",)}, ConfigError, "--known 'Nope' is not a covariate"),
    ],
)
def test_bad_forecast_input_is_one_line_and_stores_nothing(change, kwargs, error, words, tmp_path):
    table = sales_table()
    if change == "bad_date":
        table.loc[5, "Date"] = "someday"
    elif change == "duplicate":
        table.loc[49, "Date"] = table.loc[48, "Date"]
    elif change == "gap":
        table = table.drop(index=10)
    elif change == "short":
        table = table[~((table["Store"] == "S2") & (table.index % 48 >= 15))]
    options = {"time": "Date", "series": "Store", "horizon": 6} | kwargs
    with pytest.raises(error, match=words) as info:
        compare(table, "Sales", task="forecast", families=["dummy"], store=tmp_path, **options)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "mlvsdl.db").exists() or not Store(tmp_path).db.runs()


def test_forecast_options_for_another_task_are_refused():
    with pytest.raises(ConfigError, match=r"belong.* to --task forecast"):
        infer_schema(sales_table(), "Sales", "regression", horizon=3)
