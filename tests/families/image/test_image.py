"""Image families on scikit-learn's digits: the contract, features, augmentation, end to end."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.base import clone
from sklearn.datasets import load_digits

from mlvsdl import compare
from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.families import registry
from mlvsdl.families.image.nets import RandomShift
from mlvsdl.families.registry import all_families
from mlvsdl.features.image import HOG
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.types import SUPERVISED, Kind, Modality, Task

# the prediction families (clustering families have their own suite, tests/families/cluster)
IMAGE = [
    f
    for f in all_families()
    if Modality.IMAGE in f.modalities and f.key != "dummy" and f.tasks & SUPERVISED
]
MORE = {Task.MULTICLASS: {"image_svm", "image_cnn"}, Task.REGRESSION: {"image_logreg", "image_cnn"}}
CASES = [
    (f, t)
    for f in IMAGE
    for t in sorted(f.tasks, key=str)
    if t is Task.BINARY or f.key in MORE.get(t, ())
]


def digits(task: Task, n: int = 60):
    data = load_digits()
    keep = np.isin(data.target, [0, 1] if task is Task.BINARY else [0, 1, 2])
    images, labels = data.images[keep][:n] / 16.0, data.target[keep][:n]
    table = read_inputs(([im.astype(np.float32) for im in images], labels))
    frame, schema = infer_schema(table.frame, "label", str(task))
    frame, schema = check_inputs(frame, schema)
    return frame.drop(columns="label"), frame["label"].to_numpy(), schema


def test_image_families_cover_ml_and_dl():
    assert {"image_logreg", "image_svm", "image_lgbm", "image_cnn", "image_resnet"} <= {
        f.key for f in IMAGE
    }
    assert {f.kind for f in IMAGE} == {Kind.ML, Kind.DL}


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.key}-{t}" for f, t in CASES])
def test_image_family_contract(family, task, tmp_path):
    X, y, schema = digits(task)
    estimator = family.build(schema, random_state=0)
    if "model__max_epochs" in estimator.get_params():
        estimator.set_params(model__max_epochs=2)
    if "model__n_estimators" in estimator.get_params():
        estimator.set_params(model__n_estimators=20)
    assert clone(estimator).get_params().keys() == estimator.get_params().keys()
    pred = estimator.fit(X, y).predict(X)
    assert pred.shape == (len(X),)
    if task.is_classification:
        proba = estimator.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert list(estimator.classes_) == list(schema.classes)
        if family.kind is Kind.ML:  # networks get two epochs here: too few to judge
            assert (pred == y).mean() > 0.6
    again = clone(estimator).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)
    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    np.testing.assert_array_equal(load_estimator(tmp_path / "m.skops", sha).predict(X), pred)


def test_hog_describes_edge_orientation():
    vertical = np.zeros((1, 1, 16, 16), np.float32)
    vertical[..., :, 8:] = 1.0
    horizontal = vertical.transpose(0, 1, 3, 2).copy()
    a, b = HOG().fit(vertical).transform(vertical), HOG().transform(horizontal)
    assert a.shape == (1, 3 * 3 * 4 * 9)
    assert not np.allclose(a, b)


def test_random_shift_moves_training_examples_only():
    x = torch.zeros(16, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    shift = RandomShift(2, 2)
    assert torch.equal(shift.eval()(x), x)
    torch.manual_seed(0)
    moved = shift.train()(x)
    assert torch.equal(moved.sum(dim=(1, 2, 3)), torch.ones(16))  # nothing pushed out
    rows, cols = (moved[:, 0] == 1).nonzero()[:, 1:].T
    assert ((rows - 4).abs() <= 2).all() and ((cols - 4).abs() <= 2).all()
    assert not torch.equal(moved, x)


def test_compare_and_predict_on_a_folder_of_png_files(tmp_path, monkeypatch):
    cnn = registry.get_family("image_cnn")
    three_epochs = lambda s, seed: cnn.factory(s, seed).set_params(model__max_epochs=3)  # noqa: E731
    monkeypatch.setitem(registry._FAMILIES, "image_cnn", replace(cnn, factory=three_epochs))
    data = load_digits()
    for i in range(60):
        label = int(data.target[i] % 2)
        folder = tmp_path / "train" / ("odd" if label else "even")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((data.images[i] * 15).astype(np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "new").mkdir()
    Image.fromarray((data.images[61] * 15).astype(np.uint8)).save(tmp_path / "new" / "a.png")
    result = compare(
        tmp_path / "train",
        families=["dummy", "image_logreg", "image_cnn"],
        cv=2,
        time_budget=None,
        store=tmp_path / "store",
    )
    assert result.schema.modality is Modality.IMAGE and result.schema.target == "label"
    board = result.leaderboard
    assert set(board["kind"]) == {"ml", "dl", "ml+dl"}  # ml+dl: the ensemble of both
    assert (board["status"] == "completed").all()
    out = result.predict(tmp_path / "new", model="image_cnn")
    assert out["image"].tolist() == [str(tmp_path / "new" / "a.png")]
    assert out["prediction"].iloc[0] in {"odd", "even"}


def test_the_conv_net_trains_with_the_time_fitted_schedule_unless_told_not_to():
    """The schedule itself is tested on a fake clock (tests/families/dl/test_network.py)."""
    from torch import nn

    from mlvsdl.families.dl.network import TimedTrainer
    from mlvsdl.families.dl.trainer import TrainConfig
    from mlvsdl.families.image.dl import ConvNetClassifier

    config = TrainConfig(max_time_s=3.0)
    on = ConvNetClassifier(max_time_s=3.0)._trainer(nn.Linear(2, 2), config)
    off = ConvNetClassifier(fit_schedule_to_time=False)._trainer(nn.Linear(2, 2), config)
    assert isinstance(on, TimedTrainer) and on.time_schedule and not off.time_schedule
