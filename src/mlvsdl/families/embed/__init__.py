"""Dimensionality-reduction families (``--task embed``). Importing this package registers them.

Each factory returns ``Pipeline([*input steps, ("model", reducer)])``. The input steps are the
same for every family of a modality, so the metrics (measured in the reducer's input space, see
``tasks/embed.py``) compare like with like:

* tables: the shared cleaning, then one-hot categoricals and imputed, standardized numerics
  (dense), as the anomaly detectors encode them;
* text: TF-IDF of word 1-2 grams (at most ``TEXT_FEATURES``; sparse) with text statistics and
  the other columns encoded as for linear models;
* images: pixels in [0, 1], flattened;
* audio: MFCC statistics, standardized.

The MiniLM family is the exception: its input space is the frozen sentence embedding (384
numbers), so its trustworthiness and reconstruction error are measured there.

Reducers: PCA (tables, images, audio) and truncated SVD (text: TF-IDF stays sparse) from
scikit-learn; an autoencoder and a VAE (tables, images, audio; ``deep.py``); frozen MiniLM
sentence embeddings + PCA (text). t-SNE has no ``transform`` for new rows, so it is only the
report's picture; UMAP (``umap-learn``) is not a family: see ``docs/DESIGN.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlvsdl.families.base import Family
from mlvsdl.families.embed.deep import AutoencoderEmbedding, VAEEmbedding
from mlvsdl.families.registry import register
from mlvsdl.features.tabular import linear_encoder, table_cleaner
from mlvsdl.types import ColumnKind, Kind, Modality, Schema, Task

__all__ = [
    "AutoencoderEmbedding",
    "VAEEmbedding",
    "embed_pipeline",
    "input_steps",
    "input_width",
]

EMBED = frozenset({Task.EMBED})
NUMERIC_INPUTS = frozenset({Modality.TABULAR, Modality.IMAGE, Modality.AUDIO})
TEXT = frozenset({Modality.TEXT})
TEXT_FEATURES = 5_000  # word 1-2 grams of the TF-IDF input space
MINILM_DIM = 384


def input_steps(schema: Schema) -> list[tuple[str, Any]]:
    """The unfitted steps that turn the raw frame into the reducer's input, by modality."""
    if schema.modality is Modality.TEXT:
        from mlvsdl.features.text import text_cleaner, text_features

        features = text_features(schema, char_ngrams=False, max_word_features=TEXT_FEATURES)
        return [("clean", text_cleaner(schema)), ("features", features)]
    if schema.modality is Modality.IMAGE:
        from mlvsdl.features.image import Flatten, image_arrays

        return [("load", image_arrays(schema)), ("flatten", Flatten())]
    if schema.modality is Modality.AUDIO:
        from mlvsdl.features.audio import MFCCStats, waveforms

        load = waveforms(schema)
        mfcc = MFCCStats(sample_rate=load.sample_rate)
        return [("load", load), ("mfcc", mfcc), ("scale", StandardScaler())]
    return [("clean", table_cleaner(schema)), ("encode", linear_encoder(schema, dense=True))]


def embed_pipeline(schema: Schema, reducer: Any) -> Pipeline:
    """Unfitted ``input steps -> ("model", reducer)``."""
    return Pipeline([*input_steps(schema), ("model", reducer)])


def input_width(frame: pd.DataFrame, schema: Schema) -> int:
    """How many input features the narrowest family of this modality reduces (``--dims`` must
    be below it): the encoded table, the pixels, the MFCC statistics, or for text the TF-IDF
    vocabulary and MiniLM's 384."""
    if schema.modality is Modality.IMAGE:
        size = schema.media.get("image_size", (28, 28))
        return int(schema.media.get("channels", 1)) * int(np.prod(size))
    steps = input_steps(schema)
    width = Pipeline(steps).fit_transform(frame).shape[1]
    return min(width, MINILM_DIM) if schema.modality is Modality.TEXT else int(width)


def _dims(schema: Schema) -> int:
    return int(schema.options.get("dims", 2))


def _pca(schema: Schema, seed: int) -> Pipeline:
    return embed_pipeline(schema, PCA(n_components=_dims(schema), random_state=seed))


def _svd(schema: Schema, seed: int) -> Pipeline:
    return embed_pipeline(schema, TruncatedSVD(n_components=_dims(schema), random_state=seed))


def _hidden(schema: Schema) -> int:
    return 256 if schema.modality is Modality.IMAGE else 128


def _autoencoder(schema: Schema, seed: int) -> Pipeline:
    model = AutoencoderEmbedding(_dims(schema), hidden_dim=_hidden(schema), random_state=seed)
    return embed_pipeline(schema, model)


def _vae(schema: Schema, seed: int) -> Pipeline:
    model = VAEEmbedding(_dims(schema), hidden_dim=_hidden(schema), random_state=seed)
    return embed_pipeline(schema, model)


def _minilm_pca(schema: Schema, seed: int) -> Pipeline:
    from mlvsdl.families.text.pretrained import SentenceEmbeddings
    from mlvsdl.features.text import text_cleaner

    text = tuple(schema.of_kind(ColumnKind.TEXT))
    return Pipeline(
        [
            ("clean", text_cleaner(schema)),
            ("encode", SentenceEmbeddings(text=text)),
            ("model", PCA(n_components=_dims(schema), random_state=seed)),
        ]
    )


for _family in (
    Family(
        "pca",
        "PCA",
        Kind.ML,
        EMBED,
        NUMERIC_INPUTS,
        _pca,
        relative_cost=0.5,
        priority=0,
        interpretable=True,
        description="Principal components: the D directions of most variance (linear).",
    ),
    Family(
        "tsvd",
        "Truncated SVD",
        Kind.ML,
        EMBED,
        TEXT,
        _svd,
        relative_cost=0.5,
        priority=0,
        interpretable=True,
        description="Truncated SVD of the sparse TF-IDF matrix (latent semantic analysis).",
    ),
    Family(
        "ae",
        "Autoencoder",
        Kind.DL,
        EMBED,
        NUMERIC_INPUTS,
        _autoencoder,
        relative_cost=20.0,
        max_train_rows=200_000,
        description="Dense autoencoder with a D-unit linear bottleneck; squared error loss.",
        self_limiting=True,
    ),
    Family(
        "vae_mean",
        "Variational autoencoder",
        Kind.DL,
        EMBED,
        NUMERIC_INPUTS,
        _vae,
        relative_cost=25.0,
        max_train_rows=200_000,
        description="VAE (Kingma & Welling 2014); coordinates = the posterior mean.",
        self_limiting=True,
    ),
    Family(
        "minilm_pca",
        "MiniLM embeddings + PCA",
        Kind.DL,
        EMBED,
        TEXT,
        _minilm_pca,
        relative_cost=15.0,
        max_train_rows=100_000,
        description="Frozen all-MiniLM-L6-v2 sentence embeddings reduced to D by PCA.",
    ),
):
    register(_family)
