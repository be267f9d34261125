"""Anomaly detection through the task contract: label for evaluation only, metrics, stability,
the protocol end to end (compare, predict, serve, report), and the bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError, TargetError
from mlvsdl.families import registry
from mlvsdl.families.base import Family
from mlvsdl.features.tabular import linear_encoder, table_cleaner
from mlvsdl.store import Store
from mlvsdl.tasks import Predictions, get_task
from mlvsdl.tasks.anomaly import pairwise_overlaps
from mlvsdl.types import Kind, Modality, Task

ANOMALY = get_task(Task.ANOMALY)


def anomaly_table(n: int = 300, share: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Normal rows near the origin and a ``share`` of rows far from it; ``fraud`` marks them."""
    rng = np.random.default_rng(seed)
    n_bad = int(n * share)
    x = rng.normal(size=(n, 3))
    x[:n_bad] += rng.choice([-6.0, 6.0], size=(n_bad, 3))
    kind = rng.choice(["a", "b"], size=n)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "kind": kind})
    frame["fraud"] = np.where(np.arange(n) < n_bad, "yes", "no")
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


SEEN: list[tuple[list[str], object]] = []  # what every isolation-forest fit was given


def _spy_fit(fit):
    def spy(self, X, y=None, sample_weight=None):
        SEEN.append((list(getattr(X, "columns", [])), y))
        return fit(self, X, y, sample_weight)

    return spy


def _forest(schema, seed):
    return Pipeline(
        [
            ("clean", table_cleaner(schema)),
            ("encode", linear_encoder(schema)),
            ("model", IsolationForest(n_estimators=50, random_state=seed)),
        ]
    )


@pytest.fixture()
def forest(monkeypatch):
    family = Family(
        "spy_forest",
        "Isolation forest (test)",
        Kind.ML,
        frozenset({Task.ANOMALY}),
        frozenset({Modality.TABULAR}),
        _forest,
        relative_cost=0.01,
    )
    registry._load()
    monkeypatch.setitem(registry._FAMILIES, "spy_forest", family)
    monkeypatch.setattr(IsolationForest, "fit", _spy_fit(IsolationForest.fit))
    SEEN.clear()
    return family


# --- metrics, by hand --------------------------------------------------------------------------


def test_anomaly_metrics_match_hand_computed_values():
    y = np.array([1, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.0])
    flags = np.array([1, 1, 0, 0, 0, 0])
    got = ANOMALY.score(y, Predictions(flags, scores=scores))
    # top-2 rows (n = 2 true anomalies) are rows 0 and 1: one hit
    assert got["precision_at_n"] == 0.5 and got["recall_at_n"] == 0.5
    assert got["precision_flagged"] == 0.5 and got["recall_flagged"] == 0.5
    assert got["flagged"] == 2 and got["flagged_share"] == pytest.approx(2 / 6)
    assert got["average_precision"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(y, scores))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, scores))
    unlabelled = ANOMALY.score(None, Predictions(flags, scores=scores))
    assert set(unlabelled) == {"flagged", "flagged_share"}


def test_stability_rewards_agreement_and_not_ties():
    rng = np.random.default_rng(0)
    base = rng.normal(size=1000)
    same = pairwise_overlaps([base, base.copy(), base.copy()], 0.05, seed=0)
    assert same == [1.0, 1.0, 1.0]
    flat = pairwise_overlaps([np.zeros(1000)] * 3, 0.05, seed=0)
    assert np.mean(flat) < 0.15  # ties broken at random: about two random draws' overlap
    noisy = pairwise_overlaps([base + rng.normal(scale=0.3, size=1000) for _ in range(3)], 0.05, 0)
    assert np.mean(flat) < np.mean(noisy) < 1.0


# --- schema: the label is for evaluation only ---------------------------------------------------


