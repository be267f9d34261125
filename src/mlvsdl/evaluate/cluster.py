"""The analysis sections of a clustering run (beside the shared costs and recommendation).

``clusterers``: per model, how it chose its number of clusters and the sizes of its clusters on
the held-out test rows. ``clusters``: for the best classical and the best deep clustering, what
sets each cluster apart, from the held-out test rows the fitted model assigned — for tables the
numeric columns whose cluster mean is furthest from the overall mean (in standard deviations)
and the categorical levels most over-represented; for text the terms with the highest weight at
the cluster's centre in the LSA space and the texts nearest that centre; with a label, the most
common label value; for images a strip of the members nearest the centre. ``cluster_map``: the
held-out rows in 2-D (the first two principal components of the evaluation space), coloured by
each of those models' clusters, and the label."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from mlvsdl.evaluate.local import json_scalar
from mlvsdl.tasks import get_task
from mlvsdl.types import ColumnKind, Modality

__all__ = ["best_by_kind", "clusterers_section", "map_section", "profiles_section"]

MAP_ROWS = 1_500  # held-out rows drawn on the map, at most
TOP_COLUMNS = 4
TOP_TERMS = 8
NEAREST_TEXTS = 3
TEXT_CHARS = 160
GRID_CLUSTERS = 20  # clusters shown with member images, at most
GRID_MEMBERS = 8  # member images per cluster: those nearest its centre


def _final(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _assigned(ctx: Any, name: str, rows: np.ndarray) -> Any:
    return get_task(ctx.data.schema.task).predict(ctx.model(name), ctx.data.X.iloc[rows])


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


def clusterers_section(ctx: Any) -> dict[str, Any]:
    """How each model chose k, and its cluster sizes on the held-out test rows."""
    test = ctx.data.splits.test
    out: dict[str, Any] = {}
    for cand in ctx.done:
        name = cand["name"]
        clusters = _assigned(ctx, name, test).values
        ids, counts = np.unique(clusters, return_counts=True)
        out[name] = {
            "kind": cand["kind"],
            "rule": str(getattr(_final(ctx.model(name)), "k_rule_", "")),
            "sizes": {str(int(i)): int(c) for i, c in zip(ids, counts, strict=True)},
        }
    return {"models": out, "split": "test", "n_rows": len(test), "label": ctx.data.schema.label}


def profiles_section(ctx: Any, names: list[str]) -> dict[str, Any]:
    """Per model in ``names``, per cluster: size, what sets it apart, the common label."""
    test = ctx.data.splits.test
    X = ctx.data.X.iloc[test]
    labels = None if ctx.data.y is None else np.asarray(ctx.data.y)[test]
    out: dict[str, Any] = {}
    for name in names:
        predictions = _assigned(ctx, name, test)
        clusters = np.asarray(predictions.values)
        if ctx.data.schema.modality is Modality.TEXT:
            described = _text_profiles(ctx, name, X, predictions)
        elif ctx.data.schema.modality is Modality.IMAGE:
            described = _image_profiles(ctx, name, X, predictions)
        else:
            described = _table_profiles(ctx, X, clusters)
        entries = []
        for cluster in np.unique(clusters):
            members = clusters == cluster
            entry: dict[str, Any] = {
                "cluster": int(cluster),
                "size": int(members.sum()),
                "share": float(members.mean()),
            }
            entry |= described.get(int(cluster), {})
            if labels is not None:
                common = pd.Series(labels[members]).value_counts()
                entry["label"] = json_scalar(common.index[0])
                entry["label_share"] = float(common.iloc[0] / members.sum())
            entries.append(entry)
        out[name] = {"clusters": entries}
    return {"models": out, "split": "test", "modality": str(ctx.data.schema.modality)}


def _table_profiles(ctx: Any, X: pd.DataFrame, clusters: np.ndarray) -> dict[int, Any]:
    schema = ctx.data.schema
    if schema.modality is not Modality.TABULAR:
        return {}
    numeric = [c for c in schema.of_kind(ColumnKind.NUMERIC) if c in X.columns]
    categorical = [
        c for c in schema.of_kind(ColumnKind.CATEGORICAL) + schema.of_kind(ColumnKind.BOOLEAN)
    ]
    values = X[numeric].apply(pd.to_numeric, errors="coerce") if numeric else None
    out: dict[int, Any] = {}
    for cluster in np.unique(clusters):
        members = clusters == cluster
        found: list[dict[str, Any]] = []
        if values is not None:
            std = values.std().replace(0, np.nan)
            shift = (values[members].mean() - values.mean()) / std
            for column, z in shift.dropna().items():
                found.append(
                    {
                        "column": str(column),
                        "cluster_mean": json_scalar(values[members][column].mean()),
                        "overall_mean": json_scalar(values[column].mean()),
                        "z": float(z),
                        "strength": abs(float(z)),
                    }
                )
        for column in categorical:
            col = X[column].astype(str)
            overall = col.value_counts(normalize=True)
            inside = col[members].value_counts(normalize=True)
            if inside.empty:
                continue
            lift = (inside / overall.reindex(inside.index)).sort_values(ascending=False)
            level = lift.index[0]
            found.append(
                {
                    "column": str(column),
                    "level": str(level),
                    "cluster_share": float(inside[level]),
                    "overall_share": float(overall[level]),
                    "strength": float(inside[level] - overall[level]) * 4,
                }
            )
        found.sort(key=lambda f: -f["strength"])
        out[int(cluster)] = {"columns": found[:TOP_COLUMNS]}
    return out


def _text_profiles(ctx: Any, name: str, X: pd.DataFrame, predictions: Any) -> dict[int, Any]:
    model = _final(ctx.model(name))
    lsa = getattr(model, "space_", None)
    if isinstance(lsa, str):
        lsa = model.reducer_
    if lsa is None or not hasattr(lsa, "term_weights"):
        return {}
    estimator = ctx.model(name)
    cleaned = estimator[:-1].transform(X) if hasattr(estimator, "steps") else X
    space = np.asarray(lsa.transform(cleaned))
    terms = lsa.terms
    texts = [str(t) for t in cleaned[list(lsa.text)].astype(str).agg(" | ".join, axis=1)]
    clusters = np.asarray(predictions.values)
    out: dict[int, Any] = {}
    for cluster in np.unique(clusters):
        members = np.flatnonzero(clusters == cluster)
        centre = space[members].mean(axis=0)
        weights = lsa.term_weights(centre[None, :])[0]
        top = np.argsort(-weights)[:TOP_TERMS]
        nearest = members[np.argsort(-(space[members] @ centre))[:NEAREST_TEXTS]]
        out[int(cluster)] = {
            "terms": [str(terms[i]) for i in top],
            "texts": [texts[i][:TEXT_CHARS] for i in nearest],
        }
    return out


def _image_profiles(ctx: Any, name: str, X: pd.DataFrame, predictions: Any) -> dict[int, Any]:
    """Per cluster a PNG strip (base64) of the members nearest its centre."""
    estimator = ctx.model(name)
    pixels = estimator[:-1].transform(X) if hasattr(estimator, "steps") else X
    media = ctx.data.schema.media
    channels = int(media.get("channels", 1))
    height, width = (int(v) for v in media.get("image_size", (28, 28)))
    images = np.asarray(pixels, dtype=np.float64).reshape(len(X), channels, height, width)
    clusters, distance = np.asarray(predictions.values), np.asarray(predictions.scores)
    out: dict[int, Any] = {}
    for cluster in np.unique(clusters)[:GRID_CLUSTERS]:
        members = np.flatnonzero(clusters == cluster)
        nearest = members[np.argsort(distance[members], kind="stable")[:GRID_MEMBERS]]
        out[int(cluster)] = {"members_png": _strip(images[nearest]), "members": len(nearest)}
    return out


def _strip(images: np.ndarray) -> str:
    """Images ``(n, C, H, W)`` side by side, one pixel apart, as a base64 PNG (3x enlarged)."""
    import base64
    import io

    from PIL import Image

    n, _, height, width = images.shape
    strip = np.ones((height, n * (width + 1) - 1, 3))
    for i, image in enumerate(images):
        rgb = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image[:3]
        strip[:, i * (width + 1) : i * (width + 1) + width] = np.clip(rgb.transpose(1, 2, 0), 0, 1)
    picture = Image.fromarray(np.round(strip * 255).astype(np.uint8))
    picture = picture.resize((picture.width * 3, picture.height * 3), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def map_section(ctx: Any, names: list[str]) -> dict[str, Any] | None:
    """The held-out rows on the first two principal components of the evaluation space."""
    if not names:
        return None
    rows = ctx.sample(ctx.data.splits.test, MAP_ROWS)
    first = _assigned(ctx, names[0], rows)
    space = first.space
    space = space.toarray() if hasattr(space, "toarray") else np.asarray(space, dtype=float)
    if space.shape[1] < 2 or len(rows) < 3:
        return None
    points = PCA(n_components=2, random_state=ctx.data.seed).fit_transform(space)
    out: dict[str, Any] = {
        "x": np.round(points[:, 0], 4).tolist(),
        "y": np.round(points[:, 1], 4).tolist(),
        "models": {names[0]: first.values.astype(int).tolist()},
        "method": "PCA of the evaluation space (first two components)",
        "split": "test",
    }
    for name in names[1:]:
        out["models"][name] = _assigned(ctx, name, rows).values.astype(int).tolist()
    if ctx.data.y is not None:
        out["label"] = [str(v) for v in np.asarray(ctx.data.y)[rows]]
    return out
