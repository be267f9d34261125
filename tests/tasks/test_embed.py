"""Dimensionality reduction through the task contract: metrics against scikit-learn's and
hand-computed values, the split, the bad inputs (one line, exit 2, nothing stored), and a run
end to end (compare, predict, serve, report, export)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.manifold import trustworthiness
from sklearn.model_selection import LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError, TargetError
from mlvsdl.store import Store
from mlvsdl.tasks import get_task
from mlvsdl.tasks.embed import (
    EmbedPredictions,
    continuity,
    knn_accuracy,
    reconstruction_error,
)
from mlvsdl.types import Task

EMBED = get_task(Task.EMBED)


def digits_table(n: int | None = None) -> pd.DataFrame:
    data = load_digits()
    frame = pd.DataFrame(data.data, columns=[f"p{i}" for i in range(64)])
    frame["digit"] = data.target.astype(str)
    return frame if n is None else frame.head(n)


# --- metrics, against scikit-learn and by hand -------------------------------------------------


def _ranks(X: np.ndarray) -> np.ndarray:
    """rank[i, j]: j's place among i's neighbours by distance (1 = nearest), by hand."""
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")
    ranks = np.empty_like(order)
    for i, row in enumerate(order):
        ranks[i, row] = np.arange(1, len(row) + 1)
    return ranks


def _trust_by_hand(X: np.ndarray, Z: np.ndarray, k: int) -> float:
    """Venna & Kaski's trustworthiness: penalize embedding neighbours that are not input
    neighbours by how far down the input ranking they are."""
    n = len(X)
    rx, rz = _ranks(X), _ranks(Z)
    penalty = sum(
        rx[i, j] - k for i in range(n) for j in range(n) if i != j and rz[i, j] <= k < rx[i, j]
    )
    return 1 - 2 / (n * k * (2 * n - 3 * k - 1)) * penalty


def test_trustworthiness_and_continuity_match_scikit_learn_and_the_formula():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6))
    Z = X[:, :2] + 0.3 * rng.normal(size=(60, 2))
    scores = EMBED.score(None, EmbedPredictions(Z, reference=X))
    assert scores["trustworthiness"] == pytest.approx(trustworthiness(X, Z, n_neighbors=10))
    assert scores["trustworthiness"] == pytest.approx(_trust_by_hand(X, Z, 10))
    # continuity: the same penalty for input neighbours the embedding lost (roles swapped)
    assert scores["continuity"] == pytest.approx(_trust_by_hand(Z, X, 10))
    assert continuity(sparse.csr_matrix(X), Z) == pytest.approx(scores["continuity"])
    assert scores["trustworthiness"] != pytest.approx(scores["continuity"])
    perfect = EMBED.score(None, EmbedPredictions(X[:, :2], reference=X[:, :2]))
    assert perfect["trustworthiness"] == pytest.approx(1.0)
    assert perfect["continuity"] == pytest.approx(1.0)
    assert "knn_accuracy" not in scores and "reconstruction_error" not in scores


def test_knn_accuracy_by_hand_and_against_leave_one_out():
    Z = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    assert knn_accuracy(Z, np.array(list("aaabbb")), k=2) == 1.0
    # the row at 2.0 labelled b: its two neighbours (1.0, 0.0) say a, so it is missed; the
    # a-rows keep two a-neighbours... except 1.0, whose neighbours are 0.0 (a) and 2.0 (b): a tie,
    # broken to the smaller code (a, the first value met): right
    assert knn_accuracy(Z, np.array(list("aabbbb")), k=2) == pytest.approx(5 / 6)
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(80, 2))
    y = (Z[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    loo = cross_val_score(KNeighborsClassifier(n_neighbors=3), Z, y, cv=LeaveOneOut()).mean()
    assert knn_accuracy(Z, y, k=3) == pytest.approx(loo)


def test_reconstruction_error_is_the_mean_squared_error_per_feature():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    pca = PCA(n_components=3).fit(X)
    Z = pca.transform(X)
    expected = np.mean((X - pca.inverse_transform(Z)) ** 2)
    assert reconstruction_error(X, pca.inverse_transform, Z) == pytest.approx(expected)
    full = PCA(n_components=8).fit(X)
    assert reconstruction_error(X, full.inverse_transform, full.transform(X)) < 1e-20
    S = sparse.random(300, 50, density=0.1, random_state=0, format="csr")
    svd = TruncatedSVD(n_components=5, random_state=0).fit(S)
    Zs = svd.transform(S)
    dense = np.mean((S.toarray() - svd.inverse_transform(Zs)) ** 2)
    assert reconstruction_error(S, svd.inverse_transform, Zs) == pytest.approx(dense)


def test_predict_answers_the_coordinates_and_keeps_the_input_space(tmp_path):
    frame, schema = infer_schema(digits_table(300), None, "embed", label="digit", dims=4)
    X = frame.drop(columns="digit")
    from mlvsdl.families.registry import get_family

    model = get_family("pca").build(schema, random_state=0)
    EMBED.fit(model, X, None)
    got = EMBED.predict(model, X)
    np.testing.assert_allclose(got.values, model.transform(X))
    np.testing.assert_allclose(got.reference, model[:-1].transform(X))
    assert list(EMBED.to_frame(got, schema).columns) == ["dim_0", "dim_1", "dim_2", "dim_3"]
    record = EMBED.to_records(got, schema)[0]
    assert list(record) == ["dim_0", "dim_1", "dim_2", "dim_3"]
    assert record["dim_0"] == pytest.approx(got.values[0, 0])
    scores = EMBED.score(frame["digit"].to_numpy(), got)
    assert set(scores) == set(EMBED.metrics)
    assert EMBED.metric_for(schema, None) == "knn_accuracy"


def test_split_is_stratified_by_the_label_and_shuffled_without_one():
    y = np.array(["a"] * 80 + ["b"] * 20)
    splits = EMBED.split(y, 100, 0.2, 5, seed=0)
    assert (y[splits.test] == "b").sum() == 4  # a fifth of each label value
    for _, val in splits.folds:
        assert (y[splits.train][val] == "b").sum() == 3 or (y[splits.train][val] == "b").sum() == 4
    rare = np.array(["a"] * 97 + ["b"] * 3)  # too few rows of b to stratify: shuffled
    assert len(EMBED.split(rare, 100, 0.2, 5, seed=0).test) == 20
    plain = EMBED.split(None, 100, 0.2, 1, seed=0)
    assert len(plain.test) == 20 and len(plain.folds) == 1
    assert not np.array_equal(plain.test, np.arange(80, 100))


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"dims": 0}, ConfigError, "--dims must be a whole number"),
        ({"dims": -3}, ConfigError, "--dims must be a whole number"),
        ({"dims": 2.5}, ConfigError, "--dims must be a whole number"),
        ({"dims": 62}, ConfigError, "must be below the 62 input features"),
        ({"label": "colour"}, TargetError, "label column 'colour' not found"),
        ({"label": "p0"}, TargetError, "has one value"),
        ({"target": "digit"}, ConfigError, "pass it as --label digit"),
        ({"contamination": 0.1}, ConfigError, "belong to --task anomaly"),
        ({"metric": "knn_accuracy"}, ConfigError, "pass --label COLUMN"),
        ({"metric": "roc_auc"}, ConfigError, "does not apply to a embed task"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(options, error, words, tmp_path):
    target = options.pop("target", None)
    with pytest.raises(error, match=words) as caught:
        compare(digits_table(), target, task="embed", store=tmp_path, **options)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "mlvsdl.db").exists() or not Store(tmp_path).db.runs()


def test_dims_belongs_to_embed_only(tmp_path):
    with pytest.raises(ConfigError, match="--dims belongs to --task embed"):
        compare(digits_table(), task="anomaly", dims=2, store=tmp_path)
    with pytest.raises(ConfigError, match="--dims"):
        compare(digits_table(), "digit", dims=2, store=tmp_path)
    assert not (tmp_path / "mlvsdl.db").exists() or not Store(tmp_path).db.runs()


def test_cli_bad_dims_exits_2_and_stores_nothing(tmp_path, monkeypatch, capsys):
    from tests.test_cli import run_cli

    path = tmp_path / "digits.csv"
    digits_table(200).to_csv(path, index=False)
    store = tmp_path / "store"
    for extra, words in (
        (["--dims", "0"], "--dims must be a whole number"),
        (["--dims", "500"], "must be below"),
        (["--label", "p0"], "has one value"),
    ):
        code, _, err = run_cli(
            monkeypatch,
            capsys,
            "compare",
            str(path),
            "--task",
            "embed",
            "--store",
            str(store),
            *extra,
        )
        assert code == 2 and words in err and err.count("\n") == 1, err
    assert not (store / "mlvsdl.db").exists() or not Store(store).db.runs()


# --- end to end --------------------------------------------------------------------------------

FITS: list[object] = []  # what every PCA fit was given as y


@pytest.fixture()
def short_ae(monkeypatch):
    """The autoencoder trains 15 epochs here: this test checks the flow, bench/ the scores."""
    from dataclasses import replace

    from mlvsdl.families import registry

    family = registry.get_family("ae")

    def build(schema, random_state):
        return family.factory(schema, random_state).set_params(model__max_epochs=15)

    monkeypatch.setitem(registry._FAMILIES, "ae", replace(family, factory=build))


@pytest.fixture()
def spy_pca(monkeypatch):
    fit = PCA.fit

    def spy(self, X, y=None):
        FITS.append((X.shape[1], y))
        return fit(self, X, y)

    monkeypatch.setattr(PCA, "fit", spy)
    FITS.clear()


def test_compare_predict_serve_report_export_end_to_end(spy_pca, short_ae, tmp_path):
    from fastapi.testclient import TestClient

    from mlvsdl.evaluate.analysis import load_analysis
    from mlvsdl.serve import create_app

    table = digits_table(800)
    result = compare(
        table,
        task="embed",
        label="digit",
        dims=2,
        families=["dummy", "pca", "ae"],
        cv=2,
        time_budget=None,
        store=tmp_path,
    )
    assert result.metric == "knn_accuracy"
    assert FITS and all(y is None for _, y in FITS)  # never the label
    width = FITS[0][0]
    assert all(w == width for w, _ in FITS) and width < 64  # the encoded pixels, not the label
    board = result.leaderboard.set_index("model")
    assert set(board["kind"]) == {"ml", "dl"}
    assert (board["status"] == "completed").all()
    # PCA beats a random projection on digit neighbourhoods; the (briefly trained) autoencoder
    # beats it too
    assert board.loc["pca", "val_score"] > board.loc["dummy", "val_score"] + 0.1
    assert board.loc["ae", "val_score"] > board.loc["dummy", "val_score"]
    metrics = pd.DataFrame(Store(tmp_path).db.metrics(result.run_id))
    test = metrics[metrics["split"] == "test"].pivot(index="candidate", columns="metric")["value"]
    assert set(test.columns) == set(EMBED.metrics)
    assert test.loc["pca", "trustworthiness"] > test.loc["dummy", "trustworthiness"]

    rows = table.drop(columns="digit").head(5)
    predicted = result.predict(rows, model="pca")
    assert list(predicted.columns) == ["dim_0", "dim_1"]
    np.testing.assert_allclose(predicted.to_numpy(), result.models["pca"].transform(rows))

    client = TestClient(create_app(result.run_id, tmp_path, model="pca"))
    assert client.get("/schema").json()["answers"] == ["dim_0", "dim_1"]
    used = result.schema.feature_names
    body = client.post("/predict", json=rows[used].to_dict("records")).json()
    got = [[p["dim_0"], p["dim_1"]] for p in body["predictions"]]
    np.testing.assert_allclose(got, predicted.to_numpy(), rtol=1e-9)
    refused = client.post("/explain", json=rows[used].iloc[0].to_dict())
    assert refused.status_code == 422 and "coordinates" in refused.json()["detail"]

    analysis = load_analysis(Store(tmp_path), result.run_id)
    assert not analysis["errors"]
    maps = analysis["maps"]["maps"]
    assert {maps["ml"]["model"], maps["dl"]["model"]} == {"pca", "ae"}
    assert len(maps["ml"]["x"]) == len(analysis["maps"]["labels"]) == len(result_test(result))
    html = result.report_path.read_text()
    for anchor in ("embeddings", "maps", "leaderboard", "recommendation"):
        assert f'id="{anchor}"' in html
    assert "could not be drawn" not in html

    pytest.importorskip("onnx")
    import onnxruntime

    from mlvsdl.export.onnx import export_onnx, onnx_feed, probe_rows

    path = tmp_path / "pca.onnx"
    probe = probe_rows(result.schema, result.settings["reference"])
    export_onnx(result.models["pca"], result.schema, path, probe=probe)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (coords,) = session.run(["coordinates"], onnx_feed(result.models["pca"], rows))
    np.testing.assert_allclose(coords, predicted.to_numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="AutoencoderEmbedding is not exported"):
        export_onnx(result.models["ae"], result.schema, tmp_path / "ae.onnx")
    assert not (tmp_path / "ae.onnx").exists()


def result_test(result) -> list[int]:
    return list(range(min(result.settings["n_test"], 800)))  # MAP_ROWS at --dims 2


def test_text_run_with_tfidf_and_minilm_side_by_side(tmp_path):
    from tests.families.text.data import make_text_table

    table = make_text_table(n=90)
    result = compare(
        table,
        task="embed",
        label="y",
        dims=2,
        families=["tsvd", "minilm_pca"],
        cv=2,
        time_budget=None,
        store=tmp_path,
    )
    board = result.leaderboard.set_index("model")
    assert set(board["kind"]) == {"ml", "dl"} and (board["status"] == "completed").all()
    out = result.predict(table.drop(columns="y").head(3), model="minilm_pca")
    assert list(out.columns) == ["dim_0", "dim_1"] and np.isfinite(out.to_numpy()).all()


def test_maps_draw_the_coordinates_or_a_tsne_of_them():
    from mlvsdl.evaluate.embed import to_plane

    rng = np.random.default_rng(3)
    two = rng.normal(size=(50, 2))
    points, how = to_plane(two, seed=0)
    np.testing.assert_array_equal(points, two)
    assert how == "the 2 coordinates"
    points, how = to_plane(two[:, :1], seed=0)
    assert points.shape == (50, 2) and not points[:, 1].any()
    five = np.vstack([rng.normal(size=(25, 5)), rng.normal(size=(25, 5)) + 8.0])
    points, how = to_plane(five, seed=0)
    assert points.shape == (50, 2) and how == "t-SNE of the 5 coordinates"
    # the two groups stay apart on the map
    gap = np.linalg.norm(points[:25].mean(0) - points[25:].mean(0))
    assert gap > 3 * points[:25].std(0).max()
