"""A forecasting run end to end: compare on the command line (classical and deep side by side),
the report, ``predict --horizon`` (from the run's data and from a --history file with known
covariates), ``serve``'s ``/forecast``, and bad command lines that store nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.result import load_run
from mlvsdl.store import Store
from tests.tasks.test_forecast import sales_table


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_cli_forecast_run_predict_serve_and_bad_input(tmp_path, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from mlvsdl.serve import create_app
    from tests.test_cli import run_cli

    table = sales_table(n_series=3, n=48)
    table["promo"] = (np.arange(len(table)) % 5 == 0).astype(int)
    path = tmp_path / "sales.csv"
    table.to_csv(path, index=False)
    store = tmp_path / "store"
    base = ["compare", str(path), "--task", "forecast", "--target", "Sales", "--store", str(store)]
    for extra, words in (
        (["--time", "Date", "--series", "Store", "--horizon", "-1"], "--horizon must be"),
        (["--series", "Store", "--horizon", "6"], "needs --time COLUMN"),
        (["--time", "Date", "--series", "Store", "--horizon", "6", "--cv", "9"], "--cv 9"),
        (["--time", "Store", "--horizon", "6"], "is not a date"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *base, *extra)
        assert code == 2 and words in err and err.count("\n") == 1, err
    assert not (store / "mlvsdl.db").exists() or not Store(store).db.runs()

    args = ["--time", "Date", "--series", "Store", "--horizon", "6", "--known", "promo"]
    families = ["--families", "dummy,theta,lgbm_forecast,nbeats", "--cv", "1"]
    code, out, err = run_cli(monkeypatch, capsys, *base, *args, *families, "--time-budget", "240")
    assert code == 0, err
    assert "mase" in out
    run_id = Store(store).db.runs()[0]["run_id"]
    result = load_run(run_id, store)
    board = result.leaderboard.set_index("model")
    for name in ("dummy", "theta", "lgbm_forecast", "nbeats"):
        assert board.loc[name, "status"] == "completed", board.loc[name, "note"]
        assert np.isfinite(board.loc[name, "test_score"])
    assert board.loc["theta", "test_score"] < board.loc["dummy", "test_score"]  # trend: beats it
    report = (store / "runs" / run_id / "report.html").read_text()
    for anchor in ('id="backtest"', 'id="horizon_errors"', 'id="series_errors"'):
        assert anchor in report

    # the future from the run's own data: theta needs no covariates
    written = tmp_path / "forecast.csv"
    code, _, err = run_cli(
        monkeypatch, capsys, "predict", run_id, "--horizon", "4", "--model", "theta",
        "-o", str(written), "--store", str(store),
    )  # fmt: skip
    assert code == 0, err
    got = pd.read_csv(written)
    assert list(got.columns) == [
        "Store", "Date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"
    ]  # fmt: skip
    assert len(got) == 12 and got["Date"].min() == "2022-01-01"
    assert (got["lower_95"] <= got["forecast"]).all() and (got["forecast"] <= got["upper_95"]).all()

    # LightGBM uses the known covariate: without the next rows' values it says what to add
    code, _, err = run_cli(
        monkeypatch, capsys, "predict", run_id, "--horizon", "2", "--model", "lgbm_forecast",
        "--store", str(store),
    )  # fmt: skip
    assert code == 2 and "add the next 2 rows" in err
    future = pd.DataFrame(
        {
            "Date": ["2022-01-01", "2022-02-01"] * 3,
            "Store": np.repeat(["S0", "S1", "S2"], 2),
            "Sales": np.nan,
            "promo": [1, 0] * 3,
        }
    )
    history = tmp_path / "history.csv"
    pd.concat([table, future]).to_csv(history, index=False)
    code, out, err = run_cli(
        monkeypatch, capsys, "predict", run_id, "--horizon", "2", "--model", "lgbm_forecast",
        "--history", str(history), "--store", str(store),
    )  # fmt: skip
    assert code == 0, err
    assert out.count("\n") == 7 and "S2,2022-02-01" in out

    client = TestClient(create_app(run_id, store, model="theta"))
    answer = client.post("/forecast", json={"series": "S1", "horizon": 3}).json()
    periods = answer["forecasts"][0]["periods"]
    assert answer["forecasts"][0]["series"] == "S1" and len(periods) == 3
    expected = got[got["Store"] == "S1"].head(3)
    np.testing.assert_allclose([p["forecast"] for p in periods], expected["forecast"], rtol=1e-6)
    assert client.post("/forecast", json={"series": "nope"}).status_code == 404
    assert client.post("/forecast", json={"horizon": 0}).status_code == 422
    assert client.post("/predict", json=[{"Date": "2022-01-01", "Store": "S1"}]).status_code == 422
