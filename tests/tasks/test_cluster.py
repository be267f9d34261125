"""Clustering through the task contract: metrics against scikit-learn's, the label kept for
evaluation only, stability, the rules that choose k, the protocol end to end (compare, predict,
serve, report) and the bad inputs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_digits, make_blobs

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError, TargetError
from mlvsdl.families.cluster import (
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    WardClusterer,
)
from mlvsdl.store import Store
from mlvsdl.tasks import Predictions, get_task
from mlvsdl.tasks.cluster import cluster_accuracy, pairwise_ari
from mlvsdl.types import Task

CLUSTER = get_task(Task.CLUSTER)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small networks: on a busy machine more threads wait on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def blobs_table(n: int = 400, centers: int = 4, seed: int = 0) -> pd.DataFrame:
    """Well separated blobs in 4 numeric columns, one categorical column tied to blob 1, and
    the blob as ``group`` (the evaluation label)."""
    X, y = make_blobs(n_samples=n, centers=centers, n_features=4, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    frame["shade"] = np.where(y == 1, "dark", "light")
    frame["group"] = [f"g{v}" for v in y]
    return frame


# --- metrics ------------------------------------------------------------------------------------


def test_cluster_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 300)
    clusters = np.where(rng.random(300) < 0.8, truth, rng.integers(0, 4, 300))
    space = rng.normal(size=(300, 5)) + truth[:, None] * 3.0
    got = CLUSTER.score(truth, Predictions(clusters, scores=np.zeros(300), space=space))
    assert got["nmi"] == pytest.approx(skm.normalized_mutual_info_score(truth, clusters))
    assert got["ari"] == pytest.approx(skm.adjusted_rand_score(truth, clusters))
    assert got["silhouette"] == pytest.approx(skm.silhouette_score(space, clusters))
    assert got["davies_bouldin"] == pytest.approx(skm.davies_bouldin_score(space, clusters))
    assert got["calinski_harabasz"] == pytest.approx(skm.calinski_harabasz_score(space, clusters))
    assert got["n_clusters"] == len(np.unique(clusters)) and got["noise_share"] == 0.0


def test_cluster_accuracy_is_the_best_one_to_one_matching():
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    clusters = np.array([5, 5, 7, 7, 7, 7, 9, 9])  # names do not matter, only the grouping
    # brute force over every one-to-one map of the three clusters onto the three classes
    best = max(
        np.mean(
            [
                dict(zip((5, 7, 9), p, strict=True))[c] == t
                for c, t in zip(clusters, truth, strict=True)
            ]
        )
        for p in itertools.permutations(range(3))
    )
    assert cluster_accuracy(truth, clusters) == pytest.approx(best) == pytest.approx(7 / 8)
    # more clusters than classes: the extra cluster cannot be matched and counts as wrong
    assert cluster_accuracy(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2])) == pytest.approx(0.75)


def test_noise_counts_in_labelled_metrics_and_leaves_the_internal_ones():
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1], 50)
    space = rng.normal(size=(100, 2)) + truth[:, None] * 5.0
    clusters = truth.copy()
    clusters[:10] = -1
    got = CLUSTER.score(truth, Predictions(clusters, scores=np.zeros(100), space=space))
    assert got["noise_share"] == pytest.approx(0.1)
    assert got["nmi"] == pytest.approx(skm.normalized_mutual_info_score(truth, clusters))
    kept = clusters >= 0
    assert got["silhouette"] == pytest.approx(skm.silhouette_score(space[kept], clusters[kept]))


def test_stability_is_the_mean_pairwise_ari():
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([1, 1, 0, 0, 2, 2])  # the same grouping, renamed
    c = np.array([0, 1, 0, 1, 0, 1])
    values = pairwise_ari([a, b, c])
    assert values[0] == pytest.approx(1.0)
    assert values == pytest.approx(
        [skm.adjusted_rand_score(x, y) for x, y in itertools.combinations([a, b, c], 2)]
    )
    predictions = [Predictions(v) for v in (a, b, c)]
    assert CLUSTER.across_folds(predictions, None, 0)["stability"] == pytest.approx(values)


# --- the clusterers' rules ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [KMeansClusterer, WardClusterer, GaussianMixtureClusterer])
def test_rules_find_the_number_of_blobs(cls):
    X, y = make_blobs(n_samples=600, centers=5, n_features=3, random_state=3, cluster_std=0.6)
    model = cls(random_state=0).fit(X)
    assert model.n_clusters_ == 5, model.k_rule_
    assert "k = 5" in model.k_rule_
    assert skm.adjusted_rand_score(y, model.predict(X)) > 0.95
    assert model.transform(X).shape == (600, 5)


def test_hdbscan_finds_its_own_clusters_and_marks_far_rows_noise():
    X, y = make_blobs(n_samples=500, centers=3, n_features=2, random_state=0, cluster_std=0.5)
    model = HDBSCANClusterer(n_clusters=7, random_state=0).fit(X)
    assert model.n_clusters_ == 3 and "--k does not apply" in model.k_rule_
    assert skm.adjusted_rand_score(y, model.predict(X)) > 0.9
    far = np.array([[100.0, 100.0]])
    assert model.predict(far).tolist() == [-1]


def test_ward_subsamples_above_its_row_limit_and_assigns_the_rest():
    X, _ = make_blobs(n_samples=900, centers=3, n_features=2, random_state=0)
    model = WardClusterer(n_clusters=3, max_rows=200, random_state=0).fit(X)
    assert model.n_fitted_rows_ == 200 and len(model.labels_) == 900
    np.testing.assert_array_equal(model.labels_, model.predict(X))


# --- inputs -------------------------------------------------------------------------------------


def test_label_is_kept_for_evaluation_and_k_stored():
    _, schema = infer_schema(blobs_table(), None, "cluster", label="group", k=4)
    assert schema.task is Task.CLUSTER and schema.label == "group" and schema.target is None
    assert schema.options["k"] == 4
    assert "group" not in schema.feature_names


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"k": 1}, ConfigError, "--k must be a whole number of clusters, at least 2"),
        ({"k": 10_000}, ConfigError, "more clusters than the table's 400 rows"),
        ({"label": "missing"}, TargetError, "label column 'missing' not found"),
        ({"label": "constant"}, TargetError, "has one value"),
        ({"contamination": 0.1}, ConfigError, "belong to --task anomaly"),
    ],
)
def test_bad_cluster_options_are_one_line_errors(kwargs, error, words):
    table = blobs_table().assign(constant="same")
    with pytest.raises(error, match=words) as info:
        infer_schema(table, None, "cluster", **kwargs)
    assert "\n" not in str(info.value)


def test_k_for_another_task_is_refused():
    with pytest.raises(ConfigError, match=r"--k .* belongs to --task cluster"):
        infer_schema(blobs_table(), "group", "multiclass", k=3)


def test_k_above_the_rows_a_fold_fits_on_is_refused_before_anything_is_stored(tmp_path):
    with pytest.raises(ConfigError, match="rows a model is fitted on"):
        compare(blobs_table(n=40), task="cluster", k=30, families=["kmeans"], store=tmp_path)
    assert not (tmp_path / "mlvsdl.db").exists() or not Store(tmp_path).db.runs()


# --- end to end ---------------------------------------------------------------------------------


def test_compare_with_a_label_ranks_by_nmi_predicts_and_reports(tmp_path):
    table = blobs_table()
    families = ["dummy", "kmeans", "gaussian_mixture", "hdbscan"]
    result = compare(table, task="cluster", label="group", k=4, families=families, store=tmp_path)
    assert result.metric == "nmi"
    board = result.leaderboard.set_index("model")
    assert board.loc["kmeans", "test_score"] > 0.95
    assert board.loc["dummy", "test_score"] < 0.1  # chance groups
    assert board.loc["kmeans", "rank"] < board.loc["dummy", "rank"]
    stored = {
        m["metric"] for m in Store(tmp_path).db.metrics(result.run_id) if m["candidate"] == "kmeans"
    }
    assert {"nmi", "ari", "cluster_accuracy", "silhouette", "davies_bouldin"} <= stored
    assert {"calinski_harabasz", "stability", "n_clusters", "noise_share"} <= stored

    predicted = result.predict(table.drop(columns="group"), model="kmeans")
    assert list(predicted.columns) == ["cluster", "distance"]
    assert skm.adjusted_rand_score(table["group"], predicted["cluster"]) > 0.95
    assert (predicted["distance"] >= 0).all()

    analysis = json.loads((tmp_path / "runs" / result.run_id / "analysis.json").read_text())
    assert analysis["errors"] == {}
    profiles = analysis["clusters"]["models"]["kmeans"]["clusters"]
    assert len(profiles) == 4 and all(p["label_share"] > 0.9 for p in profiles)
    dark = [p for p in profiles if any(c.get("level") == "dark" for c in p["columns"])]
    assert len(dark) == 1 and dark[0]["label"] == "g1"  # the column that sets blob 1 apart
    assert set(analysis["cluster_map"]["models"]) >= {"kmeans"}
    html = result.report_path.read_text()
    for anchor in ("clusterers", "clusters", "cluster_map", "leaderboard"):
        assert f'id="{anchor}"' in html


def test_compare_without_a_label_ranks_by_silhouette_with_stability(tmp_path):
    table = blobs_table().drop(columns="group")
    result = compare(table, task="cluster", families=["dummy", "kmeans"], cv=2, store=tmp_path)
    assert result.metric == "silhouette"
    assert result.settings["n_folds"] == 3  # stability compares at least three refits
    board = result.leaderboard.set_index("model")
    assert board.loc["kmeans", "val_score"] > 0.5 > board.loc["dummy", "val_score"]
    metrics = Store(tmp_path).db.metrics(result.run_id)
    stability = {
        m["candidate"]: m["value"]
        for m in metrics
        if m["metric"] == "stability" and m["split"] == "cv"
    }
    assert stability["kmeans"] > 0.9 and stability["kmeans"] > stability["dummy"]


def test_digits_end_to_end_with_deep_clusterers_and_serve(tmp_path):
    """sklearn's 8x8 digits: classical and deep clusterers side by side, then served."""
    from fastapi.testclient import TestClient

    from mlvsdl.serve import create_app

    digits = load_digits()
    table = pd.DataFrame(digits.data[:600], columns=[f"p{i}" for i in range(64)])
    table["digit"] = digits.target[:600]
    families = ["dummy", "kmeans", "ae_kmeans", "idec"]
    result = compare(
        table, task="cluster", label="digit", k=10, families=families, store=tmp_path, cv=2
    )
    board = result.leaderboard.set_index("model")
    for name in ("kmeans", "ae_kmeans", "idec"):
        assert board.loc[name, "status"] == "completed", board.loc[name, "note"]
        assert board.loc[name, "test_score"] > 0.5  # NMI; chance is near 0
    # NMI is not adjusted for chance: 10 chance groups of 120 test rows still score about 0.2;
    # the adjusted Rand index is
    metrics = Store(tmp_path).db.metrics(result.run_id)
    ari = {
        m["candidate"]: m["value"] for m in metrics if m["metric"] == "ari" and m["split"] == "test"
    }
    assert abs(ari["dummy"]) < 0.05 and min(ari["kmeans"], ari["idec"]) > 0.3

    client = TestClient(create_app(result.run_id, tmp_path, model="idec"))
    assert client.get("/schema").json()["answers"] == ["cluster", "distance"]
    rows = table.drop(columns="digit").head(5)
    got = client.post("/predict", json=rows.to_dict("records")).json()["predictions"]
    expected = result.predict(rows, model="idec")
    assert [p["cluster"] for p in got] == expected["cluster"].tolist()
    np.testing.assert_allclose([p["distance"] for p in got], expected["distance"], rtol=1e-6)
    assert client.post("/explain", json=rows.iloc[0].to_dict()).status_code == 422


