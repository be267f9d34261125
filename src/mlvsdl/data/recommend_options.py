"""The inputs of ``--task recommend``, checked before anything is stored.

A recommendation run reads an interactions table: one row per (user, item) interaction, named by
``--user`` and ``--item``; ``--rating`` (numbers) makes it **explicit** (predict the rating),
without it the run is **implicit** (rank the items a user has not interacted with yet);
``--time`` (numbers or dates) orders each user's interactions for the leave-last-out split.

What this module decides, and states in the schema's notes:

* ids are read as text (``7`` and ``7.0`` are the same user), so a file, a request and a
  prediction name them alike; rows without a user or an item are dropped;
* a (user, item) pair seen more than once keeps its newest row (the last by time, else the
  last in the file), so no interaction can be both in training and in the test rows;
* users with fewer than ``MIN_USER_ROWS`` interactions cannot give a test and a validation
  interaction and keep one to learn from: they stay in training only (counted in a note);
* every other column is unused (listed as dropped, with the reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError, DataError
from mlvsdl.types import ColumnInfo, ColumnKind, Modality, Schema, Task

__all__ = [
    "MIN_USER_ROWS",
    "id_strings",
    "recommend_schema",
    "refuse_recommend_options",
    "time_values",
]

MIN_USER_ROWS = 3  # one test, one validation and one training interaction


def id_strings(values: pd.Series) -> pd.Series:
    """Ids as text: whole numbers without a decimal point (``7.0`` -> ``"7"``), text stripped;
    missing values stay missing."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if len(whole) and bool(np.equal(np.mod(whole.to_numpy(), 1), 0).all()):
            return values.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    return values.map(lambda v: None if pd.isna(v) else str(v).strip()).astype(object)


def time_values(values: pd.Series, name: str) -> np.ndarray:
    """The time column as float seconds (numbers as they are; dates parsed, in seconds)."""
    if pd.api.types.is_bool_dtype(values):
        raise ConfigError(f"--time {name!r} holds true/false values; name a time or date column.")
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():
            return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
        if parsed.notna().sum() < values.notna().sum():
            bad = values[parsed.isna() & values.notna()].iloc[0]
            raise ConfigError(
                f"--time {name!r} has a value that is neither a number nor a date ({bad!r}); "
                "fix it or name another column."
            )
    stamps = pd.DatetimeIndex(parsed)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    seconds = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    return np.asarray(seconds, dtype=np.float64)


def refuse_recommend_options(task: Task | None, **given: Any) -> None:
    """``--user``, ``--item``, ``--rating`` (and the feature tables) belong to
    ``--task recommend``; a one-line error for any other task."""
    named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if named:
        raise ConfigError(
            f"{', '.join(named)} belong(s) to --task recommend, not to the "
            f"{task or 'prediction'} task; leave them out or pass --task recommend."
        )


def _column(frame: pd.DataFrame, name: Any, option: str) -> str:
    if name is None:
        raise ConfigError(
            f"--task recommend needs {option} COLUMN (the {option[2:]} of each interaction)."
        )
    if str(name) not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:8]))
        raise ConfigError(
            f"{option} column {name!r} not found; the table has: {shown}. Pass one of them."
        )
    return str(name)


