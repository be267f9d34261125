from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mlvsdl.errors import StoreError
from mlvsdl.store import Store
from mlvsdl.store.artifacts import load_estimator, save_estimator, write_bytes_atomic
from mlvsdl.store.db import check_run_id


@pytest.fixture()
def fitted():
    X, y = load_breast_cancer(return_X_y=True)
    return LogisticRegression(max_iter=5000).fit(X, y), X


def test_round_trip_gives_identical_predictions(tmp_path, fitted):
    model, X = fitted
    sha = save_estimator(model, tmp_path / "m.skops", {"seed": 0})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert (tmp_path / "m.json").read_text().count(sha) == 1


def test_modified_artifact_is_refused(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "m.skops"
    sha = save_estimator(model, path, {})
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(StoreError, match="modified"):
        load_estimator(path, sha)


def test_untrusted_type_is_refused(tmp_path):
    import collections

    path = tmp_path / "evil.skops"
    sio.dump(collections.Counter(a=1), path)  # a type outside the allowlist
    with pytest.raises(StoreError, match="does not trust"):
        load_estimator(path, None)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "bad.skops"
    path.write_bytes(b"not a zip file")
    with pytest.raises(StoreError, match="not a valid skops file"):
        load_estimator(path, None)


def test_atomic_write_leaves_old_file_when_killed(tmp_path):
    target = tmp_path / "file.bin"
    write_bytes_atomic(target, b"old")
    # A child process starts replacing the file and is SIGKILLed mid-write.
    code = (
        "import os, sys; from pathlib import Path\n"
        "import mlvsdl.store.artifacts as a\n"
        "orig = os.fsync\n"
        "def die(fd): os.kill(os.getpid(), 9)\n"
        "os.fsync = die\n"
        f"a.write_bytes_atomic(Path({str(target)!r}), b'new' * 1000)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"] or all(
        p.name.startswith(".file.bin.tmp-") or p.name == "file.bin" for p in tmp_path.iterdir()
    )


@pytest.mark.parametrize("bad", ["../etc", "..", "20260101-120000-abc/../../x", "", "a/b"])
def test_run_ids_cannot_escape_the_store(tmp_path, bad):
    with pytest.raises(StoreError, match="not a run id"):
        check_run_id(bad)
    store = Store(tmp_path)
    with pytest.raises(StoreError):
        store.run_dir(bad)


def test_model_names_cannot_escape_the_run(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(StoreError, match="not a valid model name"):
        store.artifact_path("20260101-120000-abcdef", "../../x")


def test_missing_store_is_reported(tmp_path):
    with pytest.raises(StoreError, match="no mlvsdl store"):
        Store(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_store_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("MLVSDL_STORE", os.fspath(tmp_path / "s"))
    assert Store().root == tmp_path / "s"


def test_models_holding_sparse_training_data_load(tmp_path):
    """k-nearest neighbours keeps its (sparse, one-hot) training matrix: that must load."""
    from scipy import sparse
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_breast_cancer(return_X_y=True)
    model = KNeighborsClassifier().fit(sparse.csr_matrix(X), y)
    sha = save_estimator(model, tmp_path / "knn.skops", {})
    loaded = load_estimator(tmp_path / "knn.skops", sha)
    np.testing.assert_array_equal(loaded.predict(X[:20]), model.predict(X[:20]))
