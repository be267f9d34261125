"""Exact ONNX conversions for the two encoder pieces skl2onnx gets wrong or lacks.

* ``SimpleImputer(add_indicator=True)``: skl2onnx drops the indicator columns. :func:`prepare`
  rewrites it (on a copy) as ``FeatureUnion(imputer, MissingIndicator)`` and
  :func:`_indicator_convert` converts the indicator: ``float(isnan(X[:, features_]))``.
* ``OneHotEncoder(handle_unknown="infrequent_if_exist")``: skl2onnx's graph fails on a category
  it never saw. :class:`OneHotForOnnx` wraps the fitted encoder and :func:`_onehot_convert`
  reproduces scikit-learn exactly: the frequent levels one-hot, then, where the column pooled
  rare levels, ``infrequent = 1 - sum(frequent)`` (a rare or unseen level lands there); a column
  without rare levels encodes an unseen level as all zeros.

:func:`register` teaches skl2onnx both, plus LightGBM through onnxmltools.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from onnx import TensorProto
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlvsdl.errors import ConfigError

__all__ = ["OneHotForOnnx", "prepare", "register"]

_INFREQUENT = "infrequent_sklearn"
_registered = False


class OneHotForOnnx(TransformerMixin, BaseEstimator):
    """A fitted OneHotEncoder marked for :func:`_onehot_convert` (conversion only)."""

    def __init__(self, encoder: OneHotEncoder | None = None) -> None:
        self.encoder = encoder

    def transform(self, X: Any) -> Any:
        return self.encoder.transform(X)  # type: ignore[union-attr]


def register() -> None:
    """Register the converters with skl2onnx, once per process."""
    global _registered
    if _registered:
        return
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from mlvsdl.families.ml.lgbm import TimedLGBMClassifier, TimedLGBMRegressor

    for classifier in (LGBMClassifier, TimedLGBMClassifier):  # the timed ones are LightGBM's
        update_registered_converter(
            classifier,
            f"LightGbm{classifier.__name__}",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
        )
    for regressor in (LGBMRegressor, TimedLGBMRegressor):
        update_registered_converter(
            regressor,
            f"LightGbm{regressor.__name__}",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
    update_registered_converter(
        MissingIndicator, "MlvsdlMissingIndicator", _indicator_shape, _indicator_convert
    )
    update_registered_converter(OneHotForOnnx, "MlvsdlOneHot", _onehot_shape, _onehot_convert)
    _registered = True


def prepare(estimator: Any) -> Any:
    """Rewrite indicator imputers and one-hot encoders in place (call on a copy)."""
    if isinstance(estimator, SimpleImputer) and estimator.add_indicator:
        imputer = copy.copy(estimator)
        imputer.add_indicator = False
        vars(imputer).pop("indicator_", None)
        return FeatureUnion([("impute", imputer), ("indicator", estimator.indicator_)])
    if isinstance(estimator, OneHotEncoder):
        return OneHotForOnnx(estimator)
    if isinstance(estimator, Pipeline):
        estimator.steps = [(name, prepare(step)) for name, step in estimator.steps]
    if isinstance(estimator, ColumnTransformer):
        estimator.transformers_ = [
            (name, step if isinstance(step, str) else prepare(step), columns)
            for name, step, columns in estimator.transformers_
        ]
    return estimator


def _indicator_shape(operator: Any) -> None:
    rows = operator.inputs[0].get_first_dimension()
    width = len(operator.raw_operator.features_)
    operator.outputs[0].type = operator.inputs[0].type.__class__([rows, width])


def _indicator_convert(scope: Any, operator: Any, container: Any) -> None:
    """``float(isnan(X[:, features_]))``, as MissingIndicator(features='missing-only')."""
    from skl2onnx.algebra.onnx_ops import OnnxCast, OnnxGather, OnnxIsNaN

    version = container.target_opset
    features = np.asarray(operator.raw_operator.features_, dtype=np.int64)
    picked = OnnxGather(operator.inputs[0], features, axis=1, op_version=version)
    node = OnnxCast(
        OnnxIsNaN(picked, op_version=version),
        to=TensorProto.FLOAT,
        op_version=version,
        output_names=operator.outputs[0],
    )
    node.add_to(scope, container)


def _levels(encoder: OneHotEncoder, index: int) -> tuple[list[Any], list[Any]]:
    """Frequent levels in output order, and the levels pooled as infrequent (maybe none)."""
    transformed = list(encoder._compute_transformed_categories(index))
    if _INFREQUENT not in transformed:
        return transformed, []
    frequent = [c for c in transformed if c != _INFREQUENT]
    return frequent, [c for c in encoder.categories_[index] if c not in frequent]


def _onehot_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    encoder = operator.raw_operator.encoder
    width = 0
    for index in range(len(encoder.categories_)):
        frequent, rare = _levels(encoder, index)
        width += len(frequent) + (1 if rare else 0)
    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), width])


def _onehot_convert(scope: Any, operator: Any, container: Any) -> None:
    encoder = operator.raw_operator.encoder
    columns = [
        (source.onnx_name, j, source.get_second_dimension())
        for source in operator.inputs
        for j in range(source.get_second_dimension())
    ]
    parts = []
    for index, (name, j, width) in enumerate(columns):
        frequent, rare = _levels(encoder, index)
        if not frequent:
            raise ConfigError(f"category column {index} has only rare levels; cannot export it.")
        if width != 1:
            name = _node(scope, container, "Gather", [name, _const(scope, container, [j])], axis=1)
        levels = np.array([str(c).encode() for c in [*frequent, *rare]])
        encoded = _node(
            scope, container, "OneHotEncoder", [name], op_domain="ai.onnx.ml",
            cats_strings=levels, zeros=1,
        )  # fmt: skip  # (N, 1, n_levels)
        if rare:
            sizes = _const(scope, container, [len(frequent), len(rare)])
            known = _node(scope, container, "Split", [encoded, sizes], axis=-1, n_outputs=2)[0]
            axis = _const(scope, container, [-1])
            total = _node(scope, container, "ReduceSum", [known, axis], keepdims=1)
            one = _const(scope, container, [1.0], TensorProto.FLOAT)
            pooled = _node(scope, container, "Sub", [one, total])
            encoded = _node(scope, container, "Concat", [known, pooled], axis=-1)
        parts.append(encoded)
    joined = parts[0] if len(parts) == 1 else _node(scope, container, "Concat", parts, axis=-1)
    shape = _const(scope, container, [-1, operator.outputs[0].type.shape[1]])
    container.add_node(
        "Reshape", [joined, shape], operator.outputs[0].onnx_name,
        name=scope.get_unique_operator_name("Reshape"),
    )  # fmt: skip


def _const(scope: Any, container: Any, values: list[Any], kind: int = TensorProto.INT64) -> str:
    name = scope.get_unique_variable_name("const")
    container.add_initializer(name, kind, [len(values)], values)
    return name


def _node(
    scope: Any, container: Any, op: str, inputs: list[str], *, n_outputs: int = 1, **attrs: Any
) -> Any:
    """Add one node; return its output name (or names when ``n_outputs`` > 1)."""
    outputs = [scope.get_unique_variable_name(op.lower()) for _ in range(n_outputs)]
    container.add_node(op, inputs, outputs, name=scope.get_unique_operator_name(op), **attrs)
    return outputs if n_outputs > 1 else outputs[0]
