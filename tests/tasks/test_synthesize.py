"""Synthetic tables through the task contract: every metric against a hand-computed case, the
validity of every family's rows, conditions, the bad inputs (one line, exit 2, nothing stored)
and a run end to end (compare, report, result.models[m].sample, mlvsdl sample, serve /sample)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlvsdl.compare import compare
from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.evaluate import synth_metrics as sm
from mlvsdl.families.registry import get_family
from mlvsdl.store import Store
from mlvsdl.tasks import get_task
from mlvsdl.tasks.synthesize import quality_scores
from mlvsdl.types import Task

SYNTH = get_task(Task.SYNTHESIZE)
FAMILIES = ["dummy", "copula", "mixture", "cart", "tvae", "ctgan"]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def people(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Integer ages, a category, a boolean, a number with missing values tied to the others,
    and a binary target."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    city = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    member = rng.random(n) < 0.4
    spend = age * 3.0 + (city == "north") * 40 + rng.normal(0, 10, n)
    spend[rng.random(n) < 0.15] = np.nan
    churn = np.where((age < 35) | member, "yes", "no")
    return pd.DataFrame(
        {"age": age, "city": city, "member": member, "spend": spend, "churn": churn}
    )


# --- metrics, hand-computed ---------------------------------------------------------------------


def test_column_distances_are_ks_and_total_variation():
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", "b"]})
    synth = pd.DataFrame({"x": [3.0, 4.0, 5.0, 6.0], "c": ["a", "b", "b", "b"]})
    got = sm.column_distances(real, synth, ["x"], ["c"])
    assert got["x"] == pytest.approx(0.5)  # the CDFs differ most at 2: 0.5 against 0
    assert got["c"] == pytest.approx(0.25)  # (|0.5 - 0.25| + |0.5 - 0.75|) / 2
    assert sm.total_variation(np.array(["a"]), np.array(["b"])) == 1.0


def test_associations_and_their_difference():
    frame = pd.DataFrame(
        {
            "a": ["x", "x", "y", "y"] * 5,
            "b": ["p", "p", "q", "q"] * 5,  # a function of a: Cramér's V 1
            "c": ["p", "q", "p", "q"] * 5,  # independent of a: V 0
            "n": [1.0, 1.0, 5.0, 5.0] * 5,  # a's groups hold one value each: eta 1
            "m": [4.0, 3.0, 2.0, 1.0] * 5,
        }
    )
    assoc = sm.association_matrix(frame, ["n", "m"], ["a", "b", "c"])
    assert assoc.loc["a", "b"] == pytest.approx(1.0)
    assert assoc.loc["a", "c"] == pytest.approx(0.0)
    assert assoc.loc["a", "n"] == pytest.approx(1.0)
    # Spearman of n and m: ranks 1.5,1.5,3.5,3.5 against 4,3,2,1 (x5): |rho| = 0.894...
    ranks_n = pd.Series(frame["n"]).rank()
    ranks_m = pd.Series(frame["m"]).rank()
    assert assoc.loc["n", "m"] == pytest.approx(abs(np.corrcoef(ranks_n, ranks_m)[0, 1]))
    real = pd.DataFrame([[1, 0.8], [0.8, 1]])
    synth = pd.DataFrame([[1, 0.2], [0.2, 1]])
    assert sm.association_difference(real, synth) == pytest.approx(0.6)


def test_detection_auc_is_at_most_half_for_the_same_rows_and_one_for_separable_rows():
    """The same rows twice: no split tells them apart, and cross-validation, which leaves each
    row's twin (of the other class) in the training folds, scores them at most at chance (the
    fidelity score counts anything below 0.5 as 0.5)."""
    frame = people(200)
    assert sm.detection_auc(frame, frame.copy(), ["age", "spend"], ["city", "churn"], 0) <= 0.5
    shifted = frame.assign(age=frame["age"] + 1000)
    got = sm.detection_auc(frame, shifted, ["age", "spend"], ["city", "churn"], 0)
    assert got == pytest.approx(1.0)


def test_utility_trains_on_one_table_and_scores_on_the_other():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    table = pd.DataFrame({"x": x, "y": np.where(x > 0, "pos", "neg"), "v": 2 * x})
    train, test = table.iloc[:200], table.iloc[200:]
    assert sm.utility(train, test, "y", ["x", "v"], ["y"], 0) == ("roc_auc", 1.0)
    metric, r2 = sm.utility(train, test, "v", ["x", "v"], ["y"], 0)
    assert metric == "r2" and r2 > 0.9  # trees on 200 rows: a staircase of the line
    one_class = train.assign(y="pos")  # a synthesizer that lost a class scores chance
    assert sm.utility(one_class, test, "y", ["x", "v"], ["y"], 0) == ("roc_auc", 0.5)


def test_privacy_distances_by_hand():
    """One number, training range 0..10 (Gower: |a - b| / 10). Synthetic 0 copies a training
    row (distance 0, held-out 0.5: closer to training); synthetic 6 is 0.4 from training (6 to
    10) and 0.1 from held-out (6 to 5): closer to held-out."""
    train = pd.DataFrame({"x": [0.0, 10.0]})
    holdout = pd.DataFrame({"x": [5.0, 9.0]})
    synth = pd.DataFrame({"x": [0.0, 6.0]})
    got = sm.privacy(train, holdout, synth, ["x"], [], seed=0)
    assert got["dcr_train_share"] == pytest.approx(0.5)
    assert got["dcr_median"] == pytest.approx(0.2)  # median of 0 and 0.4
    assert got["dcr_holdout_median"] == pytest.approx(0.3)  # median of 0.5 and 0.1
    assert got["nndr_median"] == pytest.approx((0.0 + 0.4 / 0.6) / 2)  # 0/1 and 0.4/0.6
    assert got["exact_copies"] == 1 and got["exact_copy_share"] == 0.5


def test_privacy_counts_categories_and_missing_values():
    train = pd.DataFrame({"x": [1.0, np.nan], "c": ["a", "b"]})
    holdout = pd.DataFrame({"x": [1.0, 1.0], "c": ["b", "b"]})
    synth = pd.DataFrame({"x": [np.nan, 1.0], "c": ["b", "b"]})
    got = sm.privacy(train, holdout, synth, ["x"], ["c"], seed=0)
    assert got["exact_copies"] == 1  # (missing, b) is training row 2
    # (1, b) is a held-out row exactly and one category away from training row 1: 1 / 2 columns
    assert got["dcr_median"] == pytest.approx(0.25)


def test_quality_of_the_real_rows_themselves():
    frame = people(300)
    categorical = ["city", "member", "churn"]
    got = quality_scores(frame, frame.copy(), ["age", "spend"], categorical, "churn")
    assert got["column_distance"] == 0.0 and got["association_difference"] == 0.0
    assert got["detection_auc"] <= 0.5
    assert got["fidelity"] == pytest.approx(1.0)
    assert got["quality"] == pytest.approx((1.0 + got["utility"]) / 2)


# --- the families' rows -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    frame, schema = infer_schema(people(400), "churn", "synthesize")
    out = {}
    for key in FAMILIES:
        model = get_family(key).build(schema, random_state=0)
        if "model__max_epochs" in model.get_params():
            model.set_params(model__max_epochs=15)
        out[key] = SYNTH.fit(model, frame, None)
    return frame, schema, out


@pytest.mark.parametrize("key", FAMILIES)
def test_every_family_generates_rows_valid_against_the_schema(fitted, key):
    frame, _, models = fitted
    rows = models[key].sample(600, random_state=1)
    assert list(rows.columns) == ["age", "city", "member", "spend", "churn"]
    assert set(rows["city"]) <= {"north", "south", "east"}
    assert set(rows["churn"]) <= {"yes", "no"}
    assert set(rows["member"]) <= {True, False}
    ages = rows["age"].to_numpy()
    assert ages.dtype.kind == "i" and ages.min() >= frame["age"].min()
    assert ages.max() <= frame["age"].max()
    spend = rows["spend"].dropna()
    assert spend.min() >= frame["spend"].min() and spend.max() <= frame["spend"].max()
    if key == "dummy":  # independent marginals keep the missing rate: 15 % (binomial spread)
        assert abs(rows["spend"].isna().mean() - frame["spend"].isna().mean()) < 0.05
    again = models[key].sample(600, random_state=1)
    pd.testing.assert_frame_equal(rows, again)


@pytest.mark.parametrize("key", ["cart", "ctgan"])
def test_conditions_fix_a_column(fitted, key):
    _, _, models = fitted
    rows = models[key].sample(50, condition=["city=east"], random_state=0)
    assert len(rows) == 50 and set(rows["city"]) == {"east"}
    rows = models[key].sample(20, condition={"member": True, "city": "north"}, random_state=0)
    assert set(rows["member"]) == {True} and set(rows["city"]) == {"north"}


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"n": 0}, ConfigError, "--rows must be a whole number"),
        ({"n": 5, "condition": ["town=east"]}, ConfigError, "not a categorical column"),
        ({"n": 5, "condition": ["city=west"]}, ConfigError, "not a value seen in training"),
        ({"n": 5, "condition": ["spend=3"]}, ConfigError, "not a categorical column"),
        ({"n": 5, "condition": ["city"]}, ConfigError, "takes column=value"),
    ],
)
def test_bad_sample_requests_are_one_line_errors(fitted, kwargs, error, words):
    _, _, models = fitted
    with pytest.raises(error, match=words) as info:
        models["copula"].sample(**kwargs)
    assert "\n" not in str(info.value)


def test_copula_keeps_associations_the_marginals_lose(fitted):
    frame, _, models = fitted
    real = sm.association_matrix(frame, ["age", "spend"], ["city"])
    for key, bound in (("copula", 0.15), ("dummy", None)):
        rows = models[key].sample(len(frame), random_state=0)
        got = sm.association_matrix(rows, ["age", "spend"], ["city"])
        gap = abs(got.loc["age", "spend"] - real.loc["age", "spend"])
        if bound is None:
            assert got.loc["age", "spend"] < 0.15 < real.loc["age", "spend"]
        else:
            assert gap < bound


# --- bad input before anything is stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "kwargs", "error", "words"),
    [
        (people(40), {}, DataError, "needs at least 50 rows"),
        (people(), {"target": "nope"}, TargetError, "not a column of the table"),
        (people(), {"label": "churn"}, ConfigError, "not an option of --task synthesize"),
        (people(), {"k": 3}, ConfigError, "--k: not an option"),
        (people().assign(churn="same"), {"target": "churn"}, TargetError, "two distinct"),
    ],
)
def test_bad_synthesize_options_leave_nothing_stored(tmp_path, table, kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        compare(table, task="synthesize", families=["dummy"], store=tmp_path, **kwargs)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "mlvsdl.db").exists() or not Store(tmp_path).db.runs()


# --- end to end ---------------------------------------------------------------------------------


def test_compare_sample_report_and_serve(tmp_path, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from mlvsdl.serve import create_app
    from tests.test_cli import run_cli

    table = people(500)
    families = ["dummy", "copula", "cart", "tvae"]
    result = compare(
        table, "churn", task="synthesize", families=families, store=tmp_path, time_budget=120
    )
    assert result.metric == "quality"
    board = result.leaderboard.set_index("model")
    assert (board["status"] == "completed").all(), board["note"]
    # churn follows age and membership: the marginals lose it, the copula and CART keep some
    assert board.loc["cart", "val_score"] > board.loc["dummy", "val_score"]
    assert board.loc["copula", "val_score"] > board.loc["dummy", "val_score"]
    stored = {
        m["metric"] for m in Store(tmp_path).db.metrics(result.run_id) if m["candidate"] == "cart"
    }
    assert set(SYNTH.metrics) <= stored

    analysis = json.loads((tmp_path / "runs" / result.run_id / "analysis.json").read_text())
    assert analysis["errors"] == {}
    privacy = analysis["synth_models"]["models"]["dummy"]["privacy"]
    assert 0.3 < privacy["dcr_train_share"] < 0.7  # the marginals never saw a row whole
    assert analysis["synth_models"]["train_on_real"]["metric"] == "roc_auc"
    assert set(analysis["synth_marginals"]["models"]) == {result.best_model_name, "tvae"} or (
        len(analysis["synth_marginals"]["models"]) == 2
    )
    html = result.report_path.read_text()
    for anchor in ("synth_scores", "synth_marginals", "synth_associations", "synth_privacy"):
        assert f'id="{anchor}"' in html
    assert "could not be drawn" not in html

    rows = result.models["tvae"].sample(7, random_state=3)
    assert len(rows) == 7 and list(rows.columns) == list(table.columns)

    out = tmp_path / "synth.csv"
    code, _, err = run_cli(
        monkeypatch, capsys, "sample", result.run_id, "--rows", "25", "--store", str(tmp_path),
        "--condition", "city=south", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(out)
    assert len(written) == 25 and set(written["city"]) == {"south"}
    for args, words in (
        (["--rows", "0"], "--rows must be"),
        (["--rows", "3", "--condition", "city=west"], "not a value seen in training"),
        (["--rows", "3", "--model", "ctgan"], "has no fitted model 'ctgan'"),
    ):
        code, _, err = run_cli(
            monkeypatch, capsys, "sample", result.run_id, "--store", str(tmp_path), *args
        )
        assert code == 2 and words in err and err.count("\n") == 1, err

    client = TestClient(create_app(result.run_id, tmp_path, model="cart"))
    got = client.get("/sample", params={"rows": 4, "condition": "churn=yes", "seed": 0})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["model"] == "cart" and len(body["rows"]) == 4
    assert all(r["churn"] == "yes" for r in body["rows"])
    assert client.get("/sample", params={"rows": 0}).status_code == 422
    assert client.get("/sample", params={"rows": 2, "condition": "x=1"}).status_code == 422


def test_sample_refuses_a_run_of_another_task(tmp_path, monkeypatch, capsys):
    from tests.conftest import make_table
    from tests.test_cli import run_cli

    result = compare(make_table(), "y", families=["dummy"], store=tmp_path)
    code, _, err = run_cli(
        monkeypatch, capsys, "sample", result.run_id, "--rows", "3", "--store", str(tmp_path)
    )
    assert code == 2 and "generates rows from a --task synthesize run" in err
