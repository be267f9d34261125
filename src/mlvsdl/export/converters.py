"""Graph builders behind :func:`mlvsdl.export.onnx.export_onnx` (needs the ``export`` extra).

* ``classical_graph``: skl2onnx on ``encode -> model`` (a copy prepared by
  :mod:`mlvsdl.export.sklearn_ops`, which adds exact converters for the missing-value indicators
  and one-hot encoding with infrequent levels, and LightGBM through onnxmltools).
* ``network_graph``: skl2onnx on ``encode`` (output ``encoded``), ``torch.onnx`` (dynamo) on the
  network plus the code handling of ``TabularNet*._to_tensors`` and the softmax, joined into one
  graph; the label is ``classes[argmax(probabilities)]``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from sklearn.pipeline import Pipeline
from torch import Tensor, nn

from mlvsdl.errors import ConfigError
from mlvsdl.export.sklearn_ops import prepare, register

__all__ = ["DETECTORS", "classical_graph", "detector_graph", "network_graph"]

logger = logging.getLogger(__name__)


def _convert(estimator: Any, inputs: list[Any], opset: dict[str, int], **kwargs: Any) -> Any:
    from skl2onnx import convert_sklearn

    register()
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    try:
        return convert_sklearn(estimator, initial_types=inputs, target_opset=opset, **kwargs)
    except Exception as exc:  # skl2onnx raises many types for an unsupported estimator
        logger.debug("skl2onnx failed on %s", type(final).__name__, exc_info=exc)
        raise ConfigError(
            f"no ONNX converter for {type(final).__name__} (or a step before it); "
            "export it with --format bundle instead."
        ) from None


def classical_graph(
    rest: list[tuple[str, Any]], inputs: list[Any], opset: dict[str, int], classification: bool
) -> onnx.ModelProto:
    """``encode -> model`` through skl2onnx; outputs label + probabilities, or prediction."""
    pipeline = prepare(copy.deepcopy(Pipeline(rest)))
    final = pipeline.steps[-1][1]
    options = {id(final): {"zipmap": False}} if classification else None
    model = _convert(pipeline, inputs, opset, options=options)
    if not classification:
        _rename(model.graph, model.graph.output[0].name, "prediction")
    return model


class _NetHead(nn.Module):
    """Encoded float matrix -> probabilities (or predictions), as TabularNet* computes them."""

    def __init__(self, estimator: Any) -> None:
        super().__init__()
        self.net = copy.deepcopy(estimator.module_).cpu().float().eval()
        self.n_numeric = int(estimator.n_features_in_) - int(estimator.n_categorical)
        sizes = torch.tensor(estimator.cardinalities_, dtype=torch.int64)
        self.register_buffer("sizes", sizes)
        self.classification = hasattr(estimator, "classes_")
        self.y_mean = float(getattr(estimator, "y_mean_", 0.0))
        self.y_scale = float(getattr(estimator, "y_scale_", 1.0))

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, n_numeric + n_categorical) float32; the last columns are codes (-1: unknown)
        codes = torch.round(x[:, self.n_numeric :]).to(torch.int64) + 1  # (B, n_categorical)
        unknown = (codes < 0) | (codes >= self.sizes)
        codes = torch.where(unknown, torch.zeros_like(codes), codes)
        out = self.net(x[:, : self.n_numeric], codes)  # (B, n_outputs)
        if self.classification:
            return torch.softmax(out, dim=1)  # (B, n_classes)
        return out[:, :1] * self.y_scale + self.y_mean  # (B, 1)


def network_graph(
    rest: list[tuple[str, Any]], inputs: list[Any], opset: dict[str, int]
) -> onnx.ModelProto:
    """skl2onnx encoder + torch.onnx network head, joined on the encoded matrix."""
    from skl2onnx.common.data_types import FloatTensorType

    if len(rest) != 2:
        raise ConfigError("expected a network pipeline of clean -> encode -> model.")
    encoder, estimator = rest[0][1], rest[1][1]
    width = int(estimator.n_features_in_)
    encoded = _convert(
        prepare(copy.deepcopy(encoder)),
        inputs,
        opset,
        final_types=[("encoded", FloatTensorType([None, width]))],
    )
    head = _NetHead(estimator)
    output = "probabilities" if head.classification else "prediction"
    program = torch.onnx.export(
        head,
        (torch.zeros(2, width),),
        dynamo=True,
        input_names=["encoded_in"],
        output_names=[output],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        opset_version=opset[""],
        verbose=False,
    )
    network = program.model_proto
    encoded.ir_version = network.ir_version = max(encoded.ir_version, network.ir_version)
    merged = onnx.compose.merge_models(
        encoded, network, io_map=[("encoded", "encoded_in")], prefix2="net_"
    )
    _rename(merged.graph, f"net_{output}", output)
    if head.classification:
        _add_label(merged.graph, np.asarray(estimator.classes_))
    return merged


# Anomaly detectors with an exact graph: the isolation forest (skl2onnx's converter on its
# forest) and PCA reconstruction (a few matrix operations in float64).
DETECTORS = ("IsolationForestDetector", "PCADetector")


def detector_graph(
    rest: list[tuple[str, Any]], inputs: list[Any], opset: dict[str, int]
) -> onnx.ModelProto:
    """skl2onnx encoder, then the detector's anomaly score (``-score_samples``, float64) and its
    flag (``anomaly_score > -offset_``): outputs ``anomaly_score`` (N,) and ``is_anomaly`` (N,)."""
    from skl2onnx.common.data_types import FloatTensorType

    if len(rest) != 2:
        raise ConfigError("expected a detector pipeline of clean -> encode -> model.")
    encoder, detector = rest[0][1], rest[1][1]
    width = int(detector.n_features_in_)
    graph = _convert(
        prepare(copy.deepcopy(encoder)),
        inputs,
        opset,
        final_types=[("encoded", FloatTensorType([None, width]))],
    )
    name = type(detector).__name__
    if name == "PCADetector":
        _add_pca_score(graph.graph, detector)
    elif name == "IsolationForestDetector":
        graph = _add_forest_score(graph, detector, width, opset)
    else:
        raise ConfigError(f"{name} has no exact ONNX graph; export it with --format bundle.")
    g = graph.graph
    g.initializer.append(
        helper.make_tensor("threshold", TensorProto.DOUBLE, [], [-detector.offset_])
    )
    g.node.append(helper.make_node("Greater", ["anomaly_score", "threshold"], ["is_anomaly"]))
    del g.output[:]
    g.output.extend(
        [
            helper.make_tensor_value_info("anomaly_score", TensorProto.DOUBLE, [None]),
            helper.make_tensor_value_info("is_anomaly", TensorProto.BOOL, [None]),
        ]
    )
    return graph


def _add_pca_score(g: onnx.GraphProto, detector: Any) -> None:
    """Squared distance to the principal subspace: ``sum((c - c W'W)^2)``, ``c = x - mean``."""
    mean = np.asarray(detector.mean_, dtype=np.float64)
    components = np.asarray(detector.components_, dtype=np.float64)
    g.initializer.extend(
        [
            helper.make_tensor("pca_mean", TensorProto.DOUBLE, mean.shape, mean.ravel()),
            helper.make_tensor(
                "pca_wt", TensorProto.DOUBLE, components.T.shape, components.T.ravel()
            ),
            helper.make_tensor("pca_w", TensorProto.DOUBLE, components.shape, components.ravel()),
            helper.make_tensor("sum_axes", TensorProto.INT64, [1], [1]),
        ]
    )
    g.node.extend(
        [
            helper.make_node("Cast", ["encoded"], ["encoded64"], to=TensorProto.DOUBLE),
            helper.make_node("Sub", ["encoded64", "pca_mean"], ["centered"]),
            helper.make_node("MatMul", ["centered", "pca_wt"], ["projected"]),
            helper.make_node("MatMul", ["projected", "pca_w"], ["reconstructed"]),
            helper.make_node("Sub", ["centered", "reconstructed"], ["residual"]),
            helper.make_node("Mul", ["residual", "residual"], ["squared"]),
            helper.make_node("ReduceSum", ["squared", "sum_axes"], ["anomaly_score"], keepdims=0),
        ]
    )


def _add_forest_score(
    encoded: onnx.ModelProto, detector: Any, width: int, opset: dict[str, int]
) -> onnx.ModelProto:
    """skl2onnx's isolation forest on the encoded matrix; its ``scores`` output is scikit-learn's
    ``decision_function`` (``score_samples - offset_`` of the forest), so the anomaly score is
    ``-(scores + forest.offset_)``."""
    from skl2onnx.common.data_types import FloatTensorType

    forest = detector.forest_
    trees = _convert(
        forest,
        [("encoded_in", FloatTensorType([None, width]))],
        opset,
        options={id(forest): {"score_samples": False}},
    )
    encoded.ir_version = trees.ir_version = max(encoded.ir_version, trees.ir_version)
    versions: dict[str, int] = {}  # one opset per domain, the higher, in both for the merge
    for model in (encoded, trees):
        for o in model.opset_import:
            versions[o.domain] = max(versions.get(o.domain, 0), o.version)
    for model in (encoded, trees):
        del model.opset_import[:]
        model.opset_import.extend(helper.make_opsetid(d, v) for d, v in versions.items())
    merged = onnx.compose.merge_models(
        encoded, trees, io_map=[("encoded", "encoded_in")], prefix2="forest_"
    )
    g = merged.graph
    scores = next(o.name for o in g.output if "score" in o.name)
    g.initializer.extend(
        [
            helper.make_tensor("forest_offset", TensorProto.DOUBLE, [], [float(forest.offset_)]),
            helper.make_tensor("flat", TensorProto.INT64, [1], [-1]),
        ]
    )
    g.node.extend(
        [
            helper.make_node("Cast", [scores], ["forest_scores64"], to=TensorProto.DOUBLE),
            helper.make_node("Reshape", ["forest_scores64", "flat"], ["forest_scores_flat"]),
            helper.make_node("Add", ["forest_scores_flat", "forest_offset"], ["forest_samples"]),
            helper.make_node("Neg", ["forest_samples"], ["anomaly_score"]),
        ]
    )
    return merged


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
        node.input[:] = [new if name == old else name for name in node.input]
    for value in graph.output:
        if value.name == old:
            value.name = new


def _add_label(graph: onnx.GraphProto, classes: np.ndarray) -> None:
    """``label = classes[argmax(probabilities, axis=1)]`` as the graph's first output."""
    if classes.dtype.kind in "iub":
        elem, values = TensorProto.INT64, classes.astype(np.int64).tolist()
    else:
        elem, values = TensorProto.STRING, [str(c).encode() for c in classes]
    graph.initializer.append(helper.make_tensor("class_labels", elem, [len(values)], values))
    graph.node.extend(
        [
            helper.make_node("ArgMax", ["probabilities"], ["label_index"], axis=1, keepdims=0),
            helper.make_node("Gather", ["class_labels", "label_index"], ["label"], axis=0),
        ]
    )
    graph.output.insert(0, helper.make_tensor_value_info("label", elem, [None]))