def test_label_is_coded_and_kept_out_of_the_inputs():
    frame, schema = infer_schema(anomaly_table(), None, "anomaly", label="fraud")
    assert schema.task is Task.ANOMALY and schema.target is None and schema.label == "fraud"
    assert "fraud" not in schema.feature_names
    assert schema.options["anomaly_value"] == "yes"  # the rarer value
    assert set(frame["fraud"]) == {0, 1} and frame["fraud"].sum() == 30
    _, chosen = infer_schema(anomaly_table(), None, "anomaly", label="fraud", anomaly_value="no")
    assert chosen.options["anomaly_value"] == "no"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"label": "frud"}, TargetError, "Did you mean 'fraud'"),
        ({"label": "kind", "anomaly_value": "c"}, TargetError, "does not occur"),
        ({"label": "fraud", "contamination": 0.5}, ConfigError, "between 0 and 0.5"),
        ({"label": "fraud", "contamination": 0}, ConfigError, "between 0 and 0.5"),
        ({"anomaly_value": "yes"}, ConfigError, "pass --label too"),
    ],
)
def test_bad_anomaly_options_are_one_line_errors(kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        infer_schema(anomaly_table(), None, "anomaly", **kwargs)
    assert "\n" not in str(info.value)


def test_label_with_one_value_and_options_for_the_wrong_task_are_refused():
    table = anomaly_table().assign(const="x")
    with pytest.raises(TargetError, match="one value"):
        infer_schema(table, None, "anomaly", label="const")
    with pytest.raises(ConfigError, match="belong"):
        infer_schema(table, "fraud", "binary", label="kind")
    with pytest.raises(ConfigError, match="--label fraud"):
        infer_schema(table, "fraud", "anomaly")


# --- the protocol end to end -------------------------------------------------------------------


def test_compare_with_a_label_never_fits_on_it(forest, tmp_path):
    table = anomaly_table()
    result = compare(
        table, task="anomaly", label="fraud", families=["dummy", "spy_forest"], store=tmp_path
    )
    assert result.metric == "average_precision"
    assert SEEN, "the detector was never fitted"
    for columns, y in SEEN:
        assert y is None
        assert not any("fraud" in c for c in columns)
    board = result.leaderboard.set_index("model")
    assert board.loc["spy_forest", "rank"] == 1
    assert board.loc["spy_forest", "test_score"] > 0.9  # far-away rows are easy
    assert board.loc["dummy", "val_score"] == pytest.approx(0.1, abs=0.02)  # the base rate
    metrics = Store(tmp_path).db.metrics(result.run_id)
    stored = {m["metric"] for m in metrics if m["candidate"] == "spy_forest"}
    assert {"average_precision", "roc_auc", "precision_at_n", "flagged"} <= stored

    predicted = result.predict(table.drop(columns="fraud"))
    assert list(predicted.columns) == ["anomaly_score", "is_anomaly"]
    assert predicted["is_anomaly"].dtype == bool
    top = predicted["anomaly_score"].nlargest(30).index
    assert (table.loc[top, "fraud"] == "yes").mean() > 0.9

    analysis = json.loads((tmp_path / "runs" / result.run_id / "analysis.json").read_text())
    assert analysis["errors"] == {}
    assert analysis["anomaly"]["labelled"] and "pr" in analysis["anomaly"]["models"]["spy_forest"]
    assert analysis["flagged"]["rows"][0]["anomaly"] is True
    gap = analysis["supervised"]
    assert gap["supervised"]["roc_auc"] > 0.9 and gap["best_detector"]["model"] == "spy_forest"
    html = result.report_path.read_text()
    for anchor in ("detectors", "flagged", "labels", "leaderboard", "recommendation"):
        assert f'id="{anchor}"' in html
    assert 'id="curves"' not in html


def test_compare_without_a_label_ranks_by_stability(forest, tmp_path):
    result = compare(
        anomaly_table().drop(columns="fraud"),
        task="anomaly",
        families=["dummy", "spy_forest"],
        cv=2,
        store=tmp_path,
    )
    assert result.metric == "stability"
    assert result.settings["n_folds"] == 3  # stability compares at least three refits
    board = result.leaderboard.set_index("model")
    assert board.loc["spy_forest", "val_score"] > board.loc["dummy", "val_score"]
    assert board.loc["spy_forest", "rank"] == 1
    assert result.report_path.is_file()


def test_same_seed_same_anomaly_scores(forest, tmp_path):
    table = anomaly_table()
    runs = [
        compare(table, task="anomaly", label="fraud", families=["spy_forest"], store=tmp_path)
        for _ in range(2)
    ]
    boards = [r.leaderboard.set_index("model") for r in runs]
    assert boards[0].loc["spy_forest", "val_score"] == boards[1].loc["spy_forest", "val_score"]


def test_served_anomaly_answers(forest, tmp_path):
    from fastapi.testclient import TestClient

    from mlvsdl.serve import create_app

    table = anomaly_table()
    result = compare(
        table, task="anomaly", label="fraud", families=["dummy", "spy_forest"], store=tmp_path
    )
    client = TestClient(create_app(result.run_id, tmp_path, model="spy_forest"))
    schema = client.get("/schema").json()
    assert schema["answers"] == ["anomaly_score", "is_anomaly"] and "fraud" in schema["ignored"]
    rows = table.drop(columns="fraud").head(5)
    body = client.post("/predict", json=rows.to_dict("records")).json()
    expected = result.predict(rows, model="spy_forest")
    got = body["predictions"]
    assert [p["is_anomaly"] for p in got] == expected["is_anomaly"].tolist()
    np.testing.assert_allclose([p["anomaly_score"] for p in got], expected["anomaly_score"])
    explained = client.post("/explain", json=rows.iloc[0].to_dict()).json()
    assert explained["explained"] == "anomaly score" and explained["contributions"]


def test_cli_anomaly_run_and_bad_input_leave_nothing(forest, tmp_path, monkeypatch, capsys):
    from tests.test_cli import run_cli

    path = tmp_path / "fraud.csv"
    anomaly_table().to_csv(path, index=False)
    store = tmp_path / "store"
    base = ["compare", str(path), "--task", "anomaly", "--store", str(store)]
    for extra, words in (
        (["--label", "missing"], "label column 'missing' not found"),
        (["--label", "fraud", "--contamination", "0.7"], "--contamination"),
        (["--label", "fraud", "--families", "lgbm"], "cannot learn the anomaly task"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *base, *extra)
        assert code == 2 and words in err and err.count("\n") == 1
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "compare",
        str(path),
        "--target",
        "fraud",
        "--label",
        "kind",
        "--store",
        str(store),
    )
    assert code == 2 and "belong" in err
    assert not (store / "mlvsdl.db").exists() or not Store(store).db.runs()
    code, out, err = run_cli(
        monkeypatch, capsys, *base, "--label", "fraud", "--families", "dummy,spy_forest"
    )
    assert code == 0, err
    assert "average_precision" in out
    scores = tmp_path / "scores.csv"
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(path),
        "-o",
        str(scores),
        "--store",
        str(store),
    )
    assert code == 0, err
    assert list(pd.read_csv(scores).columns) == ["anomaly_score", "is_anomaly"]


