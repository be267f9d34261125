"""Infer the task and the kind of every column, and clean what the models cannot take as is.

``infer_schema`` checks the target, drops rows without a target, infers (or validates) the task,
and gives every other column a :class:`~mlvsdl.types.ColumnKind` with a short reason. Columns a
model should not see (constant, empty, identifier-like) are kept in the Schema as DROPPED, so the
user can see why. Expensive checks (date parsing, word counts) run on a seeded sample.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.class_label import class_label
from mlvsdl.data.cluster_k import check_k
from mlvsdl.data.embed_options import embed_options
from mlvsdl.data.forecast_options import forecast_options, refuse_forecast_options
from mlvsdl.data.label import anomaly_label, check_contamination
from mlvsdl.data.load import normalize_columns
from mlvsdl.data.media import media_kind
from mlvsdl.data.recommend_options import recommend_schema, refuse_recommend_options
from mlvsdl.data.synth_options import synth_options
from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.types import ColumnInfo, ColumnKind, Modality, Schema, Task

__all__ = ["infer_schema", "resolve_modality"]

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 2000  # values per column for the expensive checks
RANDOM_STATE = 0
MAX_CLASSES_GUESSED = 20  # an integer target with more distinct values is a regression
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})  # as TableCleaner reads booleans
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_LIKE = re.compile(
    rf"\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}|\d{{4}}-\d{{2}}(?!\d)|\d{{1,2}}:\d{{2}}"
    rf"|{_MONTH},?\s+\d|\d\s+{_MONTH}",
    re.IGNORECASE,
)
_ID_NAME = re.compile(r"(?:^|[^a-z0-9])(?:id|uuid|guid|key|idx|index)$|^unnamed: ?\d+$", re.I)
_CAMEL_ID = re.compile(r"(?:^|[a-z0-9])(?:ID|Id)$")


def infer_schema(
    df: pd.DataFrame,
    target: str | None,
    task: Task | str | None = None,
    modality: Modality | str | None = None,
    *,
    label: str | None = None,
    anomaly_value: Any = None,
    contamination: float | None = None,
    dims: int | None = None,
    k: int | None = None,
    time: str | None = None,
    series: str | None = None,
    horizon: int | None = None,
    known: tuple[str, ...] | None = None,
    user: str | None = None,
    item: str | None = None,
    rating: str | None = None,
) -> tuple[pd.DataFrame, Schema]:
    """Validate ``df`` for its task and infer its Schema.

    Prediction tasks need ``target``; a task without one (``--task anomaly``) takes an optional
    ``label`` read for evaluation only (``data/label.py``). Returns the cleaned frame (rows with
    a missing target or label dropped, index reset, mixed-type columns made numeric) and the
    Schema, whose ``notes`` are the warnings (also logged). The modality is inferred from the
    column kinds (image or audio column > free text > table) unless ``modality`` is given.

    Raises:
        TargetError: the target (or label) is unknown, empty, or unusable for the task.
        ConfigError: ``task`` or ``modality`` is not known, the data has no column for it, or
            an option does not belong to the task.
        DataError: the frame has no rows, or no usable input column.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}; load it first.")
    frame, notes = normalize_columns(df.copy(deep=False), "the table")
    if len(frame) == 0:
        raise DataError("the table has no rows; give a table with data rows.")
    requested = _parse_task(task)
    if requested is Task.RECOMMEND:  # an interactions table: data/recommend_options.py
        refuse_forecast_options(requested, series=series, horizon=horizon, known=known)
        frame, schema = recommend_schema(
            frame,
            target=target,
            user=user,
            item=item,
            rating=rating,
            time=time,
            modality=modality,
            label=label,
            anomaly_value=anomaly_value,
            contamination=contamination,
            dims=dims,
            k=k,
        )
        return frame, replace(schema, notes=(*notes, *schema.notes))
    refuse_recommend_options(requested, user=user, item=item, rating=rating)
    if time is not None and str(requested) != "forecast":
        raise ConfigError(
            f"--time belongs to --task recommend or forecast, not to the "
            f"{requested or 'prediction'} task; leave it out."
        )
    options: dict[str, Any] = {}
    if requested is not Task.FORECAST:
        refuse_forecast_options(requested, time=time, series=series, horizon=horizon, known=known)
    if requested is Task.FORECAST:
        _refuse_cluster_options(requested, k)
        _refuse_unsupervised_options(label, anomaly_value, contamination, dims)
        frame, chosen, options, excluded, task_notes = forecast_options(
            frame, target, time, series, horizon, known
        )
        target, classes = excluded, None
    elif requested is Task.EMBED:
        _refuse_cluster_options(requested, k)
        frame, chosen, options, excluded, task_notes = embed_options(
            frame, target, label, dims, anomaly_value, contamination
        )
        classes = None
    elif requested is Task.CLUSTER:
        if dims is not None:
            raise ConfigError("--dims belongs to --task embed; leave it out.")
        frame, chosen, options, excluded, task_notes = _cluster(
            frame, target, label, anomaly_value, contamination, k
        )
        classes = None
    elif requested is Task.SYNTHESIZE:  # the target (utility only) stays among the columns
        frame, chosen, options, excluded, task_notes = synth_options(
            frame, target, label, anomaly_value, contamination, dims, k
        )
        target, classes = None, None
    elif requested is not None and not requested.is_supervised:
        if dims is not None:
            raise ConfigError("--dims belongs to --task embed; leave it out.")
        _refuse_cluster_options(requested, k)
        frame, chosen, options, excluded, task_notes = _unsupervised(
            frame, target, requested, label, anomaly_value, contamination
        )
        classes = None
    else:
        _refuse_cluster_options(requested, k)
        _refuse_unsupervised_options(label, anomaly_value, contamination, dims)
        if target is None:
            raise ConfigError("no target given; pass --target COLUMN (the column to predict).")
        excluded = target = str(target)
        _check_target_name(frame, target)
        frame, dropped_note = drop_missing_target(frame, target)
        notes += dropped_note
        y, chosen, classes, task_notes = _resolve_task(frame[target], target, requested)
        frame[target] = y
    notes += task_notes
    columns = []
    for name in frame.columns:
        if name == excluded:
            continue
        info, converted, column_notes = _infer_column(name, frame[name])
        if converted is not None and name != options.get("series"):  # forecast ids stay text
            frame[name] = converted
        columns.append(info)
        notes += column_notes
    _check_usable(columns, excluded)
    for note in notes:
        logger.warning(note)
    schema = Schema(
        target=target,
        task=chosen,
        columns=tuple(columns),
        classes=classes,
        modality=resolve_modality(columns, modality),
        n_rows=len(frame),
        notes=tuple(notes),
        label=label,
        options=options,
    )
    return frame, schema


