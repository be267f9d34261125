"""Parallel trials: the same leaderboard sequentially, with --jobs 2 and on Ray; dead workers."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mlvsdl import compare
from mlvsdl.data import infer_schema, make_splits
from mlvsdl.errors import ConfigError
from mlvsdl.search.executor import ProcessExecutor, open_executor
from mlvsdl.search.trial import TrialSpec
from mlvsdl.types import Task
from tests.conftest import make_table
from tests.test_cli import run_cli

FAMILIES = ["dummy", "linear", "lgbm", "mlp"]
COLUMNS = ["model", "status", "val_score", "val_std", "test_score"]
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _board(result):
    return result.leaderboard[COLUMNS].sort_values("model").reset_index(drop=True)


def _compare(store: Path, **kwargs):
    options = dict(families=FAMILIES, cv=2, time_budget=None, seed=1, store=store)
    return compare(make_table(n=160), "y", **options, **kwargs)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    return _compare(tmp_path_factory.mktemp("seq"))


def test_two_worker_processes_give_the_sequential_leaderboard(sequential, tmp_path):
    parallel = _compare(tmp_path, jobs=2)
    assert (parallel.leaderboard["status"] == "completed").all()
    assert _board(parallel).equals(_board(sequential))
    # the models came back from the workers whole: classical ones bit for bit; a network's
    # probabilities differ in the fourth decimal (a worker trains on its share of the cores, so
    # its sums run in another order), within the leaderboard's rounding
    new = make_table(n=10, seed=2).drop(columns="y")
    assert parallel.predict(new, model="lgbm").equals(sequential.predict(new, model="lgbm"))
    ours, theirs = parallel.predict(new, model="mlp"), sequential.predict(new, model="mlp")
    assert np.allclose(ours["proba_yes"], theirs["proba_yes"], atol=1e-3)


def test_a_dead_worker_fails_its_trial_and_its_slot_gets_a_fresh_one():
    frame = make_table(n=200)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    _, schema = infer_schema(frame, "y")
    splits = make_splits(y, Task.BINARY, test_size=0.2, n_folds=2, random_state=0)
    spec = TrialSpec("linear", schema, X, y, splits, "roc_auc", 0)
    with ProcessExecutor(1, X, y) as executor:
        out: list = []
        thread = threading.Thread(target=lambda: out.append(executor.run(spec)))
        thread.start()
        deadline = time.monotonic() + 60
        while not multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.01)
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
        thread.join(120)
        result, _ = out[0]
        assert result.status == "failed" and "worker process died" in result.reason
        again, measured = executor.run(spec)  # the slot works again
        assert again.status == "completed" and again.val_score > 0.8
        assert "peak_fit_memory_bytes" in measured


def test_bad_jobs_and_missing_ray_are_one_line_errors_before_a_run_is_written(
    monkeypatch, tmp_path
):
    with pytest.raises(ConfigError, match="--jobs must be 1 or more"):
        open_executor(0, None, None, None)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'mlvsdl\[ray\]'"):
        compare(make_table(n=60), "y", families=["dummy"], store=tmp_path, ray=True)
    assert not (tmp_path / "mlvsdl.db").exists()


@pytest.fixture()
def ray_env(monkeypatch):
    pytest.importorskip("ray", reason="Ray not installed (pip install 'mlvsdl[ray]')")
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)


def test_a_local_ray_runtime_gives_the_sequential_leaderboard(sequential, tmp_path, ray_env):
    on_ray = _compare(tmp_path, ray=True, jobs=2)
    assert _board(on_ray).equals(_board(sequential))
    import ray

    assert not ray.is_initialized()  # the runtime it started is shut down


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_two_node_cluster_on_one_machine_runs_compare(
    sequential, tmp_path, ray_env, monkeypatch, capsys
):
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    env = {**os.environ, **RAY_ENV}
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
    temp = f"/tmp/mlvsdl-ray-test-{os.getpid()}"  # short: Ray's socket paths must fit
    nodes = [
        subprocess.Popen(
            [ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--include-dashboard", "false", "--temp-dir", temp, *common],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
    ]  # fmt: skip
    try:
        address = f"127.0.0.1:{port}"
        if not _wait_for_nodes(address, 1, nodes[0]):
            pytest.skip(f"the Ray head could not start: {nodes[0].stderr.read1(2000)!r}")
        nodes.append(
            subprocess.Popen(
                [ray_cli, "start", "--address", address, "--node-ip-address", "127.0.0.1",
                 *common],
                env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )  # fmt: skip
        if not _wait_for_nodes(address, 2, nodes[1]):
            pytest.skip(f"the second Ray node could not join: {nodes[1].stderr.read1(2000)!r}")
        data = tmp_path / "t.csv"
        make_table(n=160).to_csv(data, index=False)
        args = ["-t", "y", "--families", ",".join(FAMILIES), "--cv", "2", "--seed", "1"]
        code, _, err = run_cli(
            monkeypatch, capsys, "compare", str(data), *args,
            "--store", str(tmp_path / "store"), "--ray", address,
        )  # fmt: skip
        assert code == 0, err
        from mlvsdl import load_run
        from mlvsdl.store import Store

        run_id = Store(tmp_path / "store").db.runs()[0]["run_id"]
        assert _board(load_run(run_id, tmp_path / "store")).equals(_board(sequential))
    finally:
        for node in reversed(nodes):  # the processes these two commands started, by group
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_nodes(address: str, n: int, proc: subprocess.Popen, timeout_s: float = 40) -> bool:
    """Whether ``n`` nodes are alive at ``address`` within the timeout (asked from a separate
    process, so this one never joins the cluster itself)."""
    script = f"""
import sys, time, ray
ray.init(address={address!r}, log_to_driver=False)
deadline = time.monotonic() + {timeout_s}
while sum(node["Alive"] for node in ray.nodes()) < {n} and time.monotonic() < deadline:
    time.sleep(0.2)
sys.exit(0 if sum(node["Alive"] for node in ray.nodes()) >= {n} else 1)
"""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:  # the node may not listen yet
        check = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=90)
        if check.returncode == 0:
            return True
        time.sleep(0.5)
    return False


def _exit_worker(*args):
    os._exit(1)  # a Ray worker that dies mid-task, as when it is killed or runs out of memory


def test_a_dead_ray_worker_fails_its_trial_and_the_next_one_runs(ray_env):
    import ray

    from mlvsdl.search.executor import RayExecutor

    frame = make_table(n=120)
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    _, schema = infer_schema(frame, "y")
    splits = make_splits(y, Task.BINARY, test_size=0.2, n_folds=2, random_state=0)
    spec = TrialSpec("dummy", schema, X, y, splits, "roc_auc", 0)
    with RayExecutor(None, X, y, jobs=1) as executor:
        trial = executor._task
        executor._task = ray.remote(_exit_worker)
        result, _ = executor.run(spec)
        assert result.status == "failed" and "Ray worker running it died" in result.reason
        executor._task = trial
        again, _ = executor.run(spec)
        assert again.status == "completed"
