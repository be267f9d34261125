"""The analysis sections of a dimensionality-reduction run (beside the shared costs and
recommendation).

``embeddings``: per model, every metric on the held-out test rows and on the validation folds,
what its input space is, and whether it has an inverse. ``maps``: a 2-D picture of the held-out
rows for the best classical and the best deep embedding (coloured by the label when the run has
one): the coordinates themselves at ``--dims 2``, else a t-SNE of the D coordinates (t-SNE has
no ``transform`` for new rows, so it only draws; it is never a family).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.manifold import TSNE

from mlvsdl.tasks import get_task

__all__ = ["embeddings_section", "maps_section", "to_plane"]

MAP_ROWS = 800  # held-out rows drawn per map (seeded sample)
TSNE_ROWS = 500  # at most this many when t-SNE draws them (D > 2): it took 136 s for 2 x 800
# rows of 30 coordinates on a busy 2-core machine
TSNE_PERPLEXITY = 30.0
TSNE_ITERATIONS = 500


def _metrics(ctx: Any) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in ctx.store.db.metrics(ctx.run_id):
        out.setdefault((row["candidate"], row["split"]), {})[row["metric"]] = row["value"]
    return out


def _input_space(estimator: Any) -> str:
    steps = [name for name, _ in getattr(estimator, "steps", [])[:-1]]
    if "encode" in steps and type(estimator.named_steps["encode"]).__name__ == (
        "SentenceEmbeddings"
    ):
        return "MiniLM sentence embedding (384)"
    return "shared encoding of the modality"


def embeddings_section(ctx: Any) -> dict[str, Any]:
    """Every model's metrics (test and validation), in ranking order."""
    metrics = _metrics(ctx)
    models = {}
    for cand in ctx.ranked():
        name = cand["name"]
        estimator = ctx.model(name)
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        models[name] = {
            "kind": cand["kind"],
            "family": cand["family"],
            "test": metrics.get((name, "test"), {}),
            "cv": metrics.get((name, "cv"), {}),
            "inverse": hasattr(final, "inverse_transform"),
            "input_space": _input_space(estimator),
        }
    schema = ctx.data.schema
    return {
        "models": models,
        "dims": int(schema.options.get("dims", 2)),
        "label": schema.label,
        "primary": ctx.data.metric.key,
        "n_test": len(ctx.data.splits.test),
    }


def to_plane(coords: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """``coords`` as 2-D points: as they are at D <= 2 (a 1-D embedding gets a zero axis),
    else a t-SNE of them; and how the picture was made."""
    coords = np.asarray(coords, dtype=np.float64)
    if coords.shape[1] == 2:
        return coords, "the 2 coordinates"
    if coords.shape[1] == 1:
        return np.column_stack([coords[:, 0], np.zeros(len(coords))]), "the 1 coordinate"
    perplexity = min(TSNE_PERPLEXITY, max(2.0, (len(coords) - 1) / 3))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        max_iter=TSNE_ITERATIONS,
        random_state=seed,
    )
    return tsne.fit_transform(coords), f"t-SNE of the {coords.shape[1]} coordinates"


def maps_section(ctx: Any) -> dict[str, Any]:
    """Points of the held-out rows for the best ML and the best DL embedding (not the
    baseline), with the label per point when the run has one."""
    data = ctx.data
    dims = int(data.schema.options.get("dims", 2))
    rows = ctx.sample(data.splits.test, MAP_ROWS if dims <= 2 else TSNE_ROWS)
    spec = get_task(data.schema.task)
    labels = None if data.y is None else [str(v) for v in np.asarray(data.y)[rows]]
    maps = {}
    for kind in ("ml", "dl"):
        best = next((c for c in ctx.ranked() if c["kind"] == kind and c["family"] != "dummy"), None)
        if best is None:
            continue
        coords = spec.predict(ctx.model(best["name"]), data.X.iloc[rows]).values
        points, how = to_plane(coords, data.seed)
        maps[kind] = {
            "model": best["name"],
            "how": how,
            "x": np.round(points[:, 0], 5).tolist(),
            "y": np.round(points[:, 1], 5).tolist(),
        }
    return {"maps": maps, "labels": labels, "label": data.schema.label, "n_rows": len(rows)}
