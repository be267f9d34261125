"""--test FILE: the user's rows are the test split (validation folds from the training data
alone); --refit-all: the recommended model refitted on every row, stored beside it, unranked."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mlvsdl.compare import compare
from tests.conftest import make_table
from tests.test_cli import _runs_in, run_cli

FAMILIES = ["dummy", "linear"]


@pytest.fixture(scope="module")
def train_test() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_table(n=160, seed=0), make_table(n=60, seed=3)


@pytest.fixture(scope="module")
def refitted(tmp_path_factory, train_test):
    train, test = train_test
    store = tmp_path_factory.mktemp("testfile") / "store"
    result = compare(train, "y", test=test, refit_all=True, families=FAMILIES, cv=3, store=store)
    return store, result


def test_the_given_rows_are_the_test_split(refitted, train_test):
    _, result = refitted
    test = train_test[1]
    assert (result.settings["n_train"], result.settings["n_test"]) == (160, 60)
    board = result.leaderboard.set_index("model")
    proba = result.models["linear"].predict_proba(test.drop(columns="y"))[:, 1]
    expected = roc_auc_score(test["y"] == "yes", proba)
    assert board.loc["linear", "test_score"] == pytest.approx(expected, rel=1e-9)
    assert board.loc["linear", "n_train_rows"] == 160  # refitted on the training file only


def test_refit_all_is_stored_beside_the_tested_model_and_never_ranked(refitted, train_test):
    _, result = refitted
    board = result.leaderboard.set_index("model")
    name = result.best_model_name
    assert name == "linear" and f"{name}_all" in result.models
    refit = board.loc[f"{name}_all"]
    assert pd.isna(refit["rank"]) and math.isnan(refit["test_score"])
    assert math.isnan(refit["val_score"]) and refit["n_train_rows"] == 220
    assert "refitted on all 220 rows" in refit["note"]
    assert list(result.leaderboard["model"]).index(f"{name}_all") > list(
        result.leaderboard["model"]
    ).index("dummy")  # below every tested model
    new = train_test[1].drop(columns="y").head(5)
    predictions = result.predict(new, model=f"{name}_all")
    assert set(predictions["prediction"]) <= {"yes", "no"}


def test_cli_test_file_and_refit_all(monkeypatch, capsys, tmp_path, train_test):
    train, test = train_test
    store = tmp_path / "store"
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    args = ["compare", str(tmp_path / "train.csv"), "--target", "y", "--store", str(store)]
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        *args,
        "--test",
        str(tmp_path / "test.csv"),
        "--refit-all",
        "--families",
        "dummy,linear",
        "--cv",
        "2",
    )
    assert code == 0, err
    assert "linear_all" in out and "refitted on all 220 rows" in " ".join(out.split())
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(tmp_path / "test.csv"),
        "--model",
        "linear_all",
        "--store",
        str(store),
    )
    assert code == 0 and out.startswith("prediction,"), err


BAD_TEST_FILES = {
    "missing column": (lambda t: t.drop(columns=["colour"]), "lacks column(s) 'colour'"),
    "unseen class": (lambda t: t.assign(y=t["y"] + "."), "'yes.'"),
    "no labelled rows": (lambda t: t.assign(y=np.nan), "test file"),
}


@pytest.mark.parametrize("case", sorted(BAD_TEST_FILES))
def test_a_bad_test_file_is_one_line_exit_2_and_no_run(
    case, monkeypatch, capsys, tmp_path, train_test
):
    train, test = train_test
    change, words = BAD_TEST_FILES[case]
    store = tmp_path / "store"
    train.to_csv(tmp_path / "train.csv", index=False)
    change(test).to_csv(tmp_path / "test.csv", index=False)
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "compare",
        str(tmp_path / "train.csv"),
        "--target",
        "y",
        "--test",
        str(tmp_path / "test.csv"),
        "--families",
        "dummy",
        "--store",
        str(store),
    )
    message = err.strip()
    assert code == 2 and message.startswith("error:") and len(message.splitlines()) == 1, err
    assert words in message
    assert _runs_in(store) == 0
