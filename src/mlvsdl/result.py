"""What a comparison gives back: the leaderboard and the fitted models, read from the store.

``compare`` returns a :class:`CompareResult`; ``load_run`` rebuilds the same object from the
store alone, on any machine, long after the run. Models are loaded lazily and safely (see
``store/artifacts.py``) the first time they are asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlvsdl.data.media import check_inputs, media_column, read_inputs
from mlvsdl.errors import DataError, SchemaMismatchError, StoreError
from mlvsdl.evaluate.metrics import METRICS
from mlvsdl.families.registry import all_families
from mlvsdl.fastpath import as_fast_pipeline
from mlvsdl.store import Store
from mlvsdl.store.provenance import library_versions
from mlvsdl.tasks import get_task
from mlvsdl.types import Modality, Schema, Task

__all__ = ["CompareResult", "library_versions", "load_run", "predict_frame"]

LEADERBOARD_COLUMNS = [
    "rank",
    "model",
    "title",
    "kind",
    "status",
    "val_score",
    "val_std",
    "test_score",
    "fit_time_s",
    "predict_time_s_per_1k",
    "model_bytes",
    "n_train_rows",
    "beats_baseline",
    "note",
]


class _LazyModels(Mapping[str, Any]):
    """Fitted models by name, each loaded from the store on first access."""

    def __init__(self, store: Store, run_id: str, names: list[str], loaded: dict[str, Any]):
        self._store, self._run_id, self._names = store, run_id, names
        self._loaded = {k: as_fast_pipeline(v) for k, v in loaded.items() if k in names}

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._loaded:
            # a tabular pipeline predicts a few DataFrame rows through fastpath.py
            self._loaded[name] = as_fast_pipeline(self._store.load_model(self._run_id, name))
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass
class CompareResult:
    run_id: str
    store: Path
    status: str
    source: str
    schema: Schema
    metric: str
    leaderboard: pd.DataFrame
    models: Mapping[str, Any]
    settings: dict[str, Any]

    @property
    def best_model_name(self) -> str:
        board = self.leaderboard
        ranked = board[(board["status"] == "completed") & board["rank"].notna()]
        if ranked.empty:
            raise StoreError(f"run {self.run_id} has no fitted model; every candidate failed.")
        return str(ranked.iloc[0]["model"])

    @property
    def best_model(self) -> Any:
        return self.models[self.best_model_name]

    @property
    def recommendation(self) -> Any:
        """Which model to use and why (a ``mlvsdl.evaluate.recommend.Recommendation``, computed at
        the end of ``compare`` and kept in the run's analysis); None when the run has none."""
        from mlvsdl.evaluate.analysis import load_analysis
        from mlvsdl.evaluate.recommend import Recommendation

        document = load_analysis(Store(self.store, create=False), self.run_id) or {}
        found = document.get("recommendation")
        return Recommendation.from_dict(found) if found else None

    @property
    def report_path(self) -> Path | None:
        """The run's HTML report (written at the end of ``compare``), or None if absent."""
        path = self.store / "runs" / self.run_id / "report.html"
        return path if path.is_file() else None

    def predict(self, data: Any, model: str | None = None, **read_options: Any) -> pd.DataFrame:
        """Predictions (and class probabilities) for new rows, validated against the schema.

        ``read_options`` (``names``, ``na_values``) are passed to ``read_table`` for files.
        """
        name = model or self.best_model_name
        if name not in self.models:
            raise StoreError(
                f"run {self.run_id} has no model {name!r}; choose one of: {', '.join(self.models)}."
            )
        return predict_frame(self.models[name], self.schema, data, **read_options)


def predict_frame(
    estimator: Any, schema: Schema, data: Any, *, on_bad_file: str = "skip", **read_options: Any
) -> pd.DataFrame:
    """Predictions for ``data``: a table (file or DataFrame) or, for images and audio, also a
    folder, one file or ``(arrays, labels)``. Media rows come back with their path first;
    unreadable files are skipped (and logged) or refused, as ``on_bad_file`` says."""
    frame = data if isinstance(data, pd.DataFrame) else read_inputs(data, **read_options).frame
    if frame.empty:
        raise DataError("no rows to predict; pass a table with at least one row.")
    frame, sources = _media_rows(frame, schema, on_bad_file)
    task = get_task(schema.task)
    out = task.to_frame(task.predict(estimator, frame), schema).set_axis(frame.index)
    if sources is not None:
        out.insert(0, sources.name, sources)
    return out


def _media_rows(
    frame: pd.DataFrame, schema: Schema, on_bad_file: str
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Decode and check the media column (named as in training, or as a folder names it)."""
    if schema.modality not in (Modality.IMAGE, Modality.AUDIO):
        return frame, None
    column = media_column(schema)
    folder_column = "image" if schema.modality is Modality.IMAGE else "audio"
    if column not in frame.columns and folder_column in frame.columns:
        frame = frame.rename(columns={folder_column: column})
    if column not in frame.columns:
        raise SchemaMismatchError(
            f"input has no {column!r} column of {schema.modality} files; pass a folder or "
            f"file of {schema.modality}, or a table with that column."
        )
    sources = frame[column].map(lambda v: v if isinstance(v, str) else "<array>")
    frame = frame.assign(__source__=sources)
    frame, _ = check_inputs(frame, schema, on_bad_file)
    return frame.drop(columns="__source__"), frame["__source__"].rename(column)


def _leaderboard(candidates: list[dict[str, Any]], metric_key: str) -> pd.DataFrame:
    metric = METRICS[metric_key]
    titles = {f.key: f.title for f in all_families()}
    frame = pd.DataFrame(candidates, columns=[*candidates[0].keys()] if candidates else None)
    if frame.empty:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    frame = frame.rename(columns={"name": "model", "reason": "note"})
    frame["title"] = frame["family"].map(titles).fillna(frame["family"])
    done = frame["status"] == "completed"
    order = frame["val_score"].where(done) * (-1 if metric.greater_is_better else 1)
    # a model refitted on all rows (--refit-all) has no validation or test score: never ranked
    details = frame["details"] if "details" in frame else pd.Series([{}] * len(frame))
    refit = details.map(lambda d: isinstance(d, dict) and "refit_of" in d).to_numpy(dtype=bool)
    group = frame["status"].map({"completed": 0, "failed": 2, "skipped": 3}).where(~refit, 1)
    frame = frame.assign(_group=group, _order=order).sort_values(
        ["_group", "_order", "fit_time_s"], na_position="last", kind="stable"
    )
    frame["rank"] = pd.array(
        [i + 1 if g == 0 else pd.NA for i, g in enumerate(frame["_group"])], dtype="Int64"
    )
    frame["beats_baseline"] = _beats_baseline(frame, metric)
    return frame[LEADERBOARD_COLUMNS].reset_index(drop=True)


def _beats_baseline(frame: pd.DataFrame, metric: Any) -> pd.Series:
    baseline = frame.loc[(frame["model"] == "dummy") & (frame["status"] == "completed")]
    if baseline.empty:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    base = float(baseline.iloc[0]["val_score"])
    beats = [
        pd.NA
        if status != "completed" or model == "dummy" or pd.isna(score)
        else bool(metric.better(float(score), base))
        for model, status, score in zip(
            frame["model"], frame["status"], frame["val_score"], strict=True
        )
    ]
    result = pd.Series(beats, index=frame.index, dtype="boolean")
    lost = result.fillna(True).eq(False)
    signal = (
        "chance groups"
        if metric.tasks == {Task.CLUSTER}
        else "scoring every row alike"
        if Task.ANOMALY in metric.tasks
        else "a random projection"
        if Task.EMBED in metric.tasks
        else "recommending the most popular items"
        if metric.tasks == {Task.RECOMMEND}
        else "independent columns"
        if Task.SYNTHESIZE in metric.tasks
        else "the seasonal naive forecast"
        if metric.tasks == {Task.FORECAST}
        else "the class prior or mean"
    )
    why = (
        f"does not beat the dummy baseline ({base:.4g}) on validation: it finds no signal "
        f"beyond {signal}"
    )
    frame.loc[lost, "note"] = (
        frame.loc[lost, "note"].fillna("").map(lambda n: f"{n}; {why}" if n else why)
    )
    return result


def load_run(
    run_id: str,
    store: str | os.PathLike[str] | None = None,
    *,
    preloaded: dict[str, Any] | None = None,
) -> CompareResult:
    """Rebuild a run's :class:`CompareResult` from the store."""
    db_store = Store(store, create=False)
    run = db_store.db.run(run_id)
    candidates = db_store.db.candidates(run_id)
    fitted = [c["name"] for c in candidates if c["status"] == "completed"]
    return CompareResult(
        run_id=run_id,
        store=db_store.root,
        status=run["status"],
        source=run["source"],
        schema=Schema.from_dict(run["schema"]),
        metric=run["metric"],
        leaderboard=_leaderboard(candidates, run["metric"]),
        models=_LazyModels(db_store, run_id, fitted, preloaded or {}),
        settings=run["settings"],
    )
