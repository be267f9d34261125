"""End to end on the shared real datasets (skipped when ../shared/datasets is absent): a few
hundred rows each, short budgets; ML and DL side by side, predictions on new inputs."""

from __future__ import annotations

import csv
import gzip
import tarfile
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlvsdl import compare
from mlvsdl.families import registry
from tests.conftest import shared_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _short_networks(monkeypatch):
    """Networks train 3 epochs here: these tests check the flow, the benchmarks the scores."""
    registry.all_families()
    for key, family in list(registry._FAMILIES.items()):
        if family.kind.value == "dl":
            fast = _three_epochs(family.factory)
            monkeypatch.setitem(registry._FAMILIES, key, replace(family, factory=fast))


def _three_epochs(factory):
    def build(schema, random_state):
        return factory(schema, random_state).set_params(model__max_epochs=3)

    return build


def test_sms_spam_text(tmp_path):
    path = shared_dataset("sms_spam_collection", "SMSSpamCollection")
    frame = pd.read_csv(
        path, sep="\t", header=None, names=["label", "text"], quoting=csv.QUOTE_NONE
    ).sample(300, random_state=0)
    result = compare(
        frame,
        "label",
        families=["dummy", "tfidf_svm", "text_bag"],
        cv=2,
        time_budget=None,
        store=tmp_path,
    )
    board = result.leaderboard.set_index("model")
    assert set(board["kind"]) == {"ml", "dl", "ml+dl"}  # ml+dl: the ensemble of both
    assert board.loc["tfidf_svm", "test_score"] > 0.9
    out = result.predict(pd.DataFrame({"text": ["WIN a FREE prize now, call 0800 123"]}))
    assert out["prediction"].iloc[0] in {"ham", "spam"}


def test_mnist_images(tmp_path):
    folder = shared_dataset("mnist_test10k")
    raw = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:150]
    labels = np.frombuffer(
        gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8
    )[:150]
    result = compare(
        (list(images), labels),
        families=["dummy", "image_logreg", "image_cnn"],
        cv=2,
        time_budget=None,
        store=tmp_path,
    )
    board = result.leaderboard.set_index("model")
    assert set(board["kind"]) == {"ml", "dl", "ml+dl"}  # ml+dl: the ensemble of both
    assert result.schema.media["image_size"] == [28, 28]
    assert board.loc["image_logreg", "test_score"] > 0.75


def test_fsdd_audio_folder(tmp_path):
    archive = shared_dataset("fsdd", "recordings.tar.gz")
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.endswith(
                (
                    "_jackson_5.wav",
                    "_theo_5.wav",
                    "_nicolas_5.wav",
                    "_yweweler_5.wav",
                    "_george_5.wav",
                    "_lucas_5.wav",
                    "_jackson_0.wav",
                )
            )
        ]
        tar.extractall(tmp_path / "wav", members=members, filter="data")
    clips = tmp_path / "wav" / "recordings"
    new = clips / "7_jackson_0.wav"
    new.rename(tmp_path / "new.wav")
    for path in clips.glob("*_jackson_0.wav"):
        path.unlink()
    result = compare(
        clips,
        label_from_name="{label}_*.wav",
        families=["dummy", "mfcc_svm", "audio_cnn"],
        cv=2,
        time_budget=None,
        store=tmp_path / "store",
    )
    assert set(result.leaderboard["kind"]) == {"ml", "dl", "ml+dl"}  # ml+dl: the ensemble
    assert result.schema.media["sample_rate"] == 8000
    out = result.predict(tmp_path / "new.wav", model="mfcc_svm")
    assert len(out) == 1 and str(out["prediction"].iloc[0]) in {str(d) for d in range(10)}
