"""The HTTP API: every endpoint, every input form, every refusal (TestClient, no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlvsdl.errors import ConfigError, StoreError
from mlvsdl.result import load_run, predict_frame
from mlvsdl.serve import create_app
from mlvsdl.serve.server import check_binding
from tests.serve.conftest import SERVED_ATOL, SERVED_RTOL, assert_same_answers, records


def test_health_models_and_schema(client, stored_run):
    _, run_id, frame = stored_run
    assert client.get("/health").json() == {"status": "ok"}
    models = client.get("/models").json()
    assert models["run_id"] == run_id
    assert models["served"] == models["models"][0]["model"]  # the best by default
    assert {m["model"] for m in models["models"]} == {"dummy", "linear"}
    schema = client.get("/schema").json()
    assert [f["name"] for f in schema["fields"]] == list(frame.columns)
    colour = next(f for f in schema["fields"] if f["name"] == "colour")
    assert colour["levels"] == ["blue", "green", "red"] and colour["widget"] == "category"
    assert schema["classes"] == ["no", "yes"] and schema["explain"] is True
    assert "y" in schema["ignored"]


def test_json_predictions_match_the_in_process_model(client, stored_run):
    store, run_id, frame = stored_run
    result = load_run(run_id, store)
    served = client.get("/models").json()["served"]
    expected = predict_frame(result.models[served], result.schema, frame.head(25))
    body = client.post("/predict", json=records(frame.head(25))).json()
    assert body["model"] == served
    got = body["predictions"]
    assert [p["prediction"] for p in got] == expected["prediction"].tolist()
    np.testing.assert_allclose(
        [p["probabilities"]["yes"] for p in got],
        expected["proba_yes"],
        rtol=SERVED_RTOL,
        atol=SERVED_ATOL,
    )
    one = client.post("/predict", json=records(frame.head(1))[0]).json()["predictions"]
    assert_same_answers(one, got[:1])  # one record takes the fast path, 25 the pipeline


def test_csv_multipart_and_csv_answers(client, stored_run):
    _, _, frame = stored_run
    csv_text = frame.head(5).to_csv(index=False)
    by_json = client.post("/predict", json=records(frame.head(5))).json()["predictions"]
    by_csv = client.post("/predict", content=csv_text, headers={"content-type": "text/csv"}).json()[
        "predictions"
    ]
    by_file = client.post("/predict", files={"file": ("rows.csv", csv_text)}).json()
    assert_same_answers(by_csv, by_json)
    assert_same_answers(by_file["predictions"], by_json)
    answer = client.post("/predict", json=records(frame.head(2)), headers={"accept": "text/csv"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines()[0] == "prediction,proba_no,proba_yes"
    assert len(answer.text.splitlines()) == 3


def test_invalid_fields_get_422_with_a_message_per_field(client):
    row = {"x1": "abc", "flag": "maybe", "colour": "red", "when": "2024-01-01", "x9": 1}
    answer = client.post("/predict", json=row)
    assert answer.status_code == 422
    detail = {tuple(e["loc"]): e["msg"] for e in answer.json()["detail"]}
    assert set(detail) == {("body", "x1"), ("body", "flag"), ("body", "x9")}
    assert "expected a number" in detail[("body", "x1")]


def test_unseen_category_is_answered_with_a_warning(client, stored_run):
    row = {**records(stored_run[2].head(1))[0], "colour": "purple"}
    body = client.post("/predict", json=row).json()
    assert len(body["predictions"]) == 1
    assert body["warnings"] == ["colour='purple' was not seen in training; read as unknown"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 422),
        (b"", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"a=1", "application/x-www-form-urlencoded", 415),
        (b"<x/>", "application/xml", 415),
        (b"x1,colour\n1,red\n", "text/csv", 422),  # flag and when are required
        (b"x1,colour,flag,when\n1,red,true,2024-01-01\n", "text/csv", 200),
        (b"\x00\xff\xfe garbage", "text/csv", 422),
        (b"--b\r\nbroken", "multipart/form-data; boundary=b", 422),
        (b"x1\n1\n", "multipart/form-data", 400),  # no boundary
    ],
)
def test_malformed_requests_are_answered(client, content, content_type, status):
    answer = client.post("/predict", content=content, headers={"content-type": content_type})
    assert answer.status_code == status, answer.text
    assert "detail" in answer.json() or status == 200


def test_multipart_without_a_file_field(client):
    answer = client.post("/predict", data={"other": "1"}, files={"x": ("a.txt", b"1")})
    assert answer.status_code == 422
    assert "'file'" in answer.json()["detail"]


def test_oversized_bodies_get_413(stored_run):
    store, run_id, frame = stored_run
    small = TestClient(create_app(run_id, store, max_body_bytes=1000))
    big = json.dumps([{"x1": 1.0}] * 200).encode()
    answer = small.post("/predict", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "limit of 1,000 bytes" in answer.json()["detail"]
    chunked = small.post(
        "/predict",
        content=iter([big[:600], big[600:]]),  # no Content-Length: counted while read
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413
    assert small.post("/predict", json=records(frame.head(1))[0]).status_code == 200


def test_explain_gives_a_contribution_per_feature(client, stored_run):
    _, _, frame = stored_run
    row = records(frame.head(1))[0]
    body = client.post("/explain", json=row).json()
    assert body["prediction"] in ("no", "yes")
    assert body["explained"] == f"probability of class {body['prediction']!r}"
    assert {c["feature"] for c in body["contributions"]} == set(frame.columns)
    sizes = [abs(c["contribution"]) for c in body["contributions"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    two = client.post("/explain", json=records(frame.head(2)))
    assert two.status_code == 422 and "exactly one record" in two.json()["detail"]


def test_report_is_served_when_it_exists(client, stored_run):
    store, run_id, _ = stored_run
    path = store / "runs" / run_id / "report.html"
    kept = path.read_bytes() if path.exists() else None  # compare may have written one
    try:
        path.unlink(missing_ok=True)
        missing = client.get("/report")
        assert missing.status_code == 404 and "mlvsdl report" in missing.json()["detail"]
        path.write_text("<html><body>the report</body></html>")
        answer = client.get("/report")
        assert answer.status_code == 200 and "the report" in answer.text
    finally:
        path.unlink(missing_ok=True)
        if kept is not None:
            path.write_bytes(kept)


def test_page_and_docs(client):
    page = client.get("/")
    assert page.status_code == 200 and "predict-form" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched elsewhere
    spec = client.get("/openapi.json").json()
    paths = {"/predict", "/explain", "/schema", "/models", "/health", "/report"}
    assert paths <= set(spec["paths"])
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv", "multipart/form-data"} <= set(body)


def test_token_is_enforced_except_on_the_page_and_health(stored_run):
    store, run_id, frame = stored_run
    row = records(frame.head(1))[0]
    secured = TestClient(create_app(run_id, store, token="s3cret"))
    assert secured.get("/health").status_code == 200
    assert secured.get("/").status_code == 200
    for path in ("/schema", "/models", "/openapi.json", "/report"):
        assert secured.get(path).status_code == 401
    denied = secured.post("/predict", json=row, headers={"authorization": "Bearer wrong"})
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
    ok = secured.post("/predict", json=row, headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_binding_beyond_loopback_needs_a_token():
    check_binding("127.0.0.1", None)
    check_binding("::1", None)
    check_binding("localhost", None)
    check_binding("0.0.0.0", "token")
    for host in ("0.0.0.0", "192.168.1.5", "example.org"):
        with pytest.raises(ConfigError, match="--token"):
            check_binding(host, None)


def test_unexpected_errors_do_not_leak(stored_run):
    store, run_id, frame = stored_run
    app = create_app(run_id, store)

    def broken(rows):
        raise RuntimeError("secret internal path /srv/models")

    app.state.served.predict = broken
    row = records(frame.head(1))[0]
    answer = TestClient(app, raise_server_exceptions=False).post("/predict", json=row)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error; the server log has the details."}


def test_run_ids_and_model_names_cannot_escape_the_store(stored_run):
    store, run_id, _ = stored_run
    for bad in ("../../etc", "20260101-000000-abcdef/../x", "latest"):
        with pytest.raises(StoreError, match="is not a run id"):
            create_app(bad, store)
    with pytest.raises(StoreError, match="no fitted model"):
        create_app(run_id, store, model="../linear")


def test_a_tampered_artifact_is_refused(stored_run, tmp_path):
    import shutil

    store, run_id, _ = stored_run
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    artifact = copy / "runs" / run_id / "linear.skops"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(StoreError, match="modified"):
        create_app(run_id, copy, model="linear")


def test_non_finite_model_output_is_a_422_not_a_500(stored_run):
    import numpy as np

    from mlvsdl.serve.app import build_app
    from mlvsdl.serve.model import ServedModel

    store, run_id, frame = stored_run
    schema = load_run(run_id, store).schema

    class Broken:
        classes_ = np.array(["no", "yes"])

        def predict_proba(self, frame):
            return np.full((len(frame), 2), np.nan)

    served = ServedModel(run_id, "broken", Broken(), schema, {}, [], None)
    row = {**records(frame.head(1))[0], "x1": 1e300}
    answer = TestClient(build_app(served)).post("/predict", json=row)
    assert answer.status_code == 422 and "no finite answer for row(s) 0" in answer.json()["detail"]


def test_a_column_kind_the_server_cannot_take_is_a_clear_error(monkeypatch, stored_run):
    from mlvsdl.serve import schemas
    from mlvsdl.types import ColumnKind

    store, run_id, _ = stored_run
    monkeypatch.delitem(schemas.FIELD_TYPES, ColumnKind.DATETIME)
    with pytest.raises(ConfigError, match="datetime columns, which the server cannot take yet"):
        create_app(run_id, store)
