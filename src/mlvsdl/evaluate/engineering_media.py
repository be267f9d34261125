"""Feature engineering, measured, for text and images: the classical models' hand-made features
against simpler ones, beside the best network on the raw input, on the run's own folds.

* **text**: each chosen classical model on its leaderboard features (TF-IDF of word and
  character n-grams plus text statistics) and on plain word counts (``CountVectorizer`` of
  words; no IDF weighting, no character n-grams, no statistics; other columns as before);
* **images**: each chosen classical model on its leaderboard features (pixels, or their PCA,
  beside HOG descriptors), on HOG alone and on the pixels alone.

The chosen classical models are the best one of the run and the logistic regression
(``tfidf_logreg`` / ``image_logreg``) where it ran. Variants are refitted fold by fold on the
run's own cross-validation folds while the time allows, and compared fold by fold with the
leaderboard features (their stored fold scores, same rows and seed). Above
:data:`MAX_ROWS` training rows, every classical variant (the leaderboard one included) is
refitted on one seeded subsample of the training part, restricted to the same folds, and the
result says so; the network keeps its leaderboard score on all rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.pipeline import Pipeline

from mlvsdl.data.split import Splits
from mlvsdl.evaluate.engineering import variant_row as _row
from mlvsdl.evaluate.importance import oriented_score
from mlvsdl.evaluate.metrics import Metric
from mlvsdl.families.registry import get_family
from mlvsdl.types import Modality, Schema

__all__ = ["MAX_ROWS", "measure_media_engineering", "variants"]

logger = logging.getLogger(__name__)

MAX_ROWS = {Modality.TEXT: 4000, Modality.IMAGE: 3000}
LOGREG = {Modality.TEXT: "tfidf_logreg", Modality.IMAGE: "image_logreg"}
RAW = {Modality.TEXT: "raw text (network)", Modality.IMAGE: "raw pixels (network)"}
ENGINEERED = {
    Modality.TEXT: "TF-IDF n-grams and text statistics versus plain word counts",
    Modality.IMAGE: "pixels and HOG versus HOG alone and pixels alone",
}

Factory = Callable[[int], Pipeline]


def _counts(pipe: Pipeline) -> Pipeline:
    features = pipe.named_steps["features"]
    parts = []
    for name, transformer, columns in features.transformers:
        if name.startswith("word"):
            counts = CountVectorizer(
                token_pattern=r"(?u)\b\w+\b", strip_accents="unicode", max_features=100_000
            )
            parts.append((name, counts, columns))
        elif not name.startswith(("char", "stats")):
            parts.append((name, transformer, columns))
    features.set_params(transformers=parts)
    return pipe


def _text_variants(key: str, schema: Schema) -> list[tuple[str, Factory | None]] | None:
    pipe = get_family(key).build(schema, random_state=0)
    features = pipe.named_steps.get("features")
    names = [name for name, _, _ in getattr(features, "transformers", [])]
    if not any(n.startswith("word") for n in names):
        return None
    chars = " and character" if any(n.startswith("char") for n in names) else ""
    return [
        (f"TF-IDF of word{chars} n-grams + text statistics (as in the leaderboard)", None),
        (
            "plain word counts (CountVectorizer)",
            lambda seed: _counts(get_family(key).build(schema, random_state=seed)),
        ),
    ]


def _image_variants(key: str, schema: Schema) -> list[tuple[str, Factory | None]] | None:
    pipe = get_family(key).build(schema, random_state=0)
    if "features__union__hog" not in pipe.get_params():
        return None
    pixels = pipe.get_params()["features__union__pixels"]
    name = "PCA of the pixels" if "pca" in getattr(pixels, "named_steps", {}) else "raw pixels"

    def without(part: str) -> Factory:
        return lambda seed: (
            get_family(key)
            .build(schema, random_state=seed)
            .set_params(**{f"features__union__{part}": "drop"})
        )

    return [
        (f"{name} + HOG (as in the leaderboard)", None),
        ("HOG only", without("pixels")),
        (f"{name} only", without("hog")),
    ]


def variants(key: str, schema: Schema) -> list[tuple[str, Factory | None]] | None:
    """(label, factory) per feature set of family ``key``; the first (factory None) is the
    leaderboard's own. None when the family's features are not the usual ones."""
    builder = {Modality.TEXT: _text_variants, Modality.IMAGE: _image_variants}
    return builder[schema.modality](key, schema) if schema.modality in builder else None


def _subsample(splits: Splits, cap: int, seed: int) -> tuple[list[tuple[Any, Any]], int | None]:
    """The run's folds as positions in X, restricted to a seeded subsample above ``cap`` rows."""
    train = np.asarray(splits.train)
    keep = np.ones(len(train), dtype=bool)
    if len(train) > cap:
        keep[:] = False
        keep[np.random.default_rng(seed).choice(len(train), cap, replace=False)] = True
    folds = [(train[f[keep[f]]], train[v[keep[v]]]) for f, v in splits.folds]
    return folds, (cap if len(train) > cap else None)


