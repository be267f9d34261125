"""Deep-learning families. Importing this package registers them.

* ``mlp``: a multilayer perceptron with categorical embeddings;
* ``resmlp``: the residual MLP of Gorishniy et al. (2021) for tabular data.

Each builds ``Pipeline([clean, encode, model])`` from the schema alone; the network trains with
the shared loop in :mod:`mlvsdl.families.dl.trainer`.
"""

from __future__ import annotations

from functools import partial

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from mlvsdl.families.base import Family
from mlvsdl.families.dl.tabular import TabularNetClassifier, TabularNetRegressor
from mlvsdl.families.registry import register
from mlvsdl.features.tabular import cleaned_columns, network_encoder, table_cleaner
from mlvsdl.types import SUPERVISED, Kind, Modality, Schema

__all__ = ["MLP_FAMILY", "RESMLP_FAMILY", "build_tabular_net_pipeline"]


def build_tabular_net_pipeline(
    schema: Schema, random_state: int, *, arch: str, hidden_dim: int = 256
) -> BaseEstimator:
    """Unfitted ``clean -> encode -> network`` pipeline for ``schema``."""
    model_class = TabularNetClassifier if schema.task.is_classification else TabularNetRegressor
    model = model_class(
        arch=arch,
        hidden_dim=hidden_dim,
        n_categorical=len(cleaned_columns(schema)[1]),
        random_state=random_state,
    )
    return Pipeline(
        [
            ("clean", table_cleaner(schema)),
            ("encode", network_encoder(schema)),
            ("model", model),
        ]
    )


MLP_FAMILY = register(
    Family(
        key="mlp",
        title="MLP",
        kind=Kind.DL,
        tasks=SUPERVISED,
        modalities=frozenset({Modality.TABULAR}),
        factory=partial(build_tabular_net_pipeline, arch="mlp"),
        relative_cost=30.0,
        max_train_rows=200_000,
        interpretable=False,
        description="Multilayer perceptron with categorical embeddings, early-stopped (PyTorch).",
        self_limiting=True,
    )
)

RESMLP_FAMILY = register(
    Family(
        key="resmlp",
        title="Residual MLP",
        kind=Kind.DL,
        tasks=SUPERVISED,
        modalities=frozenset({Modality.TABULAR}),
        # width 128: each block has a 256-wide inner layer, ~200k weights, CPU-friendly
        factory=partial(build_tabular_net_pipeline, arch="resmlp", hidden_dim=128),
        relative_cost=50.0,
        max_train_rows=200_000,
        interpretable=False,
        description="Tabular ResNet (Gorishniy et al. 2021) with categorical embeddings (PyTorch).",
        self_limiting=True,
    )
)