def recommend_schema(
    frame: pd.DataFrame,
    *,
    target: str | None,
    user: str | None,
    item: str | None,
    rating: str | None,
    time: str | None,
    modality: Any = None,
    **others: Any,
) -> tuple[pd.DataFrame, Schema]:
    """The cleaned interactions (ids as text, time as seconds, duplicates resolved) and the
    Schema: ``target`` is the rating column (explicit) or None (implicit); ``options`` hold
    ``user``, ``item``, ``rating``, ``time`` and ``mode``."""
    given = [f"--{k.replace('_', '-')}" for k, v in others.items() if v is not None]
    if target is not None:
        given.insert(0, "--target")
    if given:
        hint = " (the rating column is --rating)" if target is not None else ""
        raise ConfigError(
            f"{', '.join(given)} do(es) not apply to --task recommend{hint}; leave it out."
        )
    if modality is not None and str(modality).strip().lower() != "tabular":
        raise ConfigError("--task recommend reads a table of interactions; leave out --modality.")
    user = _column(frame, user, "--user")
    item = _column(frame, item, "--item")
    named = [c for c in (user, item, rating, time) if c is not None]
    if len(set(named)) < len(named):
        raise ConfigError("--user, --item, --rating and --time must name different columns.")
    notes: list[str] = []
    frame = frame.copy()
    frame[user], frame[item] = id_strings(frame[user]), id_strings(frame[item])
    if rating is not None:
        rating = _column(frame, rating, "--rating")
        values = pd.to_numeric(frame[rating], errors="coerce")
        bad = frame[rating][values.isna() & frame[rating].notna()]
        if len(bad):
            raise DataError(
                f"--rating {rating!r} has values that are not numbers (e.g. {bad.iloc[0]!r}); "
                "give numeric ratings, or leave --rating out for implicit feedback."
            )
        frame[rating] = values.astype(np.float64)
    if time is not None:
        time = _column(frame, time, "--time")
        frame[time] = time_values(frame[time], time)
    needed = [c for c in (user, item, rating, time) if c is not None]
    missing = frame[needed].isna().any(axis=1).to_numpy()
    if missing.any():
        notes.append(
            f"dropped {int(missing.sum())} of {len(frame)} rows with a missing "
            f"{', '.join(needed)} value."
        )
        frame = frame.loc[~missing]
    if len(frame) == 0:
        raise DataError("no interaction has both a user and an item; check --user and --item.")
    n_users, n_items = frame[user].nunique(), frame[item].nunique()
    if n_users < 2 or n_items < 2:
        which, column = ("user", user) if n_users < 2 else ("item", item)
        raise DataError(
            f"the interactions have only one {which} ({frame[column].iloc[0]!r}); "
            "recommendations need at least two users and two items."
        )
    order = np.argsort(frame[time].to_numpy(), kind="stable") if time else np.arange(len(frame))
    ordered = frame.iloc[order]
    duplicated = ordered.duplicated([user, item], keep="last").to_numpy()
    if duplicated.any():
        notes.append(
            f"{int(duplicated.sum())} repeated (user, item) interactions: the newest of each "
            "pair kept, so none is both learned from and tested."
        )
        frame = ordered.loc[~duplicated].sort_index()
    frame = frame.reset_index(drop=True)
    counts = frame[user].value_counts()
    few = int((counts < MIN_USER_ROWS).sum())
    if few == len(counts):
        raise DataError(
            f"every user has fewer than {MIN_USER_ROWS} interactions, so none can be tested "
            "(one test, one validation and one training interaction each); add interactions."
        )
    if few:
        notes.append(
            f"{few} of {len(counts)} users have fewer than {MIN_USER_ROWS} interactions: they "
            "are kept in training only (never validated or tested)."
        )
    roles = {user: "the user", item: "the item", rating: "the rating", time: "the time"}
    columns = []
    for name in frame.columns:
        col = frame[name]
        if name in (user, item):
            kind, why = ColumnKind.CATEGORICAL, f"{roles[name]} ({col.nunique()} distinct)"
        elif name == time:
            kind, why = ColumnKind.NUMERIC, "the time of each interaction (seconds)"
        elif name == rating:
            continue  # the target
        else:
            kind, why = ColumnKind.DROPPED, "not used by --task recommend"
        columns.append(
            ColumnInfo(
                name=str(name),
                kind=kind,
                dtype=str(col.dtype),
                n_unique=int(col.nunique()),
                missing_fraction=0.0,
                reason=why,
            )
        )
    options = {
        "user": user,
        "item": item,
        "rating": rating,
        "time": time,
        "mode": "explicit" if rating else "implicit",
        "n_users": int(n_users),
        "n_items": int(n_items),
    }
    schema = Schema(
        target=rating,
        task=Task.RECOMMEND,
        columns=tuple(columns),
        modality=Modality.TABULAR,
        n_rows=len(frame),
        notes=tuple(notes),
        options=options,
    )
    return frame, schema
