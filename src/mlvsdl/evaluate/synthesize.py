"""The analysis sections of a synthetic-data run (beside the shared costs and recommendation).

``synth_models``: per model, its privacy — ``PRIVACY_ROWS`` generated rows against the rows it
was fitted on and the held-out test rows (``synth_metrics.privacy``) — and its per-column
distances on the test rows; with them the **train-on-real** reference: the same utility model
fitted on the real training rows and scored on the same test rows. ``synth_marginals``: for the
best classical and the best deep model, real and generated distributions of the top columns
(the target first, then the columns most associated with the others): histograms on shared bins
or category shares. ``synth_associations``: the association matrix of the real test rows and,
for those two models, its difference from theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.evaluate import synth_metrics as sm
from mlvsdl.families.synth.base import final_sampler
from mlvsdl.tasks.synthesize import UTILITY_COLUMNS

__all__ = ["associations_section", "best_by_kind", "marginals_section", "models_section"]

PRIVACY_ROWS = 1_000  # generated rows measured for privacy
PRIVACY_TRAIN_ROWS = 20_000  # training rows searched for the closest record, at most
TOP_COLUMNS = 4
BINS = 20
TOP_CATEGORIES = 8
MAX_ASSOCIATION_COLUMNS = 12
SEED = 0


def best_by_kind(ctx: Any) -> list[str]:
    """The best-ranked classical and deep models that are not the baseline (either may lack)."""
    out = []
    for kind in ("ml", "dl"):
        found = next(
            (c["name"] for c in ctx.ranked() if c["kind"] == kind and c["family"] != "dummy"),
            None,
        )
        if found is not None:
            out.append(found)
    return out


def _columns(ctx: Any, name: str) -> tuple[list[str], list[str], str | None]:
    sampler = final_sampler(ctx.model(name))
    codec = sampler.codec_
    return list(codec.num_columns_), list(codec.cat_columns_), sampler.target


def _fit_rows(ctx: Any) -> np.ndarray:
    """The rows every model was fitted on: the training part of the one validation fold."""
    splits = ctx.data.splits
    return splits.train[splits.folds[0][0]]


def models_section(ctx: Any) -> dict[str, Any]:
    data = ctx.data
    train_rows = ctx.sample(_fit_rows(ctx), PRIVACY_TRAIN_ROWS)
    train, test = data.X.iloc[train_rows], data.X.iloc[data.splits.test]
    out: dict[str, Any] = {}
    numeric = categorical = None
    target = None
    for cand in ctx.in_time("synth_models"):
        name = cand["name"]
        numeric, categorical, target = _columns(ctx, name)
        synth = final_sampler(ctx.model(name)).sample(
            min(PRIVACY_ROWS, len(test)), random_state=SEED
        )
        out[name] = {
            "kind": cand["kind"],
            "privacy": sm.privacy(train, test, synth, numeric, categorical, SEED),
            "columns": sm.column_distances(test, synth, numeric, categorical),
        }
    real: dict[str, Any] = {}
    if numeric is not None:
        fit = data.X.iloc[_fit_rows(ctx)]
        order = [c for c in test.columns if c in {*numeric, *categorical}]
        targets = [target] if target else order[:UTILITY_COLUMNS]
        scores = [sm.utility(fit, test, t, numeric, categorical, SEED) for t in targets]
        real = {
            "targets": targets,
            "metric": scores[0][0] if len(scores) == 1 else "mean over columns",
            "utility_raw": float(np.nanmean([s for _, s in scores])),
        }
    return {"models": out, "train_on_real": real, "n_test_rows": len(test)}


def _top_columns(
    test: pd.DataFrame, numeric: list[str], categorical: list[str], target
) -> list[str]:
    assoc = sm.association_matrix(test, numeric, categorical)
    strength = (assoc.abs().sum(axis=1) - 1).sort_values(ascending=False)
    ranked = [c for c in strength.index if c != target]
    return ([target] if target else []) + ranked[: TOP_COLUMNS - (1 if target else 0)]


def marginals_section(ctx: Any, names: list[str]) -> dict[str, Any]:
    if not names:
        return {"columns": {}, "models": []}
    test = ctx.data.X.iloc[ctx.data.splits.test]
    numeric, categorical, target = _columns(ctx, names[0])
    samples = {n: final_sampler(ctx.model(n)).sample(len(test), random_state=SEED) for n in names}
    out: dict[str, Any] = {}
    for column in _top_columns(test, numeric, categorical, target):
        if column in numeric:
            real = pd.to_numeric(test[column], errors="coerce").to_numpy(dtype=float)
            finite = real[np.isfinite(real)]
            edges = np.histogram_bin_edges(finite, bins=BINS) if len(finite) else np.arange(2.0)
            series = {"real": np.histogram(finite, edges)[0].tolist()}
            for n, frame in samples.items():
                values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
                series[n] = np.histogram(values[np.isfinite(values)], edges)[0].tolist()
            out[column] = {"kind": "numeric", "edges": edges.tolist(), "counts": series}
        else:
            keys = sm._keys(test[column])
            top = pd.Series(keys).value_counts().index[:TOP_CATEGORIES].tolist()
            shares = {"real": _shares(keys, top)}
            for n, frame in samples.items():
                shares[n] = _shares(sm._keys(frame[column]), top)
            out[column] = {"kind": "categorical", "categories": top, "shares": shares}
    return {"columns": out, "models": names}


def _shares(keys: np.ndarray, top: list[str]) -> list[float]:
    return [float(np.mean(keys == k)) if len(keys) else 0.0 for k in top]


def associations_section(ctx: Any, names: list[str]) -> dict[str, Any]:
    if not names:
        return {"columns": [], "real": [], "differences": {}}
    test = ctx.data.X.iloc[ctx.data.splits.test]
    numeric, categorical, target = _columns(ctx, names[0])
    order = [c for c in test.columns if c in {*numeric, *categorical}][:MAX_ASSOCIATION_COLUMNS]
    if target and target not in order:
        order = [*order[:-1], target]
    num = [c for c in order if c in numeric]
    cat = [c for c in order if c in categorical]
    real = sm.association_matrix(test, num, cat).loc[order, order]
    out = {}
    for n in names:
        synth = final_sampler(ctx.model(n)).sample(len(test), random_state=SEED)
        other = sm.association_matrix(synth, num, cat).loc[order, order]
        out[n] = (other - real).round(4).to_numpy().tolist()
    return {"columns": order, "real": real.round(4).to_numpy().tolist(), "differences": out}
