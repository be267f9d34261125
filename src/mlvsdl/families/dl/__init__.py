"""Deep-learning families. Importing this package registers them.

* ``mlp``: a multilayer perceptron with categorical embeddings;
* ``resmlp``: the residual MLP of Gorishniy et al. (2021) for tabular data;
* ``mlp_plr``: an MLP with periodic numerical embeddings (Gorishniy et al. 2022);
* ``ft_transformer``: the FT-Transformer of Gorishniy et al. (2021), its default configuration;
* ``tabm``: TabM (Gorishniy et al. 2024), 16 weight-sharing MLPs trained as an ensemble.

The last three use Yandex's reference modules (``rtdl_num_embeddings``,
``rtdl_revisiting_models``, ``tabm``) inside this project's estimators and loop.

Each builds ``Pipeline([clean, encode, model])`` from the schema alone; the network trains with
the shared loop in :mod:`mlvsdl.families.dl.trainer`.
"""

from __future__ import annotations

from functools import partial

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from mlvsdl.families.base import Family
from mlvsdl.families.dl.embedded import (
    FTTransformerClassifier,
    FTTransformerRegressor,
    MLPPLRClassifier,
    MLPPLRRegressor,
)
from mlvsdl.families.dl.tabm_net import TabMClassifier, TabMRegressor
from mlvsdl.families.dl.tabular import TabularNetClassifier, TabularNetRegressor
from mlvsdl.families.registry import register
from mlvsdl.features.tabular import cleaned_columns, network_encoder, table_cleaner
from mlvsdl.types import SUPERVISED, Kind, Modality, Schema

__all__ = [
    "FT_TRANSFORMER_FAMILY",
    "MLP_FAMILY",
    "MLP_PLR_FAMILY",
    "RESMLP_FAMILY",
    "TABM_FAMILY",
    "build_embedded_net_pipeline",
    "build_tabular_net_pipeline",
]


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
    return _pipeline(schema, model)


def build_embedded_net_pipeline(
    schema: Schema,
    random_state: int,
    *,
    classifier: type[BaseEstimator],
    regressor: type[BaseEstimator],
) -> BaseEstimator:
    """The same pipeline around one of the reference networks, at its default settings."""
    model_class = classifier if schema.task.is_classification else regressor
    model = model_class(n_categorical=len(cleaned_columns(schema)[1]), random_state=random_state)
    return _pipeline(schema, model)


def _pipeline(schema: Schema, model: BaseEstimator) -> Pipeline:
    return Pipeline(
        [
            ("clean", table_cleaner(schema)),
            ("encode", network_encoder(schema)),
            ("model", model),
        ]
    )


# seconds per epoch beside the MLP's (18,000 rows x 9 columns, one thread: MLP 2.1 s, MLP-PLR 2.3 s,
# FT-Transformer 58 s; TabM 33 s at 32 heads of width 256, and a quarter of that at its default
# 16 heads of width 128), times the MLP's 30
COST_MLP_PLR = 35.0
COST_FT_TRANSFORMER = 800.0
COST_TABM = 110.0

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

MLP_PLR_FAMILY = register(
    Family(
        key="mlp_plr",
        title="MLP-PLR",
        kind=Kind.DL,
        tasks=SUPERVISED,
        modalities=frozenset({Modality.TABULAR}),
        factory=partial(
            build_embedded_net_pipeline, classifier=MLPPLRClassifier, regressor=MLPPLRRegressor
        ),
        relative_cost=COST_MLP_PLR,
        max_train_rows=200_000,
        interpretable=False,
        description="MLP with periodic numerical embeddings (Gorishniy et al. 2022; PyTorch).",
        self_limiting=True,
    )
)

FT_TRANSFORMER_FAMILY = register(
    Family(
        key="ft_transformer",
        title="FT-Transformer",
        kind=Kind.DL,
        tasks=SUPERVISED,
        modalities=frozenset({Modality.TABULAR}),
        factory=partial(
            build_embedded_net_pipeline,
            classifier=FTTransformerClassifier,
            regressor=FTTransformerRegressor,
        ),
        relative_cost=COST_FT_TRANSFORMER,
        max_train_rows=200_000,
        interpretable=False,
        description=(
            "FT-Transformer, the paper's default (Gorishniy et al. 2021; rtdl, PyTorch); "
            "opt in with --families (slow on a CPU)."
        ),
        self_limiting=True,
        opt_in=True,
    )
)

TABM_FAMILY = register(
    Family(
        key="tabm",
        title="TabM",
        kind=Kind.DL,
        tasks=SUPERVISED,
        modalities=frozenset({Modality.TABULAR}),
        factory=partial(
            build_embedded_net_pipeline, classifier=TabMClassifier, regressor=TabMRegressor
        ),
        relative_cost=COST_TABM,
        max_train_rows=200_000,
        interpretable=False,
        description="TabM: 16 weight-sharing MLPs trained as one ensemble (Gorishniy et al. "
        "2024; tabm, PyTorch).",
        self_limiting=True,
    )
)