def _unsupervised(
    frame: pd.DataFrame,
    target: str | None,
    task: Task,
    label: str | None,
    anomaly_value: Any,
    contamination: float | None,
) -> tuple[pd.DataFrame, Task, dict[str, Any], str | None, list[str]]:
    """A task without a target: its evaluation label (if any) and its options, checked."""
    if target is not None:
        raise ConfigError(
            f"--task {task} learns without a target; to score the models against a column, "
            f"pass it as --label {target} (it is then used for evaluation only)."
        )
    options: dict[str, Any] = {"contamination": check_contamination(contamination)}
    notes: list[str] = []
    if label is None:
        if anomaly_value is not None:
            raise ConfigError("--anomaly-value names a value of --label; pass --label too.")
        return frame, task, options, None, notes
    frame, value, notes = anomaly_label(frame, str(label), anomaly_value)
    options |= {"anomaly_value": value, "anomaly_share": float(frame[label].mean())}
    return frame, task, options, str(label), notes


def _cluster(
    frame: pd.DataFrame,
    target: str | None,
    label: str | None,
    anomaly_value: Any,
    contamination: float | None,
    k: int | None,
) -> tuple[pd.DataFrame, Task, dict[str, Any], str | None, list[str]]:
    """``--task cluster``: ``--k`` and the evaluation label (if any), checked."""
    if target is not None:
        raise ConfigError(
            f"--task cluster learns without a target; to score the clusters against a column, "
            f"pass it as --label {target} (it is then used for evaluation only)."
        )
    if anomaly_value is not None or contamination is not None:
        raise ConfigError(
            "--anomaly-value and --contamination belong to --task anomaly; leave them out."
        )
    notes: list[str] = []
    if label is not None:
        frame, notes = class_label(frame, str(label), "cluster")
    return frame, Task.CLUSTER, {"k": check_k(k, len(frame))}, label, notes


