"""``mlvsdl serve`` as a user starts it: a real process on loopback that answers, then stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_serve_command_answers_and_stops(stored_run):
    store, run_id, _ = stored_run
    port = _free_port()
    env = {**os.environ, "MLVSDL_TOKEN": "t0ken"}
    command = [sys.executable, "-m", "mlvsdl.cli", "serve", "latest", "--store", str(store)]
    command.append("--allow-missing")  # the partial record below is answered, listing imputed
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                assert _get(base + "/health") == (200, {"status": "ok"})
                break
            except urllib.error.URLError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        body = json.dumps({"x1": 0.5, "colour": "red"}).encode()
        json_type = {"Content-Type": "application/json"}
        assert _get(base + "/predict", body, json_type)[0] == 401  # the token from MLVSDL_TOKEN
        auth = {**json_type, "Authorization": "Bearer t0ken"}
        status, answer = _get(base + "/predict", body, auth)
        assert status == 200 and answer["predictions"][0]["prediction"] in ("no", "yes")
        assert sorted(answer["predictions"][0]["imputed"]) == ["flag", "when"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert f"of run {run_id} on http://127.0.0.1:{port}/" in " ".join(err.split())
    assert "bearer token required" in err
