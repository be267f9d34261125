"""The analysis sections of a recommendation run (beside the shared costs and recommendation).

``recommenders``: per model, the test metrics with what it costs to answer — the seconds to
score one user over the whole catalogue (the median over ``TIMED_USERS`` users) and the share
of test rows answered by the fallback. ``activity``: the primary metric on the test rows of
users grouped by how many training interactions they have (the thirds of the test users by
activity), where families differ most: neighbourhood and factor models need history, the
popularity baseline does not. ``rec_examples``: a few test users (seeded) with their latest
training items, their held-out items, and the top-10 of the best classical and the best deep
model, hits marked.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlvsdl.data.recommend_options import id_strings
from mlvsdl.evaluate.ranking import per_user
from mlvsdl.tasks import get_task
from mlvsdl.tasks.recommend import final_step
from mlvsdl.types import Task

__all__ = ["activity_section", "examples_section", "recommenders_section"]

TIMED_USERS = 20
EXAMPLE_USERS = 3
HISTORY_ITEMS = 8


def _test(ctx: Any) -> tuple[Any, np.ndarray | None]:
    rows = ctx.data.splits.test
    y = None if ctx.data.y is None else np.asarray(ctx.data.y)[rows]
    return ctx.data.X.iloc[rows], y


def _activity(ctx: Any) -> dict[str, int]:
    """Training interactions per user."""
    o = ctx.data.schema.options
    users = id_strings(ctx.data.X.iloc[ctx.data.splits.train][o["user"]])
    return users.value_counts().to_dict()


def recommenders_section(ctx: Any) -> dict[str, Any]:
    X, _ = _test(ctx)
    users = id_strings(X[ctx.data.schema.options["user"]]).drop_duplicates().tolist()
    timed = users[:TIMED_USERS]
    out: dict[str, Any] = {}
    for cand in ctx.in_time("recommenders"):
        model = final_step(ctx.model(cand["name"]))
        seconds = []
        for u in timed:
            start = time.perf_counter()
            model.recommend([u], 10)
            seconds.append(time.perf_counter() - start)
        codes = model.user_codes(X[model.user])
        out[cand["name"]] = {
            "kind": cand["kind"],
            "user_seconds": float(np.median(seconds)) if seconds else None,
            "fallback_share": float(np.mean(codes < 0)) if len(codes) else 0.0,
            "fit_time_s": cand.get("fit_time_s"),
        }
    mode = ctx.data.schema.options.get("mode")
    return {"models": out, "mode": mode, "n_test_users": len(users)}


def activity_section(ctx: Any) -> dict[str, Any]:
    """The primary metric per activity third of the test users, per model."""
    X, y = _test(ctx)
    o = ctx.data.schema.options
    counts = _activity(ctx)
    users = id_strings(X[o["user"]]).to_numpy(dtype=object)
    activity = np.array([counts.get(u, 0) for u in users])
    per_test_user = {u: counts.get(u, 0) for u in users}
    edges = np.quantile(np.array(list(per_test_user.values())), [1 / 3, 2 / 3])
    lo, hi = int(edges[0]), int(edges[1])
    bucket = np.where(activity <= lo, 0, np.where(activity <= hi, 1, 2))
    names = [f"≤ {lo}", f"{lo + 1}–{hi}", f"> {hi}"]
    if hi <= lo:
        names = [f"≤ {lo}", "", f"> {lo}"]
    task = get_task(Task.RECOMMEND)
    metric = ctx.data.metric.key
    models: dict[str, Any] = {}
    for cand in ctx.in_time("activity"):
        predictions = task.predict(ctx.model(cand["name"]), X)
        values = []
        for b in range(3):
            rows = np.flatnonzero(bucket == b)
            if len(rows) == 0:
                values.append(None)
            elif y is not None:
                err = predictions.values[rows] - y[rows]
                values.append(
                    float(np.sqrt(np.mean(err**2)))
                    if metric == "rmse"
                    else float(np.abs(err).mean())
                )
            else:
                values.append(float(per_user(predictions.values[rows], users[rows])[metric].mean()))
        models[cand["name"]] = {"kind": cand["kind"], "values": values}
    sizes = [len(set(users[bucket == b])) for b in range(3)]
    return {"metric": metric, "buckets": names, "users": sizes, "models": models}


def _best_by_kind(ctx: Any) -> list[str]:
    out = []
    for kind in ("ml", "dl"):
        found = next(
            (c["name"] for c in ctx.ranked() if c["kind"] == kind and c["family"] != "dummy"),
            None,
        )
        if found is not None:
            out.append(found)
    return out


def examples_section(ctx: Any) -> dict[str, Any]:
    """A few test users: history, held-out items, the best ML and DL models' top-10."""
    o = ctx.data.schema.options
    train = ctx.data.X.iloc[ctx.data.splits.train]
    if o.get("time"):  # oldest first, so a user's history ends with the latest
        train = train.iloc[np.argsort(train[o["time"]].to_numpy(), kind="stable")]
    X, y = _test(ctx)
    test_users = id_strings(X[o["user"]]).to_numpy(dtype=object)
    uniq = list(dict.fromkeys(test_users.tolist()))
    rng = np.random.default_rng(ctx.data.seed)
    chosen = [uniq[i] for i in sorted(rng.choice(len(uniq), min(EXAMPLE_USERS, len(uniq)), False))]
    train_users = id_strings(train[o["user"]]).to_numpy(dtype=object)
    train_items = id_strings(train[o["item"]]).to_numpy(dtype=object)
    models = _best_by_kind(ctx)
    examples = []
    for u in chosen:
        history = train_items[train_users == u][-HISTORY_ITEMS:].tolist()[::-1]
        held = id_strings(X[o["item"]]).to_numpy(dtype=object)[test_users == u].tolist()
        entry: dict[str, Any] = {"user": u, "history": history, "held_out": held, "top": {}}
        if y is not None:
            entry["held_out_ratings"] = [float(v) for v in y[test_users == u]]
        for name in models:
            lists, _, fallback = final_step(ctx.model(name)).recommend([u], 10)
            entry["top"][name] = {"items": lists[0], "fallback": bool(fallback[0])}
        examples.append(entry)
    return {"models": models, "examples": examples, "n_history": len(train_users)}
