"""Fidelity, utility and privacy of synthetic rows, from their definitions.

Every function takes raw frames (real rows, synthetic rows) and the generated columns split into
numeric and categorical (booleans count as categorical). Written directly from the definitions
SDMetrics and synthcity use (``sdmetrics`` itself is MIT-licensed but pulls a plotting stack;
these are a few lines each):

* ``column_distances`` — per column, the Kolmogorov-Smirnov statistic of the numbers (missing
  values left out) or the total variation distance of the categories (missing is a category);
* ``association_difference`` — the mean absolute difference, over every pair of columns, of an
  association in [0, 1]: |Spearman correlation| for two numbers, bias-uncorrected Cramér's V for
  two categorical columns, the correlation ratio (eta) for a number and a category;
* ``detection_auc`` — ROC AUC of a LightGBM classifier telling real from synthetic rows, from
  its out-of-fold probabilities under stratified 3-fold cross-validation (0.5: indistinguishable);
* ``utility`` — train on synthetic, test on real: a LightGBM fitted on the synthetic rows to
  predict a column from the others, scored on real rows (binary: ROC AUC; more classes: accuracy;
  numbers: R²) — the same function fitted on real training rows gives train-on-real;
* ``privacy`` — distances in Gower's metric (numbers scaled by their training range, categories
  0/1, a mean over columns): the share of synthetic rows closer to a training row than to any
  held-out row (ties count half; 0.5 is ideal with as many training as held-out rows), the
  median distance to the closest record, the median nearest-neighbour distance ratio (closest
  over second closest training row), and exact copies of training rows.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, spearmanr
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors

from mlvsdl.features.tabular import MISSING

__all__ = [
    "association_difference",
    "association_matrix",
    "column_distances",
    "detection_auc",
    "privacy",
    "total_variation",
    "utility",
]

DETECT_ROWS = 2_000  # rows of each side the detection classifier sees, at most
UTILITY_ROWS = 5_000  # training rows of a utility model, at most
LGBM = {"n_estimators": 100, "num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "n_jobs": 1}


def _keys(values: pd.Series) -> np.ndarray:
    out = values.astype(object).where(values.notna(), MISSING)
    return np.asarray([v if isinstance(v, str) else str(v) for v in out], dtype=object)


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance between the category frequencies of ``a`` and ``b``."""
    pa = pd.Series(a).value_counts(normalize=True)
    pb = pd.Series(b).value_counts(normalize=True)
    both = pa.index.union(pb.index)
    return float(
        0.5 * np.abs(pa.reindex(both, fill_value=0) - pb.reindex(both, fill_value=0)).sum()
    )


def column_distances(
    real: pd.DataFrame, synth: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, float]:
    """Per column: KS statistic (numbers) or total variation distance (categories)."""
    out: dict[str, float] = {}
    for name in numeric:
        a, b = _numbers(real[name]), _numbers(synth[name])
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) and len(b):  # the statistic; "asymp" only names how a p-value would be had
            out[name] = float(ks_2samp(a, b, method="asymp").statistic)
        else:  # one side has no number at all: as far apart as can be, unless both lack them
            out[name] = float(len(a) != len(b))
    for name in categorical:
        out[name] = total_variation(_keys(real[name]), _keys(synth[name]))
    return out


def _codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(keys)
    return codes.astype(np.int64), len(uniques)


def _cramers_v(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> float:
    """Bias-uncorrected Cramér's V of two coded columns (codes, number of categories)."""
    (ca, ka), (cb, kb) = a, b
    if min(ka, kb) < 2:
        return 0.0
    table = np.bincount(ca * kb + cb, minlength=ka * kb).reshape(ka, kb).astype(np.float64)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(ka, kb) - 1))))