def _refuse_cluster_options(task: Task | None, k: Any) -> None:
    if k is not None:
        raise ConfigError(
            f"--k (the number of clusters) belongs to --task cluster, not to the "
            f"{task or 'prediction'} task; leave it out or pass --task cluster."
        )


def _refuse_unsupervised_options(
    label: Any, anomaly_value: Any, contamination: Any, dims: Any = None
) -> None:
    given = [
        name
        for name, value in (
            ("--label", label),
            ("--anomaly-value", anomaly_value),
            ("--contamination", contamination),
            ("--dims", dims),
        )
        if value is not None
    ]
    if given:
        raise ConfigError(
            f"{', '.join(given)} belong(s) to the tasks without a target (--task anomaly, "
            "cluster, embed); for prediction, name the column to predict with --target."
        )


# --- modality ---------------------------------------------------------------------------------

_MODALITY_KINDS = {
    Modality.IMAGE: ColumnKind.IMAGE,
    Modality.AUDIO: ColumnKind.AUDIO,
    Modality.TEXT: ColumnKind.TEXT,
}


def resolve_modality(columns: list[ColumnInfo], requested: Modality | str | None) -> Modality:
    """The requested modality (checked against the columns), else the one the columns imply.

    An image or audio column makes the data images or audio; otherwise a free-text column makes
    it text; otherwise it is a table. ``tabular`` is always allowed: text is then encoded by
    length and word count, and media columns are left out.
    """
    kinds = {c.kind for c in columns}
    if requested is None:
        return next((m for m, k in _MODALITY_KINDS.items() if k in kinds), Modality.TABULAR)
    try:
        chosen = Modality(str(requested).strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in Modality if m is not Modality.SERIES)
        raise ConfigError(f"unknown modality {requested!r}; use one of {choices}.") from None
    needed = _MODALITY_KINDS.get(chosen)
    if needed is not None and needed not in kinds:
        raise ConfigError(
            f"--modality {chosen} needs a column of kind {needed}, but none was found (kinds: "
            f"{', '.join(sorted(map(str, kinds)))}); drop --modality to infer it."
        )
    if chosen is Modality.TABULAR and not kinds - {
        ColumnKind.IMAGE,
        ColumnKind.AUDIO,
        ColumnKind.DROPPED,
    }:
        raise ConfigError(
            "--modality tabular needs at least one table column besides images or audio; "
            "drop --modality to infer it."
        )
    return chosen


# --- target and task ------------------------------------------------------------------------


def _parse_task(task: Task | str | None) -> Task | None:
    if task is None or isinstance(task, Task):
        return task
    try:
        return Task(str(task).strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in Task)
        raise ConfigError(f"unknown task {task!r}; use one of {choices}.") from None


def _check_target_name(frame: pd.DataFrame, target: str) -> None:
    if target in frame.columns:
        return
    names = [str(c) for c in frame.columns]
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(target.lower(), list(lowered), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(lowered[c]) for c in close)}? " if close else ""
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    raise TargetError(
        f"target column {target!r} not found; {hint}The table has {len(names)} columns "
        f"({shown}); pass one of them as the target."
    )


