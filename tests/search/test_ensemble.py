"""Greedy ensemble selection: a hand-worked example, never worse than its best member on the
predictions it was selected on, and ensembles end to end (compare -> store -> predict)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from mlvsdl import compare, load_run
from mlvsdl.evaluate.metrics import METRICS
from mlvsdl.search.ensemble import _FoldScorer, select, weighted_average
from mlvsdl.store import Store
from mlvsdl.types import Schema, Task


def test_hand_worked_selection():
    # y = [0, 0]; A predicts 1 (MSE 1), B -1.5 (MSE 2.25), C 3 (MSE 9). Rounds, with the
    # averaged prediction of each choice:
    #   1: A 1.0 | B -1.5 | C 3.0             -> A  (MSE 1)
    #   2: A+A 1.0 | A+B -0.25 | A+C 2.0      -> B  (MSE 0.0625)
    #   3: 2A+B 1/6 | A+2B -2/3 | A+B+C 5/6   -> A  (MSE 1/36)
    #   4: 3A+B 3/8 | 2A+2B -1/4 | 2A+B+C 7/8 -> B  (MSE 0.0625)
    #   5: 3A+2B 0 | 2A+3B -3/5 | 2A+2B+C 3/5 -> A  (MSE 0)
    #   6: 4A+2B 1/6 | 3A+3B -1/4 | 3A+2B+C 1/2 -> A (MSE 1/36): worse, so 5 rounds are kept
    preds = [np.array([1.0, 1.0]), np.array([-1.5, -1.5]), np.array([3.0, 3.0])]

    def mse(p):
        return float(np.mean(p**2))

    chosen = select(preds, mse, greater_is_better=False, rounds=6)
    np.testing.assert_allclose(chosen.trajectory, [1, 1 / 16, 1 / 36, 1 / 16, 0, 1 / 36])
    assert chosen.kept_rounds == 5 and chosen.score == 0
    np.testing.assert_allclose(chosen.weights, [0.6, 0.4, 0.0])
    np.testing.assert_allclose(weighted_average(preds, chosen.weights), [0.0, 0.0], atol=1e-12)


def test_ties_go_to_the_first_model_and_one_model_is_itself():
    same = [np.array([0.5, 0.5]), np.array([0.5, 0.5])]
    chosen = select(same, lambda p: float(p.sum()), greater_is_better=True, rounds=3)
    np.testing.assert_allclose(chosen.weights, [1.0, 0.0])


@pytest.mark.parametrize("metric", ["accuracy", "roc_auc", "log_loss", "f1_macro"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_never_worse_than_its_best_member_on_its_validation_predictions(metric, seed):
    rng = np.random.default_rng(seed)
    n, classes = 300, ("a", "b", "c")
    y = rng.choice(classes, size=n)
    onehot = (y[:, None] == np.array(classes)).astype(float)
    members = []
    for noise in (0.6, 0.8, 1.0, 1.5):
        logits = onehot * 1.5 + rng.normal(scale=noise, size=(n, 3))
        members.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    schema = Schema(target="y", task=Task.MULTICLASS, columns=(), classes=classes, n_rows=n)
    folds = np.array_split(rng.permutation(n), 5)
    scorer = _FoldScorer(schema, y, folds, METRICS[metric])
    chosen = select(members, scorer, METRICS[metric].greater_is_better, rounds=20)
    singles = [scorer(m) for m in members]
    best = max(singles) if METRICS[metric].greater_is_better else min(singles)
    ensemble = scorer(weighted_average(members, chosen.weights))
    assert ensemble == pytest.approx(chosen.score)
    assert not METRICS[metric].better(best, ensemble)
    # three noisy views of one signal: averaging them beats the best one
    if metric in ("roc_auc", "log_loss"):
        assert METRICS[metric].better(ensemble, best)


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "rmse", "mae"])
def test_fast_metrics_agree_with_the_stored_metrics(metric):
    from mlvsdl.search.ensemble import _FAST

    rng = np.random.default_rng(0)
    if metric in ("rmse", "mae"):
        y, p = rng.normal(size=200), rng.normal(size=200)
        expected = METRICS[metric].fn(y, p)
    else:
        y = rng.integers(0, 3, size=200)
        p = rng.dirichlet(np.ones(3), size=200)
        args = (p, np.arange(3)) if metric == "log_loss" else (p.argmax(axis=1),)
        expected = METRICS[metric].fn(y, *args)
    assert _FAST[metric](y, p) == pytest.approx(expected, rel=1e-9)


@pytest.fixture(scope="module")
def ensembled_run(tmp_path_factory):
    data = load_breast_cancer(as_frame=True).frame
    store = tmp_path_factory.mktemp("ensembles") / "store"
    result = compare(
        data,
        target="target",
        time_budget=60,
        families=["dummy", "linear", "lgbm", "mlp", "resmlp"],
        store=store,
        cv=3,
    )
    return data, store, result


def test_compare_builds_three_ensembles_that_predict_from_the_store(ensembled_run):
    data, store, result = ensembled_run
    board = result.leaderboard.set_index("model")
    for name in ("ensemble_ml", "ensemble_dl", "ensemble_all"):
        row = board.loc[name]
        assert row["status"] == "completed" and not np.isnan(row["test_score"])
        assert "greedy ensemble selection" in row["note"]
    assert board.loc["ensemble_all", "kind"] == "ml+dl"
    candidates = {c["name"]: c for c in Store(store).db.candidates(result.run_id)}
    members = candidates["ensemble_all"]["details"]["members"]
    assert members and sum(members.values()) == pytest.approx(1.0)
    assert set(members) <= {"linear", "lgbm", "mlp", "resmlp"}
    # on the predictions it was selected on, never worse than its best member
    for name in ("ensemble_ml", "ensemble_dl", "ensemble_all"):
        pool = candidates[name]["details"]["pool"]
        assert candidates[name]["val_score"] >= max(candidates[m]["val_score"] for m in pool) - 1e-3

    again = load_run(result.run_id, store=store)  # from the store alone
    X = data.drop(columns="target")
    out = again.predict(X.iloc[:20], model="ensemble_all")
    assert list(out.columns) == ["prediction", "proba_0", "proba_1"]
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].sum(axis=1), 1.0)
    stored = again.models["ensemble_all"]
    by_hand = sum(
        w * again.models[m].predict_proba(X.iloc[:20])
        for m, w in zip([n for n, _ in stored.members_], stored.weights_, strict=True)
    )
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].to_numpy(), by_hand, rtol=1e-6)


def test_the_analysis_answers_whether_mixing_helps(ensembled_run):
    from mlvsdl.evaluate.analysis import load_analysis

    _, store, result = ensembled_run
    summary = load_analysis(Store(store), result.run_id)["ensembles"]
    assert summary["best_single"]["model"] not in ("ensemble_ml", "ensemble_dl", "ensemble_all")
    assert set(summary["gains"]) == {"best_single", "ensemble_ml", "ensemble_dl"}
    assert summary["answer"].startswith(("Yes:", "No:"))
    board = result.leaderboard.set_index("model")
    best = summary["best_single"]["model"]
    gain = board.loc["ensemble_all", "test_score"] - board.loc[best, "test_score"]
    assert summary["gains"]["best_single"] == pytest.approx(gain)
    page = result.report_path.read_text(encoding="utf-8")
    assert '<section id="ensembles">' in page and "Does mixing classical and deep" in page


def test_an_ensemble_is_served_from_the_store(ensembled_run):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from mlvsdl.serve import create_app

    data, store, result = ensembled_run
    client = TestClient(create_app(result.run_id, store, model="ensemble_all"))
    row = data.drop(columns="target").iloc[0].to_dict()
    answer = client.post("/predict", json=row)
    assert answer.status_code == 200, answer.text
    expected = result.predict(data.drop(columns="target").iloc[:1], model="ensemble_all")
    assert answer.json()["predictions"][0]["prediction"] == expected["prediction"].iloc[0]


def test_a_changed_oof_file_leaves_its_model_out(ensembled_run):
    from mlvsdl.search.ensemble import _pool

    _, store, result = ensembled_run
    db = Store(store)
    # rows the network validated on: the first fold at least (all three when it had the time)
    mlp_oof = np.load(db.run_dir(result.run_id) / "mlp.oof.npy")
    rows = np.flatnonzero(~np.isnan(mlp_oof).any(axis=1))
    assert 0 < len(rows) <= result.settings["n_train"]
    names = {c["name"] for c, _ in _pool(db, result.run_id, rows)}
    assert {"linear", "lgbm", "mlp", "resmlp"} <= names
    path = db.run_dir(result.run_id) / "lgbm.oof.npy"
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-8] + bytes(8))
        assert "lgbm" not in {c["name"] for c, _ in _pool(db, result.run_id, rows)}
    finally:
        path.write_bytes(original)


def test_an_ensemble_is_selected_on_the_folds_all_its_members_predicted():
    """A member cut to its first fold (a starved network) still joins the pool; the ensemble is
    then selected and scored on that fold only."""
    from mlvsdl.search.ensemble import _covered_folds

    folds = [np.arange(0, 5), np.arange(5, 10)]
    full = np.arange(10, dtype=float)
    first_only = full.copy()
    first_only[5:] = np.nan
    members = [({"name": "a"}, full), ({"name": "b"}, first_only)]
    covered = _covered_folds(members, folds)
    assert len(covered) == 1 and (covered[0] == folds[0]).all()
    assert len(_covered_folds(members[:1], folds)) == 2
