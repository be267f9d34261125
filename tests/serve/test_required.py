"""A record without the fields the model always had in training is refused (422 naming them)
unless the server allows missing fields; then each answer lists what was imputed. A number sent
for a categorical field is read as that category's text, and flagged when training never had it."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlvsdl.compare import compare
from mlvsdl.serve import create_app
from tests.conftest import make_table
from tests.serve.conftest import assert_same_answers, records

NEVER_MISSING = {"x1", "colour", "flag", "when"}  # x2 has missing values in make_table


@pytest.fixture(scope="module")
def lenient(stored_run):
    store, run_id, _ = stored_run
    with TestClient(create_app(run_id, store, allow_missing=True)) as client:
        yield client


def _missing_fields(answer) -> set[str]:
    assert answer.status_code == 422, answer.text
    return {e["loc"][-1] for e in answer.json()["detail"] if e["msg"].startswith("missing")}


def test_an_almost_empty_record_is_refused_naming_the_missing_fields(client):
    answer = client.post("/predict", json={"x1": 10})
    assert _missing_fields(answer) == NEVER_MISSING - {"x1"}
    assert "--allow-missing" in answer.json()["detail"][0]["msg"]
    assert _missing_fields(client.post("/explain", json={"x1": 10})) == NEVER_MISSING - {"x1"}


def test_null_and_empty_csv_cells_count_as_missing(client, stored_run):
    _, _, frame = stored_run
    row = records(frame.head(1))[0]
    assert _missing_fields(client.post("/predict", json={**row, "colour": None})) == {"colour"}
    csv_text = frame.head(2).assign(when="").to_csv(index=False)
    answer = client.post("/predict", content=csv_text, headers={"content-type": "text/csv"})
    locs = [e["loc"] for e in answer.json()["detail"]]
    assert locs == [["body", 0, "when"], ["body", 1, "when"]]
    without_x2 = {k: v for k, v in row.items() if k != "x2"}  # sometimes missing in training
    assert client.post("/predict", json=without_x2).status_code == 200


def test_invalid_values_and_missing_fields_are_reported_together(client):
    answer = client.post("/predict", json=[{"x1": "abc", "colour": "red"}])
    detail = {tuple(e["loc"]): e["msg"] for e in answer.json()["detail"]}
    assert answer.status_code == 422
    assert "expected a number" in detail[("body", 0, "x1")]
    assert {("body", 0, "flag"), ("body", 0, "when")} <= set(detail)


def test_schema_says_which_fields_are_required(client, lenient):
    fields = {f["name"]: f["required"] for f in client.get("/schema").json()["fields"]}
    assert {name for name, required in fields.items() if required} == NEVER_MISSING
    lenient_schema = lenient.get("/schema").json()
    assert lenient_schema["allow_missing"] is True
    assert not any(f["required"] for f in lenient_schema["fields"])


def test_allow_missing_answers_and_lists_the_imputed_fields(client, lenient, stored_run):
    _, _, frame = stored_run
    body = lenient.post("/predict", json=[{"x1": 10}, records(frame.head(1))[0]]).json()
    partial, full = body["predictions"]
    assert sorted(partial["imputed"]) == sorted(NEVER_MISSING - {"x1"})
    assert "imputed" not in full
    strict = client.post("/predict", json=records(frame.head(1))).json()["predictions"]
    assert_same_answers([full], strict)
    explained = lenient.post("/explain", json={"x1": 10}).json()
    assert sorted(explained["imputed"]) == sorted(NEVER_MISSING - {"x1"})


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """A run whose categorical 'size' holds the texts '1', '2' and 'XL'."""
    store = tmp_path_factory.mktemp("sized") / "store"
    frame = make_table(n=160, seed=1)
    frame["size"] = np.random.default_rng(1).choice(["1", "2", "XL"], size=len(frame))
    result = compare(frame, "y", families=["dummy", "linear"], cv=2, store=store)
    with TestClient(create_app(result.run_id, store, model="linear")) as client:
        yield client, frame.drop(columns="y")


def test_a_number_for_a_category_is_accepted_only_as_a_training_category(sized):
    client, frame = sized
    row = records(frame.head(1))[0]
    as_text = client.post("/predict", json={**row, "size": "2"}).json()
    as_number = client.post("/predict", json={**row, "size": 2}).json()
    assert "warnings" not in as_number
    assert_same_answers(as_number["predictions"], as_text["predictions"])
    unseen = client.post("/predict", json={**row, "size": 7}).json()
    assert unseen["warnings"] == ["size='7' was not seen in training; read as unknown"]
    decimal = client.post("/predict", json={**row, "size": 2.5}).json()
    assert decimal["warnings"] == ["size='2.5' was not seen in training; read as unknown"]
