"""Fixtures for the server tests: one small stored run, and a live server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'mlvsdl[serve]'")

from mlvsdl.compare import compare
from tests.conftest import make_table


@pytest.fixture(scope="session")
def stored_run(tmp_path_factory) -> tuple[Path, str, pd.DataFrame]:
    """A binary run (dummy, linear) on the mixed table; returns (store, run_id, frame)."""
    store = tmp_path_factory.mktemp("serve") / "store"
    frame = make_table(n=240, seed=0)
    result = compare(frame, "y", families=["dummy", "linear"], cv=2, time_budget=300, store=store)
    return store, result.run_id, frame.drop(columns=["y"])


@pytest.fixture(scope="session")
def served_app(stored_run):
    from mlvsdl.serve import create_app

    store, run_id, _ = stored_run
    return create_app(run_id, store)


@pytest.fixture(scope="session")
def client(served_app):
    from fastapi.testclient import TestClient

    with TestClient(served_app) as test_client:
        yield test_client


# What the server promises: the same labels as the in-process model, and probabilities within
# this tolerance of it. One record goes through the fast path (fastpath.py), which is checked
# against the pipeline to rtol 1e-9 when it is built; the two paths sum in a different order, so
# the last bits may differ (0.3904480760849927 vs 0.39044807608499266 on a clean clone).
SERVED_RTOL = 1e-9
SERVED_ATOL = 1e-12


def assert_same_answers(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Two lists of served predictions agree: equal labels and keys, probabilities within the
    server's promise (never compared bit for bit across code paths)."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a["prediction"] == b["prediction"]
        assert set(a) == set(b)
        if "probabilities" in a:
            assert list(a["probabilities"]) == list(b["probabilities"])
            np.testing.assert_allclose(
                list(a["probabilities"].values()),
                list(b["probabilities"].values()),
                rtol=SERVED_RTOL,
                atol=SERVED_ATOL,
            )
        for key in set(a) - {"prediction", "probabilities"}:
            assert a[key] == b[key]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records of ``frame`` (NaN as null)."""
    return [
        {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
