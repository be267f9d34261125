"""Recommendations out of a stored run: ``mlvsdl predict RUN users.csv -k 10``, pairs, and the
server's ``GET /recommend?user=ID&k=10`` and ``GET /similar?item=ID&k=10``.

A user unseen in training is answered, never refused: with the fallback ranking (the most
popular items, or the best mean ratings) and ``"fallback": true`` in the answer. An item unseen
in training has no similar items (404) and, in a pair, gets the fallback rating, flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI

from mlvsdl.data.load import normalize_columns
from mlvsdl.data.media import read_inputs
from mlvsdl.errors import ConfigError, DataError, SchemaMismatchError
from mlvsdl.serve.schemas import RequestError
from mlvsdl.tasks import get_task
from mlvsdl.tasks.recommend import final_step
from mlvsdl.types import Schema, Task

__all__ = ["add_recommend_routes", "check_k", "predict_recommend", "top_k_frame"]

MAX_K = 1_000
FALLBACK_NOTE = {
    "implicit": "user unseen in training: the most popular items",
    "explicit": "user unseen in training: the items with the best mean rating",
}


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise ConfigError(f"-k must be a whole number of items from 1 to {MAX_K}, got {k!r}.")
    return int(k)


def top_k_frame(model: Any, schema: Schema, users: Any, k: int) -> pd.DataFrame:
    """The top ``k`` unseen items of each user: one row per (user, rank)."""
    o = schema.options
    users = pd.Series(users).drop_duplicates().tolist()
    lists, scores, fallback = final_step(model).recommend(users, k)
    rows = []
    for u, items, values, flag in zip(users, lists, scores, fallback, strict=True):
        for rank, (item, score) in enumerate(zip(items, values, strict=False), start=1):
            rows.append((u, rank, item, float(score), bool(flag)))
    return pd.DataFrame(rows, columns=[o["user"], "rank", o["item"], "score", "fallback"])


def predict_recommend(
    result: Any, data: Any, k: int | None, model: str | None, read_options: dict[str, Any]
) -> pd.DataFrame:
    """``mlvsdl predict`` of a recommendation run: the top ``k`` items of each user of
    ``data`` (``-k``), or the rating (score) of each (user, item) pair."""
    schema = result.schema
    if schema.task is not Task.RECOMMEND:
        raise ConfigError(f"-k is for --task recommend runs; run {result.run_id} is {schema.task}.")
    name = model or result.best_model_name
    if name not in result.models:
        raise ConfigError(
            f"run {result.run_id} has no model {name!r}; choose one of: {', '.join(result.models)}."
        )
    options = {key: v for key, v in read_options.items() if key != "on_bad_file"}
    frame = data if isinstance(data, pd.DataFrame) else read_inputs(data, **options).frame
    frame, _ = normalize_columns(frame.copy(deep=False), "the input")
    if frame.empty:
        raise DataError("no rows to predict; pass a table with at least one row.")
    o = schema.options
    if o["user"] not in frame.columns:
        raise SchemaMismatchError(
            f"the input has no {o['user']!r} column (the run's user column); add it."
        )
    estimator = result.models[name]
    if k is not None:
        return top_k_frame(estimator, schema, frame[o["user"]], check_k(k))
    if o["item"] not in frame.columns:
        raise ConfigError(
            f"the input has no {o['item']!r} column: pass -k K for each user's top K items, or "
            f"(user, item) pairs to rate."
        )
    task = get_task(Task.RECOMMEND)
    return task.to_frame(task.predict(estimator, frame), schema)


def add_recommend_routes(app: FastAPI, served: Any) -> None:
    """``/recommend`` and ``/similar`` over the served recommender."""
    schema = served.schema
    model = final_step(served.estimator)
    mode = schema.options.get("mode", "implicit")

    @app.get("/recommend")
    async def recommend(user: str, k: int = 10) -> dict[str, Any]:
        """The top ``k`` items the user has not interacted with; an unknown user gets the
        fallback ranking with ``fallback: true``."""
        if not 1 <= k <= MAX_K:
            raise RequestError(422, f"k must be from 1 to {MAX_K}, got {k}.")
        lists, scores, fallback = model.recommend([user], k)
        body: dict[str, Any] = {
            "model": served.name,
            "user": user,
            "items": [
                {"item": item, "score": float(score), "rank": rank}
                for rank, (item, score) in enumerate(zip(lists[0], scores[0], strict=False), 1)
            ],
            "fallback": bool(fallback[0]),
        }
        if fallback[0]:
            body["fallback_reason"] = FALLBACK_NOTE[mode]
        return body

    @app.get("/similar")
    async def similar(item: str, k: int = 10) -> dict[str, Any]:
        """The ``k`` catalogue items most similar to ``item`` (cosine of the model's item
        vectors); 404 for an item unseen in training."""
        if not 1 <= k <= MAX_K:
            raise RequestError(422, f"k must be from 1 to {MAX_K}, got {k}.")
        found = model.similar_items(item, k)
        if not found and int(model.item_codes([item])[0]) < 0:
            raise RequestError(404, f"item {item!r} was not seen in training; no similar items.")
        return {
            "model": served.name,
            "item": item,
            "similar": [{"item": i, "similarity": s} for i, s in found],
        }
