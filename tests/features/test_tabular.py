"""TableCleaner: every categorical value becomes ``str(value)``, missing ones ``MISSING``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.features.tabular import MISSING, TableCleaner

COLUMNS = {
    "strings": pd.Series(["a", "b", None, "a"], dtype=object),
    "only_strings": pd.Series(["x", "y", "x", "z"], dtype=object),
    "floats": pd.Series([1.0, 2.5, np.nan, 1e20]),
    "ints": pd.Series([3, 1, 2, 3]),
    "nullable_ints": pd.Series(pd.array([1, None, 3, 1], dtype="Int64")),
    "bools": pd.Series([True, False, None, True], dtype=object),
    "mixed": pd.Series(["a", 1, 2.0, np.nan], dtype=object),
    "category": pd.Series(pd.Categorical(["u", None, "v", "u"])),
    "pandas_strings": pd.Series(["p", None, "q", "p"], dtype="string"),
    "dates": pd.Series(pd.to_datetime(["2024-01-02", None, "2024-03-04", "2024-01-02"])),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_categorical_values_become_their_strings(name):
    col = COLUMNS[name]
    frame = pd.DataFrame({name: col})
    out = TableCleaner(categorical=(name,)).fit_transform(frame)[name].to_numpy()
    expected = np.where(col.isna(), MISSING, col.astype(str))
    assert out.dtype == object
    assert list(out) == list(expected)


def test_cleaner_keeps_row_order_and_index():
    frame = pd.DataFrame(
        {"n": ["1", "x", None, "4.5"], "c": ["b", None, "a", "b"]}, index=[10, 3, 7, 1]
    )
    out = TableCleaner(numeric=("n",), categorical=("c",)).fit_transform(frame)
    assert list(out.index) == [10, 3, 7, 1]
    np.testing.assert_array_equal(out["n"].to_numpy(), [1.0, np.nan, np.nan, 4.5])
    assert list(out["c"]) == ["b", MISSING, "a", "b"]


def test_output_columns_follow_get_feature_names_out():
    frame = pd.DataFrame(
        {
            "c": ["x", "y", None],
            "n": [1.0, None, 3.0],
            "b": ["yes", "no", None],
            "d": ["2024-01-01", "2024-02-03 10:00", None],
            "t": ["two words", "", None],
        }
    )
    cleaner = TableCleaner(
        numeric=("n",), boolean=("b",), datetime=("d",), text=("t",), categorical=("c",)
    )
    out = cleaner.fit_transform(frame)
    assert list(out.columns) == list(cleaner.get_feature_names_out())
    assert out["c"].dtype == object and out["n"].dtype == np.float64
    np.testing.assert_array_equal(out["b"].to_numpy(), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(out["t__n_words"].to_numpy(), [2.0, 0.0, 0.0])
