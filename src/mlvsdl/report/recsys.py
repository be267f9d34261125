"""Report sections of a recommendation run: the models side by side (test metrics, popularity
bias, answer time, fallback share), the metric by user activity, and example users with their
history beside the best classical and deep models' top-10 (from the analysis's
``recommenders``, ``activity`` and ``rec_examples`` sections and the stored metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvsdl.report.html import badge, esc, fmt_num, para, section, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["activity", "rec_examples", "recommenders"]

RANKING = ("ndcg_at_10", "recall_at_20", "hr_at_10", "mrr", "coverage", "popularity")
RATING = ("rmse", "mae")
TITLES = {
    "ndcg_at_10": "NDCG@10",
    "recall_at_20": "Recall@20",
    "hr_at_10": "HR@10",
    "mrr": "MRR",
    "coverage": "Coverage",
    "popularity": "Popularity ↓",
    "rmse": "RMSE ↓",
    "mae": "MAE ↓",
}


def _test_metrics(data: ReportData) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in data.metrics:
        if row["split"] == "test":
            out.setdefault(row["candidate"], {})[row["metric"]] = row["value"]
    return out


def recommenders(data: ReportData, anchor: str, title: str) -> str:
    if not data.done:
        return section(anchor, title, para("No recommender finished, so there is nothing to show."))
    explicit = data.schema.options.get("mode") == "explicit"
    keys = RATING if explicit else RANKING
    scores = _test_metrics(data)
    extra = (data.section("recommenders") or {}).get("models", {})
    rows = []
    for cand in data.done:
        name = cand["name"]
        got, more = scores.get(name, {}), extra.get(name, {})
        seconds = more.get("user_seconds")
        rows.append(
            [
                esc(data.title(name)),
                badge(cand["kind"]),
                *(fmt_num(got.get(k), ".3f") for k in keys),
                fmt_num(cand.get("fit_time_s"), ".1f"),
                "–" if seconds is None else f"{seconds * 1000:.1f}",
            ]
        )
    header = ["Model", "Kind", *(TITLES[k] for k in keys), "Fit (s)", "Per user (ms)"]
    o = data.schema.options
    split = (
        "each user's newest interaction (by time) was held out for the test and the one before "
        "it validated"
        if o.get("time")
        else "a seeded share of each user's interactions was held out for the test"
    )
    if explicit:
        intro = (
            f"Explicit feedback ({o.get('rating')!r}): each model predicts the held-out ratings; "
            f"RMSE ranks them. Per user: {split}."
        )
    else:
        intro = (
            f"Implicit feedback: {split}. Each model ranks the full catalogue of "
            f"{o.get('n_items')} items for every test user, leaving out the items the user "
            "had in training (no sampled negatives). Coverage is the share of the catalogue in "
            "someone's top 10; popularity is the mean share of training users who took a "
            "recommended item (higher: a stronger popularity bias)."
        )
    intro += (
        " A user unseen in training gets the popularity (or mean-rating) fallback, flagged. "
        "Per-user time is the median time to rank the catalogue for one user."
    )
    numeric = set(range(2, 2 + len(keys) + 2))
    return section(anchor, title, table(header, rows, numeric=numeric, raw=True), intro)


def activity(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("activity") or {}
    models = found.get("models", {})
    if not models:
        return section(anchor, title, para("Not measured for this run."))
    buckets, users = found.get("buckets", []), found.get("users", [])
    header = [
        "Model",
        "Kind",
        *(f"{b} interactions ({n} users)" for b, n in zip(buckets, users, strict=False)),
    ]
    rows = [
        [esc(data.title(name)), badge(entry["kind"]), *(fmt_num(v, ".3f") for v in entry["values"])]
        for name, entry in models.items()
    ]
    metric = TITLES.get(found.get("metric", ""), found.get("metric", ""))
    intro = (
        f"{metric} on the test rows of users grouped by how many training interactions they "
        "have (thirds of the test users). Models that learn from a user's history need some; "
        "the popularity baseline does not, so this is where the families differ most."
    )
    return section(anchor, title, table(header, rows, numeric=set(range(2, 5)), raw=True), intro)


def rec_examples(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("rec_examples") or {}
    examples = found.get("examples", [])
    if not examples:
        return section(anchor, title, para("No example users for this run."))
    parts = []
    for ex in examples:
        held = set(ex.get("held_out", []))
        lines = [
            f"<h3>User {esc(ex['user'])}</h3>",
            f"<p><b>Latest training items:</b> {esc(', '.join(ex.get('history', [])))}</p>",
            f"<p><b>Held out (test):</b> {esc(', '.join(ex.get('held_out', [])))}</p>",
        ]
        for name, top in ex.get("top", {}).items():
            items = [f"<b>{esc(i)} ✓</b>" if i in held else esc(i) for i in top.get("items", [])]
            flag = " (fallback: user unseen in training)" if top.get("fallback") else ""
            lines.append(f"<p><b>{esc(data.title(name))}</b>{flag}: {', '.join(items)}</p>")
        parts.append("".join(lines))
    intro = (
        "A few test users (seeded), their latest training items, the items held out, and the "
        "top 10 of the best classical and the best deep model; ✓ marks a held-out item found."
    )
    return section(anchor, title, "".join(parts), intro)
