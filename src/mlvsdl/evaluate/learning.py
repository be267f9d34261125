"""The learning-curves section of a run's analysis: which models to trace within the time left,
their measured points, fitted curves with bands, and the ML/DL crossover said in words.

The measurement and the mathematics live in :mod:`mlvsdl.evaluate.curves`.
"""

from __future__ import annotations

import time
from itertools import zip_longest
from typing import Any

import numpy as np

from mlvsdl.evaluate.curves import (
    EXTRAPOLATION,
    CurveCandidate,
    FittedCurve,
    crossover,
    curve_sizes,
    fit_curve,
    measure_curves,
    plan_seeds,
)
from mlvsdl.evaluate.rundata import RunData

__all__ = ["curves_section"]


def curves_section(
    data: RunData, ranked: list[dict[str, Any]], titles: dict[str, str], budget_s: float | None
) -> dict[str, Any]:
    """The ``curves`` section of a run's analysis: points, fits, bands and the crossover.

    ``ranked``: the completed candidates (store rows), best first.
    """
    ranked = [c for c in ranked if c["family"] != "dummy"]
    cands = _candidates(ranked)
    pool = len(data.splits.folds[0][0])
    sizes = curve_sizes(pool, data.schema.n_classes)
    seeds = plan_seeds(cands, sizes, budget_s)
    if not seeds:
        return {
            "status": "skipped",
            "reason": f"{budget_s or 0:.0f} s left is too little for "
            "one learning curve; give a larger --time-budget or run 'mlvsdl curves'",
        }
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    chosen = [c for c in cands if seeds.get(c.name)]
    points = measure_curves(
        data.X,
        data.y,
        data.schema,
        data.splits,
        data.metric,
        chosen,
        seeds,
        random_state=data.seed,
        deadline=deadline,
    )
    n_train = len(data.splits.train)
    traced = [c for c in chosen if points[c.name]]
    models, fits = _fit_curves(data, titles, traced, points, sizes, n_train)
    by_rank = [c.name for c in traced if c.name in fits]
    return {
        "status": "done",
        "not_traced": [c.name for c in cands if not points.get(c.name)],
        "sizes": sizes,
        "pool_rows": pool,
        "n_train": n_train,
        "holdout_rows": len(data.splits.folds[0][1]),
        "models": models,
        "crossover": _crossover(ranked, titles, fits, by_rank, n_train),
    }


def _candidates(ranked: list[dict[str, Any]]) -> list[CurveCandidate]:
    """Best ML, best DL, second ML, second DL, ...: the order in which time is spent."""
    ml = [c for c in ranked if c["kind"] == "ml"]
    dl = [c for c in ranked if c["kind"] == "dl"]
    order = [c for pair in zip_longest(ml, dl) for c in pair if c is not None]
    return [
        CurveCandidate(
            c["name"], c["family"], c["kind"], float(c["fit_time_s"] or 0), int(c["n_train_rows"])
        )
        for c in order
    ]


def _fit_curves(
    data: RunData,
    titles: dict[str, str],
    chosen: list[CurveCandidate],
    points: dict[str, list[dict[str, Any]]],
    sizes: list[int],
    n_train: int,
) -> tuple[dict[str, Any], dict[str, FittedCurve]]:
    grid = np.geomspace(sizes[0], EXTRAPOLATION * n_train, 60)
    models: dict[str, Any] = {}
    fits: dict[str, FittedCurve] = {}
    for c in chosen:
        entry: dict[str, Any] = {
            "kind": c.kind,
            "title": titles[c.name],
            "points": points[c.name],
        }
        fit = fit_curve(points[c.name], data.metric, random_state=data.seed)
        if fit is not None:
            fits[c.name] = fit
            low, high = fit.band(grid)
            entry["fit"] = {
                "a": fit.params[0],
                "b": fit.params[1],
                "c": fit.params[2],
                "n_ref": fit.n_ref,
                "rmse": fit.rmse,
            }
            entry["grid"] = {"n": grid, "score": fit.score(grid), "low": low, "high": high}
            entry["at_current"] = float(fit.score(np.asarray([n_train]))[0])
            far = np.asarray([EXTRAPOLATION * n_train])
            entry["at_10x"] = float(fit.score(far)[0])
            entry["at_10x_band"] = [float(v[0]) for v in fit.band(far)]
        models[c.name] = entry
    return models, fits


def _crossover(
    ranked: list[dict[str, Any]],
    titles: dict[str, str],
    fits: dict[str, FittedCurve],
    by_rank: list[str],
    n_train: int,
) -> dict[str, Any] | None:
    kinds = {c["name"]: c["kind"] for c in ranked}
    best_ml = next((n for n in by_rank if kinds[n] == "ml"), None)
    best_dl = next((n for n in by_rank if kinds[n] == "dl"), None)
    if best_ml is None or best_dl is None:
        return None
    leader, challenger = by_rank[0], best_dl if by_rank[0] == best_ml else best_ml
    found = crossover(fits[leader], fits[challenger], n_train, n_train)
    found |= {"leader": leader, "challenger": challenger, "n_current": n_train}
    found["text"] = _crossover_text(found, titles)
    return found


def _about(n: float) -> str:
    digits = max(len(str(int(n))) - 2, 0)
    return f"{round(n, -digits):,.0f}"


def _crossover_text(found: dict[str, Any], titles: dict[str, str]) -> str:
    lead, chal = titles[found["leader"]], titles[found["challenger"]]
    n_now, n_end = found["n_current"], found["n_end"]
    estimate, share = found["n_estimate"], found["share_crossing"]
    if estimate is not None and estimate <= 1.02 * n_now:
        return (
            f"The fitted curves put {chal} level with {lead} already at the current "
            f"{n_now:,} training rows: the gap between them is within the noise."
        )
    if estimate is not None and share >= 0.5:
        low = _about(found["n_low"]) if found["n_low"] else "?"
        high = _about(found["n_high"]) if found["n_high"] else f"beyond {n_end:,.0f}"
        return (
            f"With about {_about(estimate)} training rows (80% band {low} to {high}; "
            f"this run had {n_now:,}), {chal} is expected to overtake {lead}."
        )
    verdict = (
        "so more rows of the same kind are unlikely to change ML versus DL here"
        if share <= 0.2
        else "too uncertain to rule out that more rows would change ML versus DL"
    )
    return (
        f"No crossover within 10x the current data ({n_now:,} to {n_end:,.0f} training "
        f"rows): {lead} stays ahead of {chal} in {1 - share:.0%} of the bootstrap refits, "
        f"{verdict}."
    )