def drop_missing_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[str]]:
    y = frame[target]
    missing = y.isna().to_numpy(dtype=bool, copy=True)
    if _is_textual(y):
        missing |= y.astype(str).str.strip().eq("").to_numpy(dtype=bool, na_value=False)
    elif pd.api.types.is_float_dtype(y):
        missing |= np.isinf(y.to_numpy(dtype="float64", na_value=np.nan))
    n_missing = int(missing.sum())
    if n_missing == len(frame):
        raise TargetError(
            f"target column {target!r} has no values (all {n_missing} rows are missing); "
            "choose a column that holds the values to predict."
        )
    if n_missing == 0:
        return frame, []
    note = (
        f"dropped {n_missing} of {len(frame)} rows whose target {target!r} is missing; fill "
        "the target in those rows to use them."
    )
    return frame.loc[~missing].reset_index(drop=True), [note]


def _resolve_task(
    y: pd.Series, target: str, requested: Task | None
) -> tuple[pd.Series, Task, tuple[Any, ...] | None, list[str]]:
    """Choose (or check) the task; return the target, task, sorted classes and notes."""
    notes: list[str] = []
    numeric = _numeric_target(y)
    if numeric is not None and not pd.api.types.is_numeric_dtype(y):
        notes.append(f"target {target!r} holds numbers written as text; read them as numbers.")
        y = numeric
    n_unique = int(y.nunique())
    if n_unique < 2:
        raise TargetError(
            f"target {target!r} has only one distinct value ({_first(y)!r}) in {len(y)} rows, "
            "so there are fewer than two classes to learn; choose another target column or add "
            "rows with other values."
        )
    task = requested or _guess_task(y, numeric, n_unique)
    if task is Task.REGRESSION:
        if numeric is None or pd.api.types.is_bool_dtype(y):
            raise TargetError(
                f"target {target!r} holds non-numeric values (e.g. {_first(y)!r}), so it cannot "
                "be a regression target; use --task binary or --task multiclass, or choose a "
                "numeric column."
            )
        return y, task, None, notes
    if task is Task.BINARY and n_unique > 2:
        raise TargetError(
            f"target {target!r} has {n_unique} classes, but a binary task needs exactly two; "
            "use --task multiclass."
        )
    if n_unique > 100:
        notes.append(
            f"target {target!r} has {n_unique} classes; if it is a quantity rather than a "
            "label, pass --task regression."
        )
    if numeric is not None and pd.api.types.is_float_dtype(y) and _is_integral(y):
        y = y.astype("int64")  # 0.0/1.0 labels (float only because of dropped blanks) -> 0/1
    return y, task, _sorted_classes(y), notes


def _guess_task(y: pd.Series, numeric: pd.Series | None, n_unique: int) -> Task:
    if n_unique == 2:
        return Task.BINARY
    if numeric is None or pd.api.types.is_bool_dtype(y):
        return Task.MULTICLASS
    few = n_unique <= MAX_CLASSES_GUESSED and n_unique * 5 <= len(y)
    return Task.MULTICLASS if few and _is_integral(numeric) else Task.REGRESSION


def _numeric_target(y: pd.Series) -> pd.Series | None:
    """The target as numbers when every value is a number (bool counts), else None."""
    if pd.api.types.is_numeric_dtype(y):
        return y
    if not _is_textual(y) or isinstance(y.dtype, pd.CategoricalDtype):
        return None
    numbers = pd.to_numeric(y.astype(str), errors="coerce")
    if not numbers.notna().all():
        return None
    return numbers.astype("int64") if _is_integral(numbers) else numbers


def _sorted_classes(y: pd.Series) -> tuple[Any, ...]:
    values = y.drop_duplicates().tolist()
    try:
        return tuple(sorted(values))
    except TypeError:  # mixed types, e.g. 1 and "a"
        return tuple(sorted(values, key=lambda v: (type(v).__name__, str(v))))


# --- input columns --------------------------------------------------------------------------


