"""Global importance: permutation (every model), native views, agreement between models."""

from __future__ import annotations

import numpy as np
import pytest

from mlvsdl.data import infer_schema
from mlvsdl.evaluate.importance import (
    ModelImportance,
    agreement,
    native_importance,
    permutation_importance,
)
from mlvsdl.evaluate.local import reference_values
from mlvsdl.evaluate.metrics import METRICS
from mlvsdl.families.registry import get_family
from tests.conftest import make_table
from tests.evaluate.test_cost import _one_torch_thread, quick  # noqa: F401


@pytest.fixture(scope="module")
def table():
    frame, schema = infer_schema(make_table(n=300), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    return X, y, schema, reference_values(X, schema)


def _fit(name, table):
    X, y, schema, _ = table
    return quick(get_family(name).build(schema, random_state=0)).fit(X.iloc[:200], y[:200])


def test_permutation_ranks_the_signal_above_the_noise(table):
    X, y, schema, _ = table
    model = _fit("linear", table)
    means, stds, repeats = permutation_importance(
        model, X.iloc[200:], y[200:], METRICS["roc_auc"], schema.feature_names, max_repeats=3
    )
    assert set(means) == set(schema.feature_names) == set(stds)
    assert max(means, key=means.get) == "x1"  # the strongest term of the target
    assert means["x1"] > 0.1 and abs(means["when"]) < 0.05  # dates carry no signal here
    assert 1 <= repeats <= 3
    again = permutation_importance(
        model, X.iloc[200:], y[200:], METRICS["roc_auc"], schema.feature_names, max_repeats=3
    )
    assert again[0] == means  # seeded


@pytest.mark.parametrize(
    ("family", "method"),
    [
        ("linear", "coefficient"),
        ("lgbm", "TreeSHAP"),
        ("random_forest", "impurity"),
        ("mlp", "integrated gradients"),
    ],
)
def test_native_views_are_shares_over_raw_columns(table, family, method):
    X, _, schema, reference = table
    found = native_importance(_fit(family, table), X.iloc[200:260], schema, reference)
    assert found is not None
    name, shares = found
    assert method in name
    assert set(shares) == set(schema.feature_names)
    assert sum(shares.values()) == pytest.approx(1.0)
    if family != "mlp":  # three epochs are too few for a network to find it reliably
        assert max(shares, key=shares.get) in ("x1", "colour", "x2")


def test_models_without_a_native_view_get_none(table):
    X, _, schema, reference = table
    assert native_importance(_fit("knn", table), X.iloc[200:220], schema, reference) is None


def _imp(name: str, values: dict[str, float]) -> ModelImportance:
    return ModelImportance(name, False, values, dict.fromkeys(values, 0.0), 1, 10)


def test_agreement_is_rank_correlation_and_consensus():
    a = _imp("a", {"x": 0.5, "y": 0.3, "z": 0.1, "w": 0.0})
    b = _imp("b", {"x": 0.4, "y": 0.2, "z": 0.1, "w": 0.05})
    c = _imp("c", {"x": 0.0, "y": 0.1, "z": 0.2, "w": 0.3})
    found = agreement([a, b, c], {"a": "ml", "b": "dl", "c": "ml"})
    assert found is not None
    assert found.spearman[0][1] == pytest.approx(1.0)
    assert found.spearman[0][2] == pytest.approx(-1.0)
    assert found.mean_spearman_ml_dl == pytest.approx(np.mean([1.0, -1.0]))
    assert "x" in found.consensus_top and "y" in found.consensus_top
    flat = _imp("d", dict.fromkeys("xyzw", 0.0))
    assert agreement([a, flat], {}) is None  # a model with no signal is left out
