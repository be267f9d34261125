"""Recommendations through the task contract: the ranking metrics against hand-computed cases,
seen items excluded, the per-user split (no test interaction ever trained on), the protocol end
to end in both modes (compare, predict -k and pairs, serve with the unknown-user fallback,
report) and the bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlvsdl.cli import app
from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError, DataError
from mlvsdl.evaluate.ranking import ranking_scores, ranks_and_top
from mlvsdl.families.recommend import (
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from mlvsdl.plan import RunOptions, plan_run
from mlvsdl.store import Store
from mlvsdl.tasks import get_task
from mlvsdl.types import Task
from tests.test_cli import run_cli

RECOMMEND = get_task(Task.RECOMMEND)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def interactions(
    n_users: int = 40, n_items: int = 30, per_user: int = 10, seed: int = 0, rating: bool = True
) -> pd.DataFrame:
    """Users with a taste (3 latent factors) picking from their liked items, in time order;
    ratings follow the taste."""
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    rows = []
    for u in range(n_users):
        pref = U[u] @ V.T + rng.normal(0, 0.3, n_items)
        liked = np.argsort(-pref)[: per_user + 5]
        for t, i in enumerate(rng.choice(liked, per_user, replace=False)):
            stars = float(np.clip(np.round(3 + pref[i]), 1, 5))
            rows.append((u, f"m{i}", stars, 1_000 * u + t))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "ts"])
    return frame if rating else frame.drop(columns="rating")


# --- metrics --------------------------------------------------------------------------------


def test_ranking_metrics_match_hand_computed_values():
    # user a: held-out items ranked 1 and 3; user b: one item ranked 12
    ranks = np.array([1, 3, 12])
    users = np.array(["a", "a", "b"])
    got = ranking_scores(ranks, users)
    ndcg_a = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3))
    assert got["ndcg_at_10"] == pytest.approx((ndcg_a + 0.0) / 2)
    assert got["recall_at_20"] == pytest.approx(1.0)  # 12 <= 20: every item found
    assert got["hr_at_10"] == pytest.approx(0.5)
    assert got["mrr"] == pytest.approx((1 + 1 / 12) / 2)


def test_coverage_and_popularity_of_the_top_lists():
    top = np.array([[0, 1, -1], [1, 2, -1]])  # -1: an empty slot
    share = np.array([0.5, 0.25, 0.1, 0.0])
    got = ranking_scores(np.array([1, 2]), np.array(["a", "b"]), top, 4, share)
    assert got["coverage"] == pytest.approx(3 / 4)
    assert got["popularity"] == pytest.approx(np.mean([0.5, 0.25, 0.25, 0.1]))


def test_seen_items_are_excluded_from_ranks_and_lists():
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    seen = np.array([True, False, True, False, False])
    ranks, top = ranks_and_top(scores, seen, np.array([3, 1]), k=3)
    assert ranks.tolist() == [2, 1]  # items 0 and 2 were seen: only item 1 is ahead of item 3
    assert top.tolist() == [1, 3, 4]


def test_recommend_never_returns_a_training_item():
    frame = interactions(rating=False)
    model = EASERecommender().fit(frame, None)
    users = frame["user"].astype(str).unique().tolist()
    lists, _, fallback = model.recommend(users, 10)
    for u, items in zip(users, lists, strict=True):
        taken = set(frame.loc[frame["user"].astype(str) == u, "item"])
        assert not taken & set(items) and len(items) == 10
    assert not fallback.any()
    lists, _, fallback = model.recommend(["stranger"], 5)
    popular = PopularityRecommender().fit(frame, None).recommend(["x"], 5)[0][0]
    assert fallback.tolist() == [True] and lists[0] == popular


# --- the split ------------------------------------------------------------------------------


def test_leave_last_out_tests_each_users_newest_and_never_trains_on_it():
    frame = interactions(rating=False)
    plan = plan_run(frame, RunOptions(task="recommend", user="user", item="item", time="ts"))
    X, splits = plan.frame, plan.splits
    test = X.iloc[splits.test]
    assert test["user"].is_unique and len(test) == X["user"].nunique()
    newest = X.groupby("user")["ts"].max()
    assert (test.set_index("user")["ts"] == newest.loc[test["user"]].to_numpy()).all()
    train_pairs = set(map(tuple, X.iloc[splits.train][["user", "item"]].to_numpy()))
    assert not train_pairs & set(map(tuple, test[["user", "item"]].to_numpy()))
    for fit, val in splits.folds:  # a fold never fits on what it validates
        assert not set(splits.train[fit]) & set(splits.train[val])
    # the model kept after the run is fitted on the training rows alone
    model = ItemKNNRecommender().fit(X.iloc[splits.train], None)
    codes = model.user_codes(test["user"])
    seen = model.seen_mask(codes)
    assert not seen[np.arange(len(test)), model.item_codes(test["item"])].any()


def test_holdout_without_time_is_per_user_and_seeded():
    frame = interactions(rating=False).drop(columns="ts")
    options = RunOptions(task="recommend", user="user", item="item", seed=3)
    a, b = plan_run(frame, options).splits, plan_run(frame, options).splits
    np.testing.assert_array_equal(a.test, b.test)
    per_user = frame.iloc[a.test]["user"].value_counts()
    assert per_user.index.nunique() == frame["user"].nunique() and (per_user == 2).all()


def test_users_with_too_few_interactions_stay_in_training():
    frame = pd.concat(
        [
            interactions(rating=False),
            pd.DataFrame({"user": [99, 99], "item": ["m1", "m2"], "ts": [5, 6]}),
        ]
    )
    plan = plan_run(frame, RunOptions(task="recommend", user="user", item="item", time="ts"))
    assert "99" not in set(plan.frame.iloc[plan.splits.test]["user"])
    assert any("training only" in note for note in plan.schema.notes)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "options", "error", "words"),
    [
        (interactions(), {"user": "customer", "item": "item"}, ConfigError, "--user column"),
        (interactions(), {"item": "item"}, ConfigError, "needs --user"),
        (
            interactions().assign(rating="good"),
            {"user": "user", "item": "item", "rating": "rating"},
            DataError,
            "not numbers",
        ),
        (interactions().assign(user=1), {"user": "user", "item": "item"}, DataError, "one user"),
        (interactions().assign(item="m"), {"user": "user", "item": "item"}, DataError, "one item"),
        (
            interactions(),
            {"user": "user", "item": "item", "rating": "rating", "metric": "ndcg_at_10"},
            ConfigError,
            "explicit",
        ),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(frame, options, error, words, tmp_path):
    with pytest.raises(error, match=words) as info:
        compare(frame, task="recommend", store=tmp_path / "s", time_budget=30, **options)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "s").exists() or not Store(tmp_path / "s").db.runs()


def test_recommend_options_are_refused_for_other_tasks():
    with pytest.raises(ConfigError, match="--task recommend"):
        infer_schema(interactions(), "rating", "regression", user="user")


# --- end to end -----------------------------------------------------------------------------


def test_implicit_run_end_to_end_predict_and_serve(tmp_path, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from mlvsdl.serve.app import create_app

    frame = interactions(rating=False)
    frame.to_csv(tmp_path / "clicks.csv", index=False)
    store = tmp_path / "store"
    result = compare(
        frame,
        task="recommend",
        user="user",
        item="item",
        time="ts",
        families=["dummy", "item_knn", "ease", "neumf"],
        time_budget=60,
        store=store,
    )
    board = result.leaderboard.set_index("model")
    assert set(board.index) == {"dummy", "item_knn", "ease", "neumf"}
    assert (board["status"] == "completed").all()
    assert result.metric == "ndcg_at_10"
    # the neighbourhood models find the taste structure the popularity baseline cannot
    assert board.loc["ease", "test_score"] > board.loc["dummy", "test_score"]
    assert set(board["kind"]) == {"ml", "dl"}

    runner = CliRunner()
    pd.DataFrame({"user": [3, "nobody"]}).to_csv(tmp_path / "users.csv", index=False)
    out = runner.invoke(
        app,
        ["predict", result.run_id, str(tmp_path / "users.csv"), "-k", "4", "--store", str(store)],
    )
    assert out.exit_code == 0, out.output
    top = pd.read_csv(pd.io.common.StringIO(out.output))
    assert list(top.columns) == ["user", "rank", "item", "score", "fallback"]
    flags = top.groupby(top["user"].astype(str))["fallback"].all().to_dict()
    assert len(top) == 8 and flags == {"3": False, "nobody": True}
    mine = frame[frame["user"] == 3].sort_values("ts")
    seen = set(mine["item"].iloc[:-1])  # the newest one is the held-out test: not in training
    assert not seen & set(top.loc[top["user"].astype(str) == "3", "item"])
    args = ["predict", result.run_id, str(tmp_path / "users.csv"), "-k", "0", "--store"]
    code, _, err = run_cli(monkeypatch, capsys, *args, str(store))
    assert code == 2 and "-k must be" in err

    client = TestClient(create_app(result.run_id, store=store))
    known = client.get("/recommend", params={"user": "3", "k": 5}).json()
    assert len(known["items"]) == 5 and known["fallback"] is False
    assert not seen & {i["item"] for i in known["items"]}
    cold = client.get("/recommend", params={"user": "someone-new", "k": 5})
    assert cold.status_code == 200 and cold.json()["fallback"] is True
    similar = client.get("/similar", params={"item": "m1", "k": 3}).json()
    assert len(similar["similar"]) == 3 and "m1" not in {s["item"] for s in similar["similar"]}
    assert client.get("/similar", params={"item": "nothing"}).status_code == 404
    assert client.post("/explain", json={"user": "3", "item": "m1", "ts": 1}).status_code == 422

    html = (store / "runs" / result.run_id / "report.html").read_text()
    for anchor in ("recommenders", "activity", "rec_examples"):
        assert f'id="{anchor}"' in html


def test_explicit_run_end_to_end_predicts_ratings_of_pairs(tmp_path):
    frame = interactions()
    store = tmp_path / "store"
    result = compare(
        frame,
        task="recommend",
        user="user",
        item="item",
        rating="rating",
        families=["dummy", "biased_mf", "item_knn"],
        time_budget=40,
        store=store,
    )
    assert result.metric == "rmse"
    board = result.leaderboard.set_index("model")
    assert (board["status"] == "completed").all()
    assert board["test_score"].between(0, 4).all()
    pairs = pd.DataFrame({"user": [0, 1, "new"], "item": ["m3", "m4", "m3"]})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    out = CliRunner().invoke(
        app, ["predict", result.run_id, str(tmp_path / "pairs.csv"), "--store", str(store)]
    )
    assert out.exit_code == 0, out.output
    rated = pd.read_csv(pd.io.common.StringIO(out.output))
    assert list(rated.columns) == ["user", "item", "rating", "fallback"]
    assert rated["rating"].between(1, 5).all()
    assert rated["fallback"].tolist() == [False, False, True]
