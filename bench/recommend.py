"""Recommendation benchmark on MovieLens 100K: the families side by side under three protocols.

Read from ../shared/datasets/movielens_100k (redistribution is not allowed: it is read in place,
never copied; the script exits when it is absent). 943 users, 1,682 movies, 100,000 ratings.

* ``explicit5`` — the scikit-surprise benchmark table's protocol: 5-fold cross-validation over
  the ratings (shuffled, seeded), RMSE and MAE of every explicit family (anchors: SVD 0.934,
  SVD++ 0.920, k-NN baseline 0.931; target: best RMSE <= 0.905).
* ``implicit75`` — Microsoft recommenders' benchmark protocol: every rating is an interaction;
  each user's interactions split 75/25 at random (``python_stratified_split``, seeded), the
  full catalogue ranked for every user with the training items removed, NDCG@10 and recall@10
  as there (anchors: BiVAE 0.469, BPR 0.445, NCF 0.369 NDCG@10; target: best >= 0.47), plus
  this project's recall@20, HR@10, MRR, coverage and popularity.
* ``ours`` — the product itself: ``compare(..., task="recommend", time=...)`` with leave-last-out
  by time (implicit), under ``--time-budget``.

The families are the product's own (``get_family(key).build(schema)``), scored by the task's own
``predict`` (ranks over the full catalogue) and metrics; fit time is wall time per fit.

    python bench/recommend.py [--protocols explicit5,implicit75,ours] [--time-budget 600]
                              [--families ...] [--seed 0] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from mlvsdl import compare
from mlvsdl.data import infer_schema
from mlvsdl.evaluate.ranking import ranking_scores
from mlvsdl.families.registry import get_family
from mlvsdl.tasks import get_task
from mlvsdl.types import Task

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "movielens_100k"
EXPLICIT = ("dummy", "item_knn", "user_knn", "biased_mf", "neumf")
IMPLICIT = ("dummy", "item_knn", "user_knn", "ease", "als", "bpr", "neumf", "mult_vae")
TASK = get_task(Task.RECOMMEND)


def ratings() -> pd.DataFrame:
    path = Path(os.environ.get("MLVSDL_ML100K", DATA)) / "u.data.gz"
    if not path.is_file():
        sys.exit(f"MovieLens 100K not found at {path}; nothing to run.")
    return pd.read_csv(path, sep="\t", names=["user", "item", "rating", "ts"])


def _fit(key: str, schema, X: pd.DataFrame, y, seed: int, max_time_s: float):
    model = get_family(key).build(schema, random_state=seed)
    if "model__max_time_s" in model.get_params():
        model.set_params(model__max_time_s=max_time_s)
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start


def explicit5(frame: pd.DataFrame, families, seed: int, max_time_s: float) -> dict:
    data, schema = infer_schema(frame, None, "recommend", user="user", item="item", rating="rating")
    order = np.random.default_rng(seed).permutation(len(data))
    folds = np.array_split(order, 5)
    out = {}
    for key in families:
        if not get_family(key).supports(schema):
            continue
        rmse, mae, fits = [], [], []
        for k, test in enumerate(folds):
            train = np.setdiff1d(order, test)
            X, y = data.drop(columns="rating"), data["rating"].to_numpy()
            model, fit_s = _fit(key, schema, X.iloc[train], y[train], seed + k, max_time_s)
            scores = TASK.score(y[test], TASK.predict(model, X.iloc[test]))
            rmse.append(scores["rmse"])
            mae.append(scores["mae"])
            fits.append(fit_s)
        out[key] = {
            "rmse": float(np.mean(rmse)),
            "rmse_std": float(np.std(rmse)),
            "mae": float(np.mean(mae)),
            "fit_s": float(np.mean(fits)),
        }
        print(
            f"explicit5 {key:10s} RMSE {out[key]['rmse']:.4f} ± {out[key]['rmse_std']:.4f} "
            f"MAE {out[key]['mae']:.4f} fit {out[key]['fit_s']:.1f} s",
            flush=True,
        )
    return out


def stratified_75(frame: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's rows split 75/25 at random (recommenders' python_stratified_split)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for _, rows in frame.groupby("user").indices.items():
        rows = rng.permutation(rows)
        cut = round(0.75 * len(rows))
        train.append(rows[:cut])
        test.append(rows[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def implicit75(frame: pd.DataFrame, families, seed: int, max_time_s: float) -> dict:
    data, schema = infer_schema(
        frame.drop(columns=["rating"]), None, "recommend", user="user", item="item"
    )
    train, test = stratified_75(data, seed)
    out = {}
    for key in families:
        if not get_family(key).supports(schema):
            continue
        model, fit_s = _fit(key, schema, data.iloc[train], None, seed, max_time_s)
        start = time.perf_counter()
        predictions = TASK.predict(model, data.iloc[test])
        score_s = time.perf_counter() - start
        scores = TASK.score(None, predictions)
        ranks, users = predictions.values, predictions.users
        hits10 = pd.Series(ranks <= 10).groupby(users).sum()
        n_rel = pd.Series(ranks).groupby(users).size()
        scores["recall_at_10"] = float((hits10 / n_rel).mean())
        n_users = len(np.unique(users))
        out[key] = {**scores, "fit_s": fit_s, "ms_per_user": 1000 * score_s / n_users}
        final = model.steps[-1][1]
        if hasattr(final, "stop_reason_"):  # a network: why it stopped, after how many epochs
            out[key] |= {"stop_reason": final.stop_reason_, "epochs": len(final.history_)}
        print(
            f"implicit75 {key:10s} NDCG@10 {scores['ndcg_at_10']:.4f} recall@10 "
            f"{scores['recall_at_10']:.4f} HR@10 {scores['hr_at_10']:.3f} coverage "
            f"{scores['coverage']:.3f} popularity {scores['popularity']:.3f} fit {fit_s:.1f} s",
            flush=True,
        )
    assert ranking_scores  # the metrics are the task's (evaluate/ranking.py)
    return out


def ours(frame: pd.DataFrame, families, seed: int, budget: float, store: str) -> dict:
    start = time.perf_counter()
    result = compare(
        frame.drop(columns=["rating"]),
        task="recommend",
        user="user",
        item="item",
        time="ts",
        families=list(families),
        time_budget=budget,
        seed=seed,
        store=store,
    )
    wall = time.perf_counter() - start
    board = result.leaderboard
    print(board[["model", "kind", "status", "val_score", "test_score", "fit_time_s"]].to_string())
    print(f"ours: {wall:.0f} s for a budget of {budget:.0f} s; run {result.run_id}")
    rows = board[["model", "kind", "status", "val_score", "test_score", "fit_time_s"]]
    served = {}
    for name in board.loc[board["status"] == "completed", "model"]:
        served[name] = serve_latency(result.run_id, store, name, frame["user"].unique())
        print(
            f"serve {name:10s} /recommend p50 {served[name]['p50_ms']:.1f} ms, p95 "
            f"{served[name]['p95_ms']:.1f} ms",
            flush=True,
        )
    return {
        "run_id": result.run_id,
        "wall_s": wall,
        "leaderboard": rows.to_dict("records"),
        "serve": served,
    }


def serve_latency(run_id: str, store: str, model: str, users: np.ndarray, n: int = 200) -> dict:
    """``GET /recommend?user=..&k=10`` through the app (FastAPI's test client: no network),
    ``n`` requests for seeded known users after 20 warm-up requests."""
    from fastapi.testclient import TestClient

    from mlvsdl.serve.app import create_app

    client = TestClient(create_app(run_id, store=store, model=model))
    rng = np.random.default_rng(0)
    times = []
    for j, user in enumerate(rng.choice(users, n + 20)):
        start = time.perf_counter()
        answer = client.get("/recommend", params={"user": str(user), "k": 10})
        if j >= 20:
            times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
    return {
        "p50_ms": 1000 * float(np.percentile(times, 50)),
        "p95_ms": 1000 * float(np.percentile(times, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default="explicit5,implicit75,ours")
    parser.add_argument("--families", default=None)
    parser.add_argument("--time-budget", type=float, default=600)
    parser.add_argument("--max-fit-s", type=float, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    frame = ratings()
    print(machine())
    print(f"load: {os.getloadavg()}")
    chosen = args.families.split(",") if args.families else None
    results: dict = {"machine": machine()}
    for protocol in args.protocols.split(","):
        if protocol == "explicit5":
            results[protocol] = explicit5(frame, chosen or EXPLICIT, args.seed, args.max_fit_s)
        elif protocol == "implicit75":
            results[protocol] = implicit75(frame, chosen or IMPLICIT, args.seed, args.max_fit_s)
        elif protocol == "ours":
            store = args.store or tempfile.mkdtemp(prefix="mlvsdl-rec-")
            results[protocol] = ours(frame, chosen or IMPLICIT, args.seed, args.time_budget, store)
        print(f"load: {os.getloadavg()}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