def test_cli_cluster_run_and_bad_input_leave_nothing(tmp_path, monkeypatch, capsys):
    from tests.test_cli import run_cli

    path = tmp_path / "blobs.csv"
    blobs_table().to_csv(path, index=False)
    store = tmp_path / "store"
    base = ["compare", str(path), "--task", "cluster", "--store", str(store)]
    for extra, words in (
        (["--k", "1"], "--k must be a whole number"),
        (["--k", "401"], "more clusters than the table's 400 rows"),
        (["--label", "shade", "--k", "3", "--families", "lgbm"], "cannot learn the cluster task"),
        (["--target", "group"], "pass it as --label group"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *base, *extra)
        assert code == 2 and words in err and err.count("\n") == 1, err
    assert not (store / "mlvsdl.db").exists() or not Store(store).db.runs()
    args = ["--label", "group", "--k", "4", "--families", "dummy,kmeans"]
    code, out, err = run_cli(monkeypatch, capsys, *base, *args)
    assert code == 0, err
    assert "nmi" in out
    assigned = tmp_path / "assigned.csv"
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(path),
        "-o",
        str(assigned),
        "--store",
        str(store),
    )
    assert code == 0, err
    assert list(pd.read_csv(assigned).columns) == ["cluster", "distance"]
    code, _, err = run_cli(monkeypatch, capsys, "explain", "latest", "--store", str(store))
    assert code == 2 and "not built for clusters" in err and err.count("\n") == 1, err


