"""MLflow tracking: a compare logged to a temporary SQLite tracking URI, read back by the client."""

from __future__ import annotations

import sys

import pytest

from mlvsdl import compare
from mlvsdl.errors import ConfigError
from mlvsdl.track import mlflow as tracking
from tests.conftest import make_table
from tests.test_cli import FAST, run_cli


@pytest.fixture(scope="module")
def mlflow():
    return pytest.importorskip(
        "mlflow", reason="MLflow not installed (pip install 'mlvsdl[mlflow]')"
    )


FAMILIES = ["dummy", "linear", "lgbm"]


@pytest.fixture(scope="module")
def logged(tmp_path_factory, mlflow):
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'tracking.db'}"
    result = compare(
        make_table(n=200), "y", families=FAMILIES, cv=3, store=root / "store", mlflow=uri
    )
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(tracking.DEFAULT_EXPERIMENT)
    return result, client, client.search_runs([experiment.experiment_id])


def test_one_parent_run_with_a_nested_run_per_candidate(logged):
    result, _, runs = logged
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.data.tags["mlvsdl.run_id"] == result.run_id
    assert parent.data.params["seed"] == "0" and parent.data.params["target"] == "y"
    children = {r.info.run_name: r for r in runs if r is not parent}
    assert set(children) == {*FAMILIES, "ensemble_ml"}  # the ensemble of linear and lgbm too
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parent.info.run_id}


def test_candidates_carry_params_metrics_and_store_values(logged):
    result, _, runs = logged
    board = result.leaderboard.set_index("model")
    lgbm = next(r for r in runs if r.info.run_name == "lgbm")
    assert lgbm.data.params["family"] == "lgbm" and lgbm.data.params["kind"] == "ml"
    assert lgbm.data.params["seed"] == "0"
    assert "model__n_estimators" in lgbm.data.params  # the final step's hyperparameters
    metrics = lgbm.data.metrics
    for split in ("cv", "test", "train"):
        assert f"{split}_roc_auc" in metrics
    assert metrics["val_score"] == pytest.approx(board.loc["lgbm", "val_score"])
    assert metrics["test_score"] == pytest.approx(board.loc["lgbm", "test_score"])
    assert metrics["model_bytes"] == board.loc["lgbm", "model_bytes"]
    assert metrics["fit_time_s"] > 0


def test_schema_report_and_a_servable_model_are_logged(logged, mlflow):
    result, client, runs = logged
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"schema.json", "report.html"} <= names
    linear = next(r for r in runs if r.info.run_name == "linear")
    model_id = linear.outputs.model_outputs[0].model_id
    loaded = mlflow.pyfunc.load_model(client.get_logged_model(model_id).artifact_location)
    columns = [c.name for c in loaded.metadata.signature.inputs]
    assert columns == ["x1", "x2", "colour", "flag", "when"]
    new = make_table(n=20, seed=4).drop(columns="y")
    assert list(loaded.predict(new)) == list(result.predict(new, model="linear")["prediction"])


def test_cli_mlflow_alone_logs_to_a_database_in_the_store(monkeypatch, capsys, tmp_path, mlflow):
    data = tmp_path / "t.csv"
    make_table(n=120).to_csv(data, index=False)
    store = tmp_path / "store"
    args = [str(data), "-t", "y", "--store", str(store), *FAST[:2], "--cv", "2", "--mlflow"]
    code, _, err = run_cli(monkeypatch, capsys, "compare", *args)
    assert code == 0, err
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{store.resolve()}/mlflow.db")
    experiment = client.get_experiment_by_name(tracking.DEFAULT_EXPERIMENT)
    # the parent, the three families and the ensemble of linear and lgbm
    assert len(client.search_runs([experiment.experiment_id])) == 1 + 3 + 1
    assert (store / "mlflow-artifacts").is_dir()  # not ./mlruns of the working directory


def test_without_mlflow_the_error_names_the_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'mlvsdl\[mlflow\]'"):
        compare(make_table(n=60), "y", families=["dummy"], store=tmp_path, mlflow=True)
    assert not (tmp_path / "mlvsdl.db").exists()  # refused before the run was written