def _infer_column(name: str, col: pd.Series) -> tuple[ColumnInfo, pd.Series | None, list[str]]:
    """The column's kind, a converted column when its values change, and any warnings."""
    values = col.dropna()
    if values.empty:
        return _info(name, col, ColumnKind.DROPPED, "entirely missing", 0), None, []
    if pd.api.types.is_timedelta64_dtype(col):
        seconds = col.dt.total_seconds()
        note = f"column {name!r}: durations read as seconds."
        return _numeric_info(name, seconds, "durations in seconds"), seconds, [note]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
        kind = ColumnKind.BOOLEAN if pd.api.types.is_bool_dtype(col) else ColumnKind.DATETIME
        n_unique = int(values.nunique())
        if n_unique == 1:
            return _info(name, col, ColumnKind.DROPPED, _constant(values), 1), None, []
        return _info(name, col, kind, f"{col.dtype} values", n_unique), None, []
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_complex_dtype(col):
        return _numeric_info(name, col, f"numbers ({col.dtype})"), None, []
    if _is_textual(col):
        return _infer_text_column(name, col, values)
    reason = f"unsupported type {col.dtype}; convert it to numbers, text or dates to use it"
    return _info(name, col, ColumnKind.DROPPED, reason, -1), None, []


def _infer_text_column(
    name: str, col: pd.Series, values: pd.Series
) -> tuple[ColumnInfo, pd.Series | None, list[str]]:
    sample = _sample(values)
    media = media_kind(sample)
    if media is not None:
        reason = "image files or pixel arrays" if media is ColumnKind.IMAGE else "audio"
        return _info(name, col, media, reason, -1), None, []
    if pd.api.types.is_object_dtype(col.dtype) and sample.map(_is_nested).any():
        reason = "nested values (lists or objects); flatten them into columns to use them"
        return _info(name, col, ColumnKind.DROPPED, reason, -1), None, []
    text = sample.astype(str).str.strip()
    if text.nunique() <= 4:  # few values in the sample: the exact checks are cheap
        n_unique = int(values.nunique())
        if n_unique == 1:
            return _info(name, col, ColumnKind.DROPPED, _constant(values), 1), None, []
        if n_unique <= 4 and _is_boolean_text(values):
            pair = "/".join(sorted(map(str, values.unique())))
            reason = f"two values: {pair}"
            return _info(name, col, ColumnKind.BOOLEAN, reason, n_unique), None, []
    if pd.to_numeric(text, errors="coerce").notna().mean() >= 0.9:
        return _coerce_numeric(name, col, values)
    n_unique = int(values.nunique())
    if _looks_like_dates(text):
        reason = f"dates, e.g. {text.iloc[0]!r}"
        return _info(name, col, ColumnKind.DATETIME, reason, n_unique), None, []
    kind, reason = _text_kind(name, text, n_unique, len(values), len(col))
    return _info(name, col, kind, reason, n_unique), None, []


def _text_kind(
    name: str, text: pd.Series, n_unique: int, n_values: int, n_rows: int
) -> tuple[ColumnKind, str]:
    """Free text, a categorical, or an identifier-like column to drop."""
    words = float(text.str.split().str.len().mean())
    chars = float(text.str.len().mean())
    unique_ratio = n_unique / n_values
    if words >= 4 and (n_unique > 200 or unique_ratio > 0.1):
        return ColumnKind.TEXT, f"free text, {words:.1f} words per value on average"
    if unique_ratio > 0.5 and n_unique >= 10 and chars >= 20 and words >= 3:
        return ColumnKind.TEXT, f"free text: mostly unique values of {chars:.0f} characters"
    if n_unique == n_rows and (n_rows >= 10 or _is_id_name(name)):
        return ColumnKind.DROPPED, "identifier-like: a different value in every row"
    if unique_ratio > 0.5 and n_unique >= 20:
        return (
            ColumnKind.DROPPED,
            f"identifier-like: {n_unique} distinct short values in {n_values} rows "
            f"({unique_ratio:.0%} unique)",
        )
    return ColumnKind.CATEGORICAL, f"{n_unique} categories"


def _coerce_numeric(
    name: str, col: pd.Series, values: pd.Series
) -> tuple[ColumnInfo, pd.Series, list[str]]:
    """Mostly-numeric text -> float64; the values that are not numbers become missing."""
    numbers = pd.to_numeric(values.astype(str), errors="coerce")  # spaces around are fine
    bad = values[numbers.isna()]
    converted = numbers.reindex(col.index).astype("float64")
    if bad.empty:
        return _numeric_info(name, converted, "numbers written as text"), converted, []
    examples = ", ".join(repr(v) for v in bad.drop_duplicates().head(3).tolist())
    note = (
        f"column {name!r}: {len(bad)} non-numeric value(s) (e.g. {examples}) set to missing; "
        "the column is numeric. Fix those values in the data if they mean something."
    )
    reason = f"numbers; {len(bad)} non-numeric value(s) set to missing"
    return _numeric_info(name, converted, reason), converted, [note]


