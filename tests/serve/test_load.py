"""A bounded load test over loopback: 5,000 requests at concurrency 32, a fifth malformed.

Ends with zero 5xx, every valid request answered with exactly the in-process prediction, every
malformed one with its 4xx, and the server still healthy.
"""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

from mlvsdl.result import load_run, predict_frame
from tests.serve.conftest import live_server, records
from tests.serve.loadgen import Request, run_requests

N_REQUESTS = int(os.environ.get("MLVSDL_LOAD_REQUESTS", "5000"))
CONCURRENCY = 32
MAX_BODY = 64 * 1024

MALFORMED: list[tuple[Request, int]] = [
    (Request("POST", "/predict", b"{not json"), 422),
    (Request("POST", "/predict", b'{"x1": "abc"}'), 422),
    (Request("POST", "/predict", b'{"x1": 1, "nope": 2}'), 422),
    (Request("POST", "/predict", b'{"x1": 1}', content_type="text/plain"), 415),
    (Request("POST", "/predict", b""), 422),
    (Request("POST", "/predict", b"[1, 2, 3]"), 422),
    (Request("POST", "/predict", b"[" * 50_000 + b"]" * 10), 422),
    (Request("POST", "/predict", b"\xff\xfe\x00garbage"), 422),
    (Request("POST", "/predict", b"x1,colour\n1,red,extra,\n", content_type="text/csv"), 422),
    (Request("POST", "/explain", b'[{"x1": 1}, {"x1": 2}]'), 422),
    (Request("POST", "/predict", b"{}", content_type="multipart/form-data; boundary=z"), 400),
    (Request("POST", "/predict", b"x" * 1024, declared_length=MAX_BODY * 4), 413),
    (Request("GET", "/nowhere"), 404),
]


@pytest.fixture(scope="module")
def workload(stored_run):
    """The request list with, per request, the expected status and (valid) predictions."""
    store, run_id, frame = stored_run
    result = load_run(run_id, store)
    expected = predict_frame(result.models["linear"], result.schema, frame)
    rows = records(frame)
    rng = random.Random(0)
    items = []
    for i in range(N_REQUESTS):
        if i % 5 == 4:
            request, status = MALFORMED[(i // 5) % len(MALFORMED)]
            items.append((request, status, None))
            continue
        index = rng.randrange(len(rows))
        body = json.dumps(rows[index]).encode()
        items.append((Request("POST", "/predict", body), 200, expected.iloc[[index]]))
    return items


def test_load_with_malformed_requests(stored_run, workload):
    from mlvsdl.serve import create_app

    store, run_id, _ = stored_run
    app = create_app(run_id, store, model="linear", max_body_bytes=MAX_BODY)
    with live_server(app) as url:
        responses, _ = run_requests(url, [item[0] for item in workload], CONCURRENCY)
        health, _ = run_requests(url, [Request("GET", "/health")])
    statuses = [r.status if r is not None else None for r in responses]
    assert None not in statuses
    assert not [s for s in statuses if s >= 500]
    for (_, status, expected), response in zip(workload, responses, strict=True):
        assert response.status == status, response.body[:200]
        body = json.loads(response.body)
        if expected is None:
            assert "detail" in body
            continue
        (prediction,) = body["predictions"]
        assert prediction["prediction"] == expected["prediction"].iloc[0]
        np.testing.assert_allclose(
            prediction["probabilities"]["yes"], expected["proba_yes"].iloc[0], atol=1e-12
        )
    assert health[0].status == 200 and json.loads(health[0].body) == {"status": "ok"}
