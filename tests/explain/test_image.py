"""Saliency maps of image models on scikit-learn digits: the image's shape, weight on the ink more
than on the blank, completeness of integrated gradients, regions that sum the map."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.explain import Explanation, explain_row
from mlvsdl.explain.image import mean_image
from mlvsdl.families.registry import get_family
from mlvsdl.report.media import saliency_png
from tests.evaluate.media_data import digit_arrays
from tests.evaluate.test_cost import _one_torch_thread  # noqa: F401

FAMILIES = ("image_logreg", "image_svm", "image_cnn")
HELD_OUT = range(150, 162)


@pytest.fixture(scope="module")
def digits():
    images, labels = digit_arrays(n=180)
    table = read_inputs((list(images), labels))
    frame, schema = infer_schema(table.frame, "label", "multiclass")
    frame, schema = check_inputs(frame, schema)
    X, y = frame.drop(columns="label"), frame["label"].to_numpy()
    return X, y, images, schema, mean_image(X.iloc[:150], schema)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y, _, schema, _ = digits
    models = {}
    for key in FAMILIES:
        model = get_family(key).build(schema, random_state=0)
        if "model__max_epochs" in model.get_params():
            model.set_params(model__max_epochs=10)
        models[key] = model.fit(X.iloc[:150], y[:150])
    return models


@pytest.fixture(scope="module")
def maps(digits, fitted):
    X, _, _, schema, fill = digits
    return {
        key: [explain_row(m, key, X.iloc[[i]], schema, {}, fill=fill) for i in HELD_OUT]
        for key, m in fitted.items()
    }


@pytest.mark.parametrize("key", FAMILIES)
def test_saliency_has_the_image_shape_and_weighs_ink_over_blank(key, maps, digits):
    _, _, images, _, _ = digits
    ink, blank = [], []
    for i, found in zip(HELD_OUT, maps[key], strict=True):
        saliency = found.image.array
        assert saliency.shape == images[i].shape == (8, 8)
        assert np.isfinite(saliency).all() and np.abs(saliency).sum() > 0
        ink += list(np.abs(saliency[images[i] > 0]))
        blank += list(np.abs(saliency[images[i] == 0]))
    assert np.mean(ink) > np.mean(blank)


@pytest.mark.parametrize("key", FAMILIES)
def test_pixels_that_never_vary_get_no_weight(key, maps, digits):
    """The reference is the mean image: a pixel blank in every image cannot move anything."""
    _, _, images, _, _ = digits
    never = images.max(axis=0) == 0
    assert never.any()
    for found in maps[key]:
        saliency = np.abs(found.image.array)
        if key == "image_cnn":  # integrated gradients: exactly nothing to integrate there
            assert saliency[never].max() < 1e-6 * max(saliency.max(), 1e-12)
        assert saliency[never].mean() < saliency[~never].mean()


def test_each_model_says_which_method_it_used(maps):
    assert maps["image_cnn"][0].method.startswith("integrated gradients on the pixels")
    for key in ("image_logreg", "image_svm"):
        assert maps[key][0].method.startswith("occlusion (captum)")
        assert maps[key][0].unit == "probability"


def test_integrated_gradients_are_complete(fitted, maps, digits):
    X, _, _, _, fill = digits
    model = fitted["image_cnn"]
    estimator = model[-1]
    for i, found in zip(list(HELD_OUT)[:3], maps["image_cnn"], strict=False):
        index = list(model.classes_).index(int(found.prediction))
        p_row = model.predict_proba(X.iloc[[i]])[0, index]
        p_ref = estimator.predict_proba(fill[None].astype(np.float32))[0, index]
        assert found.image.array.sum() == pytest.approx(p_row - p_ref, abs=0.02)


def test_regions_summarize_the_map_and_the_image_is_kept(maps, digits):
    _, _, images, _, _ = digits
    found = maps["image_logreg"][0]
    assert len(found.contributions) == 9
    total = sum(c.contribution for c in found.contributions)
    assert total == pytest.approx(found.image.array.sum(), abs=1e-3)
    sizes = [abs(c.contribution) for c in found.contributions]
    assert sizes == sorted(sizes, reverse=True)
    png = Image.open(io.BytesIO(base64.b64decode(found.image.image_png)))
    assert png.size == (8, 8)
    np.testing.assert_allclose(np.asarray(png) / 255, images[HELD_OUT[0]], atol=1 / 255)
    drawn = Image.open(io.BytesIO(saliency_png(found.image)))
    assert drawn.format == "PNG" and drawn.size[0] > 2 * drawn.size[1] > 100
    assert Explanation.from_dict(found.to_dict()) == found


def test_the_network_is_left_as_it_was(fitted, digits):
    X, _, _, schema, fill = digits
    model = fitted["image_cnn"]
    before = model.predict_proba(X.iloc[:20])
    explain_row(model, "cnn", X.iloc[[0]], schema, {}, fill=fill)
    np.testing.assert_array_equal(model.predict_proba(X.iloc[:20]), before)
    assert not model[-1].module_.training and torch.is_grad_enabled()
