"""Per-row explanations: exact for linear models and LightGBM, complete for integrated gradients,
occlusion for the rest, mapped back onto raw columns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import logit

from mlvsdl.data import infer_schema
from mlvsdl.errors import ConfigError
from mlvsdl.evaluate.local import reference_values
from mlvsdl.explain import (
    attribute,
    encoded_sources,
    explain_row,
    reference_frame,
)
from mlvsdl.families.registry import get_family
from mlvsdl.types import Modality
from tests.conftest import make_table
from tests.evaluate.test_cost import _one_torch_thread, quick  # noqa: F401


@pytest.fixture(scope="module")
def table():
    frame, schema = infer_schema(make_table(n=240), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    return X, y, schema, reference_values(X, schema)


def _fit(name, table, **params):
    X, y, schema, _ = table
    model = quick(get_family(name).build(schema, random_state=0))
    return model.set_params(**params).fit(X, y)


def _predicted_proba(model, X):
    proba = model.predict_proba(X)
    return proba[np.arange(len(X)), proba.argmax(axis=1)]


def test_encoded_columns_map_back_to_raw_columns(table):
    _, _, schema, _ = table
    sources = encoded_sources(_fit("linear", table), schema)
    assert set(sources) == set(schema.feature_names)
    assert sources.count("colour") == 3  # one-hot
    assert sources.count("when") == 5  # datetime parts
    assert sources.count("x2") == 2  # value and its missing indicator


def test_linear_contributions_add_up_to_the_logit_difference(table):
    X, _, schema, reference = table
    model = _fit("linear", table)
    found = attribute(model, X.iloc[:20], schema, reference)
    ref = reference_frame(reference, X)
    p_row, p_ref = model.predict_proba(X.iloc[:20]), model.predict_proba(ref)
    index = p_row.argmax(axis=1)
    expected = logit(p_row[np.arange(20), index]) - logit(p_ref[0, index])
    assert found.unit == "log-odds"
    np.testing.assert_allclose(found.values.sum(axis=1), expected, atol=1e-6)


def test_treeshap_adds_up_to_the_raw_score(table):
    X, _, schema, reference = table
    model = _fit("lgbm", table)
    found = attribute(model, X.iloc[:20], schema, reference)
    encoded = model[:-1].transform(X.iloc[:20])
    raw = model[-1].predict(encoded, raw_score=True)
    base = model[-1].predict(encoded, pred_contrib=True)[:, -1]
    sign = np.where(model.predict_proba(X.iloc[:20]).argmax(axis=1) == 1, 1, -1)
    np.testing.assert_allclose(found.values.sum(axis=1), sign * (raw - base), atol=1e-6)
    assert found.method.startswith("TreeSHAP")


def test_integrated_gradients_are_complete(table):
    X, _, schema, reference = table
    model = _fit("mlp", table, model__max_epochs=5)
    found = attribute(model, X.iloc[:10], schema, reference)
    ref = reference_frame(reference, X)
    index = model.predict_proba(X.iloc[:10]).argmax(axis=1)
    expected = _predicted_proba(model, X.iloc[:10]) - model.predict_proba(ref)[0, index]
    np.testing.assert_allclose(found.values.sum(axis=1), expected, atol=0.03)
    assert found.method == "integrated gradients" and found.unit == "probability"


def test_regression_contributions_are_in_target_units():
    frame, schema = infer_schema(make_table(n=200, task="regression"), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    reference = reference_values(X, schema)
    model = get_family("linear").build(schema, random_state=0).fit(X, y)
    found = attribute(model, X.iloc[:5], schema, reference)
    expected = model.predict(X.iloc[:5]) - model.predict(reference_frame(reference, X))[0]
    np.testing.assert_allclose(found.values.sum(axis=1), expected, atol=1e-6)
    assert found.unit == "target units"


def test_explain_row_lists_the_largest_contributions_first(table):
    X, _, schema, reference = table
    for family, method in (("linear", "coefficient"), ("knn", "replace-with-reference")):
        found = explain_row(_fit(family, table), family, X.iloc[[3]], schema, reference, top=3)
        sizes = [abs(c.contribution) for c in found.contributions]
        assert len(sizes) == 3 and sizes == sorted(sizes, reverse=True)
        assert method in found.method
        assert found.prediction in ("yes", "no")
        assert found.contributions[0].value != ""
        assert type(found).from_dict(found.to_dict()) == found


def test_other_modalities_are_refused_until_they_plug_in(table):
    X, _, schema, reference = table
    text = dataclasses.replace(schema, modality=Modality.AUDIO)
    with pytest.raises(ConfigError, match="not available yet"):
        attribute(_fit("linear", table), X.iloc[:2], text, reference)