def test_image_run_shows_the_members_nearest_each_centre(tmp_path):
    digits = load_digits()
    images = list((digits.images[:300] * (255 / 16)).astype(np.uint8))
    result = compare(
        (images, digits.target[:300]),
        task="cluster",
        label="label",
        k=5,
        families=["dummy", "kmeans"],
        store=tmp_path,
    )
    analysis = json.loads((tmp_path / "runs" / result.run_id / "analysis.json").read_text())
    assert analysis["errors"] == {}
    profiles = analysis["clusters"]["models"]["kmeans"]["clusters"]
    assert all(p["members"] >= 1 and p["members_png"] for p in profiles)
    assert profiles[0]["members_png"] in result.report_path.read_text()


def test_answers_at_once_are_predict_transform_and_the_evaluation_space():
    X, _ = make_blobs(n_samples=200, centers=3, n_features=4, random_state=0)
    for model in (
        KMeansClusterer(n_clusters=3, random_state=0).fit(X),
        HDBSCANClusterer(random_state=0).fit(X),
    ):
        clusters, distances, space = model.answers(X)
        np.testing.assert_array_equal(clusters, model.predict(X))
        np.testing.assert_allclose(distances, model.transform(X))
        np.testing.assert_allclose(space, model.evaluation_space(X))
