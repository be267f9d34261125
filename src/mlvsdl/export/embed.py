"""ONNX export of an embedding (``--task embed``): the encoding and PCA in one graph.

The graph takes the cleaned columns (as every exported tabular model) and outputs
``coordinates`` (N, D), PCA's ``transform`` computed by skl2onnx's converter. It is written only
when ONNX Runtime reproduces the model's coordinates on the check rows within the exporter's
tolerance. The other reducers are refused with the reason: the random projection baseline and
truncated SVD are not exported (the first is a baseline, the second reduces text, whose TF-IDF
step has no exact graph here), and the autoencoders' encoders are not joined to the encoding
graph yet (export them with ``--format bundle``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pandas as pd

from mlvsdl.errors import ConfigError

__all__ = ["EMBEDDERS", "check_embedder", "embedding_graph", "verify_embedding"]

EMBEDDERS = frozenset({"PCA"})
_WHY_NOT = {
    "GaussianRandomProjection": "it is the baseline, not a model to deploy",
    "AutoencoderEmbedding": "the network's encoder is not joined to the encoding graph yet",
    "VAEEmbedding": "the network's encoder is not joined to the encoding graph yet",
}


def check_embedder(final: Any) -> None:
    name = type(final).__name__
    if name not in EMBEDDERS:
        why = _WHY_NOT.get(name, "only PCA has an exact graph yet")
        raise ConfigError(
            f"{name} is not exported to ONNX: {why}; export it with --format bundle instead."
        )


def embedding_graph(
    rest: list[tuple[str, Any]], inputs: list[Any], opset: dict[str, int]
) -> onnx.ModelProto:
    """``encode -> PCA`` through skl2onnx; the output is named ``coordinates``."""
    from mlvsdl.export.converters import classical_graph

    model = classical_graph(rest, inputs, opset, classification=False)  # output: prediction
    for node in model.graph.node:
        node.output[:] = ["coordinates" if n == "prediction" else n for n in node.output]
    for value in model.graph.output:
        if value.name == "prediction":
            value.name = "coordinates"
    return model


def verify_embedding(
    graph: onnx.ModelProto, estimator: Any, probe: pd.DataFrame, tolerance: float
) -> None:
    """Refuse a graph whose coordinates differ from ``estimator.transform`` on ``probe``."""
    import onnxruntime

    from mlvsdl.export.onnx import onnx_feed

    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(["coordinates"], onnx_feed(estimator, probe))
    expected = np.asarray(estimator.transform(probe), dtype=np.float64)
    gap = float(np.max(np.abs(got - expected) / (1.0 + np.abs(expected))))
    if not gap <= tolerance:
        raise ConfigError(
            f"the ONNX graph disagrees with the embedding by {gap:.2g} on check rows (tolerance "
            f"{tolerance:g}); nothing was written. Export it with --format bundle instead."
        )