def _eta(categories: tuple[np.ndarray, int], values: np.ndarray) -> float:
    """The correlation ratio: the share of a number's spread between a category's groups."""
    codes, k = categories
    ok = np.isfinite(values)
    codes, values = codes[ok], values[ok]
    if len(values) < 2 or values.var() == 0:
        return 0.0
    counts = np.bincount(codes, minlength=k)
    sums = np.bincount(codes, weights=values, minlength=k)
    means = np.divide(sums, counts, out=np.zeros(k), where=counts > 0)
    between = float((counts * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(between / (values.var() * len(values))))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return 0.0
    return float(abs(spearmanr(a[ok], b[ok]).statistic))


def association_matrix(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> pd.DataFrame:
    """Associations in [0, 1] between every pair of columns (see the module docstring)."""
    columns = [*numeric, *categorical]
    values = {c: _numbers(frame[c]) for c in numeric}
    coded = {c: _codes(_keys(frame[c])) for c in categorical}
    out = np.eye(len(columns))
    for (i, a), (j, b) in itertools.combinations(enumerate(columns), 2):
        if a in values and b in values:
            v = _spearman(values[a], values[b])
        elif a in values:
            v = _eta(coded[b], values[a])
        elif b in values:
            v = _eta(coded[a], values[b])
        else:
            v = _cramers_v(coded[a], coded[b])
        out[i, j] = out[j, i] = v
    return pd.DataFrame(out, index=columns, columns=columns)


def association_difference(real_assoc: pd.DataFrame, synth_assoc: pd.DataFrame) -> float:
    """Mean |real - synthetic| association over every pair of columns (0 with one column)."""
    n = len(real_assoc)
    if n < 2:
        return 0.0
    upper = np.triu_indices(n, k=1)
    return float(np.abs(real_assoc.to_numpy()[upper] - synth_assoc.to_numpy()[upper]).mean())


def _lgbm_frame(frames: list[pd.DataFrame], numeric: list[str], categorical: list[str]):
    """The frames stacked for LightGBM: numbers as floats, categories as one shared category."""
    joined = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame({c: _numbers(joined[c]) for c in numeric})
    for c in categorical:
        out[c] = pd.Categorical(_keys(joined[c]))
    return out


def detection_auc(
    real: pd.DataFrame, synth: pd.DataFrame, numeric: list[str], categorical: list[str], seed: int
) -> float:
    """ROC AUC of real-vs-synthetic from out-of-fold LightGBM probabilities."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synth), DETECT_ROWS)
    real = real.iloc[np.sort(rng.choice(len(real), n, replace=False))]
    synth = synth.iloc[np.sort(rng.choice(len(synth), n, replace=False))]
    X = _lgbm_frame([real, synth], numeric, categorical)
    y = np.r_[np.ones(n), np.zeros(n)]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    proba = np.zeros(len(y))
    for fit_rows, test_rows in folds.split(X, y):
        model = lgb.LGBMClassifier(**LGBM, min_child_samples=5, random_state=seed)
        model.fit(X.iloc[fit_rows], y[fit_rows])
        proba[test_rows] = model.predict_proba(X.iloc[test_rows])[:, 1]
    return float(roc_auc_score(y, proba))


def utility(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    numeric: list[str],
    categorical: list[str],
    seed: int,
) -> tuple[str, float]:
    """(metric, score) of a LightGBM fitted on ``train`` to predict ``target``, on ``test``."""
    if len(train) > UTILITY_ROWS:
        train = train.iloc[
            np.sort(np.random.default_rng(seed).choice(len(train), UTILITY_ROWS, replace=False))
        ]
    features = [c for c in [*numeric, *categorical] if c != target]
    both = _lgbm_frame(
        [train, test], [c for c in numeric if c != target], [c for c in categorical if c != target]
    )
    X_fit, X_test = both.iloc[: len(train)][features], both.iloc[len(train) :][features]
    if target in numeric:
        y_fit, y_test = _numbers(train[target]), _numbers(test[target])
        fit_ok, test_ok = np.isfinite(y_fit), np.isfinite(y_test)
        if fit_ok.sum() < 2 or test_ok.sum() < 2:
            return "r2", 0.0
        model = lgb.LGBMRegressor(**LGBM, random_state=seed).fit(X_fit[fit_ok], y_fit[fit_ok])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "r2", float(r2_score(y_test[test_ok], model.predict(X_test[test_ok])))
    y_fit, y_test = _keys(train[target]), _keys(test[target])
    classes = np.unique(np.r_[y_fit, y_test])
    binary = len(classes) == 2
    metric = "roc_auc" if binary else "accuracy"
    if len(np.unique(y_fit)) < 2:  # the synthetic rows hold one class: chance at best
        majority = np.full(len(y_test), y_fit[0])
        return metric, 0.5 if binary else float(accuracy_score(y_test, majority))
    model = lgb.LGBMClassifier(**LGBM, random_state=seed).fit(X_fit, y_fit)
    if not binary:
        return metric, float(accuracy_score(y_test, model.predict(X_test)))
    if len(np.unique(y_test)) < 2:
        return metric, float("nan")
    positive = classes[1]
    column = list(model.classes_).index(positive) if positive in model.classes_ else None
    score = model.predict_proba(X_test)[:, column] if column is not None else np.zeros(len(X_test))
    return metric, float(roc_auc_score(y_test == positive, score))


def gower_space(reference: pd.DataFrame, numeric: list[str], categorical: list[str]) -> Any:
    """A function mapping frames to vectors whose Manhattan distance, divided by the number of
    columns, is Gower's distance (ranges and categories from ``reference``)."""
    lows = {c: np.nanmin(_numbers(reference[c])) for c in numeric}
    spans = {c: (np.nanmax(_numbers(reference[c])) - lows[c]) or 1.0 for c in numeric}
    levels = {c: sorted(set(_keys(reference[c]))) for c in categorical}
    width = max(len(numeric) + len(categorical), 1)

    def embed(frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in numeric:
            x = (_numbers(frame[c]) - lows[c]) / spans[c]
            missing = ~np.isfinite(x)
            parts += [np.where(missing, 0.0, x), missing.astype(float)]  # missing vs a number: 1
        for c in categorical:
            keys = _keys(frame[c])
            onehot = np.column_stack([keys == v for v in levels[c]] + [~np.isin(keys, levels[c])])
            parts.append(onehot.astype(float) * 0.5)  # two entries differ: distance 1
        return np.column_stack(parts) / width if parts else np.zeros((len(frame), 0))

    return embed


def privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synth: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    seed: int,
) -> dict[str, float]:
    """Distances of synthetic rows to training and held-out rows (see the module docstring);
    ``train`` is cut to as many rows as ``holdout`` for the closer-to-training share."""
    rng = np.random.default_rng(seed)
    embed = gower_space(train, numeric, categorical)
    train_keys = {tuple(r) for r in _row_keys(train, numeric, categorical)}
    copies = np.array([tuple(r) in train_keys for r in _row_keys(synth, numeric, categorical)])
    S, T, H = embed(synth), embed(train), embed(holdout)
    d_train, _ = (
        NearestNeighbors(n_neighbors=min(2, len(T)), metric="manhattan").fit(T).kneighbors(S)
    )
    equal = T[np.sort(rng.choice(len(T), size=min(len(T), len(H)), replace=False))]
    d_equal = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(equal).kneighbors(S)[0][:, 0]
    d_hold = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(H).kneighbors(S)[0][:, 0]
    closer = np.where(d_equal < d_hold, 1.0, np.where(d_equal == d_hold, 0.5, 0.0))
    if d_train.shape[1] > 1:
        second = d_train[:, 1]
        ratio = np.where(second > 0, d_train[:, 0] / np.where(second > 0, second, 1.0), 1.0)
    else:
        ratio = np.ones(len(S))
    return {
        "dcr_train_share": float(closer.mean()),
        "dcr_median": float(np.median(d_train[:, 0])),
        "dcr_holdout_median": float(np.median(d_hold)),
        "nndr_median": float(np.median(ratio)),
        "exact_copies": float(copies.sum()),
        "exact_copy_share": float(copies.mean()),
    }


def _row_keys(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> np.ndarray:
    """Each row as comparable keys: numbers as floats (39 and 39.0 alike), categories as text."""
    parts = [
        np.asarray([repr(float(v)) for v in _numbers(frame[c])], dtype=object) for c in numeric
    ]
    parts += [_keys(frame[c]) for c in categorical]
    return np.column_stack(parts) if parts else np.zeros((len(frame), 0))
