"""Clustering families (``--task cluster``). Importing this package registers them.

Each factory returns ``Pipeline([prepare..., ("model", clusterer)])``, the clusterer a
:class:`~mlvsdl.families.cluster.base.BaseClusterer` given ``n_clusters = --k`` (None: its rule):

* tables: the shared cleaning step and one-hot categoricals with imputed, standardized numerics
  (dense); the clusterer works on that encoding, which is also the evaluation space;
* text: the text columns as strings (other columns are left out); classical clusterers work in
  latent semantic analysis (:class:`TextLSA`: TF-IDF of words and word pairs, truncated SVD to
  100 dimensions, unit length), which is also the evaluation space; the MiniLM family clusters
  the frozen sentence embeddings and is scored in the same LSA space;
* images: the pixels, flattened (the evaluation space); classical clusterers work on their
  first 50 principal components, the networks on the pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from mlvsdl.families.base import Family
from mlvsdl.families.cluster.base import BaseClusterer
from mlvsdl.families.cluster.classical import (
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    WardClusterer,
)
from mlvsdl.families.cluster.deep import AutoencoderKMeans, IDECClusterer
from mlvsdl.families.cluster.text import TextLSA
from mlvsdl.families.registry import register
from mlvsdl.features.image import CappedPCA, Flatten, image_arrays
from mlvsdl.features.tabular import linear_encoder, table_cleaner
from mlvsdl.features.text import text_cleaner
from mlvsdl.types import ColumnKind, Kind, Modality, Schema, Task

__all__ = [
    "AutoencoderKMeans",
    "BaseClusterer",
    "GaussianMixtureClusterer",
    "HDBSCANClusterer",
    "IDECClusterer",
    "KMeansClusterer",
    "TextLSA",
    "WardClusterer",
    "build_cluster_pipeline",
    "evaluation_space",
]

CLUSTER = frozenset({Task.CLUSTER})
CLASSICAL_MODALITIES = frozenset({Modality.TABULAR, Modality.TEXT, Modality.IMAGE})
NETWORK_MODALITIES = frozenset({Modality.TABULAR, Modality.IMAGE})
IMAGE_PCA = 50


def _lsa(schema: Schema, random_state: int) -> TextLSA:
    return TextLSA(text=tuple(schema.of_kind(ColumnKind.TEXT)), random_state=random_state)


def evaluation_space(schema: Schema, random_state: int) -> TextLSA | None:
    """The transformer of the shared evaluation space when it is not the input itself (text:
    LSA); None for tables and images."""
    return _lsa(schema, random_state) if schema.modality is Modality.TEXT else None


def build_cluster_pipeline(schema: Schema, model: BaseEstimator) -> Pipeline:
    """The modality's preparation steps, then ``model``."""
    if schema.modality is Modality.TEXT:
        steps: list[tuple[str, Any]] = [("clean", text_cleaner(schema))]
    elif schema.modality is Modality.IMAGE:
        steps = [("load", image_arrays(schema)), ("flatten", Flatten())]
    else:
        steps = [("clean", table_cleaner(schema)), ("encode", linear_encoder(schema, dense=True))]
    return Pipeline([*steps, ("model", model)])


def _classical(cls: type[BaseClusterer]) -> Callable[[Schema, int], Pipeline]:
    def factory(schema: Schema, random_state: int) -> Pipeline:
        reducer: Any = None
        space: Any = None
        if schema.modality is Modality.TEXT:
            reducer, space = _lsa(schema, random_state), "reducer"
        elif schema.modality is Modality.IMAGE:
            reducer = CappedPCA(n_components=IMAGE_PCA, random_state=random_state)
        model = cls(
            n_clusters=schema.options.get("k"),
            reducer=reducer,
            space=space,
            random_state=random_state,
        )
        return build_cluster_pipeline(schema, model)

    factory.__name__ = f"build_{cls.__name__}"
    return factory


def _network(cls: type[BaseClusterer]) -> Callable[[Schema, int], Pipeline]:
    def factory(schema: Schema, random_state: int) -> Pipeline:
        model = cls(n_clusters=schema.options.get("k"), random_state=random_state)
        return build_cluster_pipeline(schema, model)

    factory.__name__ = f"build_{cls.__name__}"
    return factory


def build_minilm_kmeans(schema: Schema, random_state: int) -> Pipeline:
    """k-means on frozen MiniLM sentence embeddings, scored in the run's LSA space."""
    from mlvsdl.families.text.pretrained import SentenceEmbeddings

    model = KMeansClusterer(
        n_clusters=schema.options.get("k"),
        reducer=SentenceEmbeddings(text=tuple(schema.of_kind(ColumnKind.TEXT))),
        space=_lsa(schema, random_state),
        random_state=random_state,
    )
    return build_cluster_pipeline(schema, model)


for _family in (
    Family(
        "kmeans",
        "k-means",
        Kind.ML,
        CLUSTER,
        CLASSICAL_MODALITIES,
        _classical(KMeansClusterer),
        relative_cost=1.0,
        priority=0,
        interpretable=True,
        description="k-means++ (10 restarts); k by silhouette over 2-10 unless --k.",
    ),
    Family(
        "gaussian_mixture",
        "Gaussian mixture",
        Kind.ML,
        CLUSTER,
        CLASSICAL_MODALITIES,
        _classical(GaussianMixtureClusterer),
        relative_cost=3.0,
        description="Gaussian mixture (full covariances up to 20 dims); k by BIC unless --k.",
    ),
    Family(
        "ward",
        "Agglomerative (Ward)",
        Kind.ML,
        CLUSTER,
        CLASSICAL_MODALITIES,
        _classical(WardClusterer),
        relative_cost=3.0,
        interpretable=True,
        description="Ward linkage on at most 5,000 rows, the rest by nearest centroid.",
    ),
    Family(
        "hdbscan",
        "HDBSCAN",
        Kind.ML,
        CLUSTER,
        CLASSICAL_MODALITIES,
        _classical(HDBSCANClusterer),
        relative_cost=3.0,
        description="Density clusters (its own k; noise = -1) on at most 10,000 rows.",
    ),
    Family(
        "ae_kmeans",
        "Autoencoder + k-means",
        Kind.DL,
        CLUSTER,
        NETWORK_MODALITIES,
        _network(AutoencoderKMeans),
        relative_cost=20.0,
        max_train_rows=200_000,
        description="k-means on the 10-d latent codes of a dense autoencoder (256-128-10).",
        self_limiting=True,
    ),
    Family(
        "idec",
        "IDEC (deep embedded clustering)",
        Kind.DL,
        CLUSTER,
        NETWORK_MODALITIES,
        _network(IDECClusterer),
        relative_cost=30.0,
        max_train_rows=200_000,
        description="Autoencoder fine-tuned with DEC's KL clustering loss (Guo et al. 2017).",
        self_limiting=True,
    ),
    Family(
        "minilm_kmeans",
        "MiniLM + k-means",
        Kind.DL,
        CLUSTER,
        frozenset({Modality.TEXT}),
        build_minilm_kmeans,
        relative_cost=10.0,
        description="k-means on frozen all-MiniLM-L6-v2 sentence embeddings.",
    ),
):
    register(_family)