def _score(model: Any, X: pd.DataFrame, y: np.ndarray, metric: Metric) -> float:
    value = oriented_score(model, X, y, metric)
    return value if metric.greater_is_better else -value


def measure_media_engineering(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    splits: Splits,
    metric: Metric,
    candidates: list[dict[str, Any]],
    *,
    random_state: int = 0,
    deadline: float | None = None,
    max_rows: int | None = None,
) -> dict[str, Any] | None:
    """Rows ``{model, kind, variant, score, folds, delta, delta_std}`` (see the module
    docstring), with ``note`` saying how many rows the classical refits used."""
    modality = schema.modality
    done = [c for c in candidates if c["status"] == "completed" and c["family"] != "dummy"]
    sign = 1 if metric.greater_is_better else -1
    done.sort(key=lambda c: -sign * float(c["val_score"]))
    ml = [c for c in done if c["kind"] == "ml" and variants(c["family"], schema)]
    chosen = ml[:1] + [c for c in ml[1:] if c["family"] == LOGREG.get(modality)][:1]
    if not chosen:
        return None
    cap = max_rows or MAX_ROWS[modality]
    folds, sampled = _subsample(splits, cap, random_state)
    fraction = (sampled or len(splits.train)) / max(len(splits.train), 1)
    rows: list[dict[str, Any]] = []
    for cand in chosen:
        per_fold_s = 1.5 * fraction * float(cand.get("fit_time_s") or 0.0)
        stored = list(cand["details"].get("fold_scores") or [])
        scores: dict[str, list[float]] = {}
        for label, factory in variants(cand["family"], schema) or []:
            if factory is None and sampled is None:
                scores[label] = stored  # the leaderboard's own fold scores, nothing to refit
                continue
            if factory is None:
                factory = lambda seed, key=cand["family"]: get_family(key).build(  # noqa: E731
                    schema, random_state=seed
                )
            scores[label] = []
            for fit_idx, val_idx in folds:
                if deadline is not None and time.perf_counter() + per_fold_s > deadline:
                    break
                start = time.perf_counter()
                model = factory(random_state).fit(X.iloc[fit_idx], y[fit_idx])
                scores[label].append(_score(model, X.iloc[val_idx], y[val_idx], metric))
                per_fold_s = max(per_fold_s, 1.2 * (time.perf_counter() - start))
        rows += _model_rows(cand, scores)
    best_dl = next((c for c in done if c["kind"] == "dl"), None)
    if best_dl is not None and best_dl["details"].get("fold_scores"):
        rows.append(_row(best_dl, RAW[modality], best_dl["details"]["fold_scores"], None))
    if not rows:
        return None
    note = (
        f"The classical variants were refitted on a seeded subsample of {sampled:,} of the "
        f"{len(splits.train):,} training rows (the run's folds, restricted to it); the network's "
        "score is its leaderboard score on all rows."
        if sampled
        else "All variants use the run's own folds and training rows."
    )
    return {
        "rows": rows,
        "engineered": ENGINEERED[modality],
        "modality": str(modality),
        "note": note,
    }


def _model_rows(cand: dict[str, Any], scores: dict[str, list[float]]) -> list[dict[str, Any]]:
    labels = list(scores)
    base = scores[labels[0]]
    out = []
    for label in labels:
        values = scores[label]
        if not values:
            continue
        if label == labels[0]:
            n = max((len(scores[k]) for k in labels[1:]), default=len(values)) or len(values)
            out.append(_row(cand, label, values[:n], None))
            continue
        n = min(len(values), len(base))
        delta = np.subtract(values[:n], base[:n]) if n else None
        out.append(_row(cand, label, values, delta))
    return out if len(out) > 1 else []
