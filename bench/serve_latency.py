"""Serving latency: one-row /predict over loopback against the in-process prediction.

For each model: the in-process one-row ``predict_proba`` on a prebuilt DataFrame (what a Python
caller pays), then ``mlvsdl serve`` in a subprocess answering one-row JSON requests at
concurrency 1 and 32 (p50, p99, throughput), next to a bare FastAPI endpoint that returns a
constant, served the same way (uvicorn, one process, the same keep-alive client). Serving
overhead = served p50 at concurrency 1 minus in-process p50 (measured in alternating blocks of
50, so both see the same background load); target <= 2 ms.

    python bench/serve_latency.py [--store DIR --run RUN_ID] [--models linear,lgbm,mlp]
                                  [--requests 2000] [--out results.json]

Without --store/--run it first trains dummy, linear, lgbm and mlp on the telco churn table from
../shared/datasets into a temporary store. Client and server share the machine's cores, so the
bare endpoint's figures show what the setup itself costs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _common import machine  # noqa: E402

from tests.serve.loadgen import Request, run_requests  # noqa: E402

TELCO = ROOT.parent / "shared" / "datasets" / "telco_customer_churn"
BARE_APP = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
app = FastAPI()
ANSWER = {"model": "constant", "predictions": [{"prediction": "No"}]}
@app.post("/predict")
async def predict(request: Request):
    await request.body()
    return JSONResponse(ANSWER)
@app.get("/health")
async def health():
    return {"status": "ok"}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start in 120 s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _figures(latencies_s: list[float], wall_s: float | None = None) -> dict[str, float]:
    ordered = sorted(latencies_s)
    out = {
        "p50_ms": 1e3 * statistics.median(ordered),
        "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }
    if wall_s is not None:
        out["throughput_rps"] = len(ordered) / wall_s
    return out


def _load(url: str, bodies: list[bytes], n: int, concurrency: int) -> dict[str, float]:
    warm = [Request("POST", "/predict", bodies[i % len(bodies)]) for i in range(100)]
    run_requests(url, warm, concurrency)
    requests = [Request("POST", "/predict", bodies[i % len(bodies)]) for i in range(n)]
    responses, wall_s = run_requests(url, requests, concurrency)
    bad = [r.status for r in responses if r is None or r.status != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed: {bad[:5]}")
    return _figures([r.latency_s for r in responses if r is not None], wall_s)


def _local_predict(store: Path, run_id: str, model: str, rows: list[dict]) -> Any:
    """``call(i)``: the in-process one-row prediction of row ``i`` on a prebuilt DataFrame."""
    import pandas as pd

    from mlvsdl.result import load_run

    result = load_run(run_id, store)
    estimator, features = result.models[model], result.schema.feature_names
    frames = [pd.DataFrame({k: [row.get(k)] for k in features}) for row in rows]
    predict = estimator.predict_proba if result.schema.task.is_classification else estimator.predict
    return lambda i: predict(frames[i % len(frames)])


def _interleaved(url: str, bodies: list[bytes], local: Any, n: int, block: int = 50) -> Any:
    """In-process calls and served requests (concurrency 1) in alternating blocks, so both see
    the same background load; returns (in-process figures, served figures)."""
    for i in range(block):
        local(i)
    run_requests(url, [Request("POST", "/predict", bodies[i % len(bodies)]) for i in range(100)])
    local_s: list[float] = []
    served: list[Any] = []
    served_wall_s = 0.0
    for start in range(0, n, block):
        for i in range(start, start + block):
            begin = time.perf_counter()
            local(i)
            local_s.append(time.perf_counter() - begin)
        requests = [
            Request("POST", "/predict", bodies[i % len(bodies)])
            for i in range(start, start + block)
        ]
        responses, wall_s = run_requests(url, requests)
        served += responses
        served_wall_s += wall_s
    if any(r is None or r.status != 200 for r in served):
        raise RuntimeError("some served requests failed")
    return _figures(local_s), _figures([r.latency_s for r in served], served_wall_s)


def _serve_layer(store: Path, run_id: str, model: str, bodies: list[bytes], n: int) -> dict:
    """What the server does per one-row request besides the model: parse and validate the JSON,
    build the DataFrame, warn on unseen levels, encode the answer (model call replaced by its
    precomputed answer). Measured in-process, so background load barely blurs it."""
    from mlvsdl.serve.model import load_served_model
    from mlvsdl.serve.schemas import parse_json

    served = load_served_model(run_id, store, model)
    answers = [served.predict(served.validator.validate(parse_json(b)[0])) for b in bodies]

    def work(i: int) -> None:
        records, single = parse_json(bodies[i % len(bodies)])
        rows = served.validator.validate(records, single=single)
        served.frame(rows)
        body = {"model": served.name, "predictions": answers[i % len(bodies)]}
        body["warnings"] = served.warnings(rows)
        json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    for i in range(100):
        work(i)
    times = []
    for i in range(n):
        start = time.perf_counter()
        work(i)
        times.append(time.perf_counter() - start)
    return _figures(times)


def _telco_run() -> tuple[Path, str]:
    from mlvsdl.compare import compare

    store = Path(tempfile.mkdtemp(prefix="mlvsdl-bench-serve-")) / "store"
    data = TELCO / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    families = ["dummy", "linear", "lgbm", "mlp"]
    result = compare(data, "Churn", families=families, store=store, time_budget=600)
    return store, result.run_id


def _rows(store: Path, run_id: str, k: int = 200) -> list[dict[str, Any]]:
    """The first ``k`` rows of the run's own data file, as JSON-ready records."""
    from mlvsdl.data import read_table
    from mlvsdl.result import load_run

    frame = read_table(load_run(run_id, store).source).frame.head(k)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _bare(bodies: list[bytes], n: int) -> dict[str, Any]:
    """The constant FastAPI endpoint, served and loaded exactly like the model."""
    port = _free_port()
    bare_file = Path(tempfile.mkdtemp()) / "bare_app.py"
    bare_file.write_text(BARE_APP)
    bare = _start(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(bare_file.parent),
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        port,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        return {f"c{c}": _load(url, bodies, n, c) for c in (1, 32)}
    finally:
        _stop(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--run")
    parser.add_argument("--models", default="linear,lgbm,mlp")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    store, run_id = (args.store, args.run) if args.run else _telco_run()
    rows = _rows(store, run_id)
    bodies = [json.dumps(r, default=str).encode() for r in rows]
    results: dict[str, Any] = {"machine": machine(), "run_id": run_id, "models": {}}
    print(f"Machine: {results['machine']}\nRun {run_id}; {len(rows[0])} columns per row")

    results["bare"] = _bare(bodies, args.requests)
    for model in args.models.split(","):
        port = _free_port()
        server = _start(
            [sys.executable, "-m", "mlvsdl.cli", "serve", run_id, "--model", model,
             "--store", str(store), "--port", str(port)],
            port,
        )  # fmt: skip
        predict = _local_predict(store, run_id, model, rows)
        try:
            url = f"http://127.0.0.1:{port}"
            local, served = _interleaved(url, bodies, predict, args.requests)
            busy = _load(url, bodies, args.requests, 32)
        finally:
            _stop(server)
        overhead = served["p50_ms"] - local["p50_ms"]
        results["models"][model] = {
            "serve_layer": _serve_layer(store, run_id, model, bodies, args.requests),
            "in_process": local,
            "c1": served,
            "c32": busy,
            "overhead_p50_ms": overhead,
        }
    _print(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def _print(results: dict[str, Any]) -> None:
    head = (
        "| what | in-process p50 | c=1 p50 | c=1 p99 | c=1 req/s | c=32 p50 | c=32 p99 "
        "| c=32 req/s | served - in-process p50 | serve layer p50 |"
    )
    print("\n" + head + "\n" + "|---" * 10 + "|")
    for name, r in [("bare FastAPI (constant)", results["bare"]), *results["models"].items()]:
        local = f"{r['in_process']['p50_ms']:.2f} ms" if "in_process" in r else "-"
        gap = f"{r['overhead_p50_ms']:+.2f} ms" if "overhead_p50_ms" in r else "-"
        layer = f"{r['serve_layer']['p50_ms']:.3f} ms" if "serve_layer" in r else "-"
        c1, c32 = r["c1"], r["c32"]
        print(
            f"| {name} | {local} | {c1['p50_ms']:.2f} ms | {c1['p99_ms']:.2f} ms | "
            f"{c1['throughput_rps']:.0f} | {c32['p50_ms']:.2f} ms | {c32['p99_ms']:.2f} ms | "
            f"{c32['throughput_rps']:.0f} | {gap} | {layer} |"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT / "src"))
    main()
