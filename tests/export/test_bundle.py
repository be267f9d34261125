"""Bundles: one portable file, loaded without the store, refused when tampered or untrusted."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pandas as pd
import pytest
import skops.io as sio

import mlvsdl
from mlvsdl.errors import StoreError
from mlvsdl.export.bundle import load_model, write_bundle
from mlvsdl.result import load_run


@pytest.fixture(scope="module")
def bundle(small_run, tmp_path_factory):
    store, run_id, _ = small_run
    path, name = write_bundle(run_id, tmp_path_factory.mktemp("b") / "m.mlvsdl", store=store)
    return path, name


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def test_bundle_loads_without_the_store_and_predicts_the_same(small_run, bundle):
    store, run_id, frame = small_run
    path, name = bundle
    assert mlvsdl.load_model is load_model and "load_model" in mlvsdl.__all__
    loaded = mlvsdl.load_model(path)
    assert (loaded.name, loaded.run_id) == (name, run_id)
    assert set(_members(path)) == {"manifest.json", "model.skops", "checksum.sha256"}
    expected = load_run(run_id, store).predict(frame, model=name)
    pd.testing.assert_frame_equal(loaded.predict(frame), expected)
    assert set(loaded.reference) == set(frame.columns)
    assert loaded.schema == load_run(run_id, store).schema


def test_changed_model_bytes_are_refused(bundle, tmp_path):
    members = _members(bundle[0])
    members["model.skops"] += b"\0"
    _write(tmp_path / "t.mlvsdl", members)
    with pytest.raises(StoreError, match="modified"):
        load_model(tmp_path / "t.mlvsdl")


def test_changed_manifest_is_refused(bundle, tmp_path):
    members = _members(bundle[0])
    members["manifest.json"] = members["manifest.json"].replace(b'"linear"', b'"lgbm"')
    _write(tmp_path / "t.mlvsdl", members)
    with pytest.raises(StoreError, match="manifest was modified"):
        load_model(tmp_path / "t.mlvsdl")


def test_untrusted_types_are_refused_even_with_valid_checksums(bundle, tmp_path):
    import collections

    members = _members(bundle[0])
    evil = sio.dumps(collections.Counter(a=1))  # a type outside the allowlist
    manifest = json.loads(members["manifest.json"])
    manifest["model_sha256"] = hashlib.sha256(evil).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    members["checksum.sha256"] = hashlib.sha256(members["manifest.json"]).hexdigest().encode()
    members["model.skops"] = evil
    _write(tmp_path / "t.mlvsdl", members)
    with pytest.raises(StoreError, match="does not trust"):
        load_model(tmp_path / "t.mlvsdl")


def test_files_that_are_not_bundles_are_refused(bundle, tmp_path):
    with pytest.raises(StoreError, match="no bundle at"):
        load_model(tmp_path / "missing.mlvsdl")
    (tmp_path / "junk.mlvsdl").write_bytes(b"not a zip")
    with pytest.raises(StoreError, match="not a readable mlvsdl bundle"):
        load_model(tmp_path / "junk.mlvsdl")
    members = _members(bundle[0])
    del members["checksum.sha256"]
    _write(tmp_path / "partial.mlvsdl", members)
    with pytest.raises(StoreError, match=r"missing checksum\.sha256"):
        load_model(tmp_path / "partial.mlvsdl")