def test_detectors_export_to_onnx_where_exact_and_as_bundles(tmp_path):
    pytest.importorskip("onnx")
    import onnxruntime

    from mlvsdl.export import load_model, write_bundle
    from mlvsdl.export.onnx import export_onnx, onnx_feed, probe_rows

    table = anomaly_table()
    noise = np.random.default_rng(1).normal(size=(len(table), 4))  # PCA needs a residual
    table = table.assign(**{f"z{i}": noise[:, i] for i in range(4)})
    families = ["iforest", "pca_recon", "ecod"]
    result = compare(table, task="anomaly", label="fraud", families=families, store=tmp_path)
    rows = table.drop(columns="fraud")
    reference = result.settings["reference"]
    for name in ("iforest", "pca_recon"):
        model = result.models[name]
        path = tmp_path / f"{name}.onnx"
        export_onnx(model, result.schema, path, probe=probe_rows(result.schema, reference))
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        scores, flags = session.run(["anomaly_score", "is_anomaly"], onnx_feed(model, rows))
        expected = result.predict(rows, model=name)
        np.testing.assert_allclose(scores, expected["anomaly_score"], rtol=1e-5, atol=1e-6)
        # flags agree wherever the score is clear of the threshold by more than float32 input
        # precision
        threshold = -model[-1].offset_
        clear = np.abs(expected["anomaly_score"] - threshold) > 1e-6 * (1 + abs(threshold))
        assert clear.sum() >= 30 and expected["is_anomaly"][clear].any()
        assert flags[clear].tolist() == expected["is_anomaly"][clear].tolist()
    with pytest.raises(ConfigError, match="only the isolation forest and PCA"):
        export_onnx(result.models["ecod"], result.schema, tmp_path / "ecod.onnx")
    assert not (tmp_path / "ecod.onnx").exists()
    path, _ = write_bundle(result.run_id, tmp_path / "m.mlvsdl", store=tmp_path, model="ecod")
    head = rows.head(20)
    pd.testing.assert_frame_equal(load_model(path).predict(head), result.predict(head, "ecod"))