def _numeric_info(name: str, col: pd.Series, reason: str) -> ColumnInfo:
    values = col.dropna()
    if values.empty:
        return _info(name, col, ColumnKind.DROPPED, "entirely missing", 0)
    if values.min() == values.max():
        return _info(name, col, ColumnKind.DROPPED, _constant(values), 1)
    n_unique = len(values) - int(values.duplicated().sum())  # faster than nunique on floats
    why = ""
    if n_unique == len(col) and _is_integral(values):
        if values.is_monotonic_increasing or values.is_monotonic_decreasing:
            why = "identifier-like: a different whole number in every row, in order"
        elif _is_id_name(name):
            why = "identifier-like: a different whole number in every row, named like an id"
    elif n_unique >= 0.95 * len(col) and _is_id_name(name) and _is_integral(values):
        why = f"identifier-like: named like an id, {n_unique / len(col):.0%} distinct numbers"
    if why:
        return _info(name, col, ColumnKind.DROPPED, why, n_unique)
    return _info(name, col, ColumnKind.NUMERIC, reason, n_unique)


def _info(name: str, col: pd.Series, kind: ColumnKind, reason: str, n_unique: int) -> ColumnInfo:
    missing = float(col.isna().mean()) if len(col) else 0.0
    return ColumnInfo(
        name=name,
        kind=kind,
        dtype=str(col.dtype),
        n_unique=n_unique,
        missing_fraction=round(missing, 6),
        reason=reason,
    )


def _check_usable(columns: list[ColumnInfo], target: str | None) -> None:
    if any(c.used for c in columns):
        return
    besides = f" besides the target {target!r}" if target else ""
    if not columns:
        raise DataError(f"the table has no input columns{besides}; add the columns to learn from.")
    why = "; ".join(f"{c.name!r}: {c.reason}" for c in columns[:5])
    raise DataError(
        f"no usable input column: every column{besides} was dropped ({why}); add informative "
        "columns."
    )


# --- small predicates -----------------------------------------------------------------------


def _sample(values: pd.Series) -> pd.Series:
    if len(values) <= SAMPLE_SIZE:
        return values
    rng = np.random.default_rng(RANDOM_STATE)
    return values.iloc[np.sort(rng.choice(len(values), SAMPLE_SIZE, replace=False))]


def _is_textual(col: pd.Series) -> bool:
    dtype = col.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _is_nested(value: Any) -> bool:
    return isinstance(value, list | dict | tuple | set)


def _is_boolean_text(values: pd.Series) -> bool:
    tokens = {str(v).strip().lower() for v in values.unique()}
    return len(tokens) == 2 and len(tokens & _TRUE) == 1 and len(tokens & _FALSE) == 1


def _looks_like_dates(text: pd.Series) -> bool:
    """>= 95% of the sample looks like dates and parses as dates."""
    if text.str.contains(_DATE_LIKE).mean() < 0.95:
        return False
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        return False
    return bool(parsed.notna().mean() >= 0.95)


def _is_integral(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    if not pd.api.types.is_float_dtype(values):
        return False
    array = values.dropna().to_numpy(dtype="float64")
    return all(  # the head first: most float columns fail there, fast
        bool(np.isfinite(part).all() and np.equal(np.mod(part, 1), 0).all())
        for part in (array[:1000], array[1000:])
    )


def _is_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.strip()) or _CAMEL_ID.search(name.strip()))


def _constant(values: pd.Series) -> str:
    return f"constant: every value is {_first(values)!r}"


def _first(values: pd.Series) -> Any:
    """The first non-missing value as a plain Python object (1.5, not np.float64(1.5))."""
    return values.dropna().iloc[:1].tolist()[0]
