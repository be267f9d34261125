"""Scikit-learn estimators for the text networks trained from scratch.

:class:`TextNetClassifier` and :class:`TextNetRegressor` take the frame
:class:`~mlvsdl.features.text.TextNetInputs` outputs (one text per row plus ``side_*`` floats),
learn a word vocabulary from the training texts (:mod:`~mlvsdl.families.text.tokenizer`) and
train a network of :mod:`~mlvsdl.families.text.nets` with the core training loop.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from torch import Tensor, nn

from mlvsdl.families.dl.network import (
    NetworkClassifierMixin,
    NetworkEstimator,
    NetworkRegressorMixin,
)
from mlvsdl.families.text.nets import TextNetConfig, build_text_net
from mlvsdl.families.text.tokenizer import bigram_ids, build_vocabulary, encode, sequence_length
from mlvsdl.features.text import split_net_inputs, text_cleaner, text_net_inputs
from mlvsdl.types import Schema

__all__ = ["TextNetClassifier", "TextNetRegressor", "build_text_net_pipeline"]

MAX_BIGRAM_BUCKETS = 50_000  # hashed word-pair embeddings of the fastText network


class _TextNet(NetworkEstimator):
    """Vocabulary learning and tensors for the text networks; see the module docstring."""

    def __init__(
        self,
        *,
        arch: str = "cnn",
        embed_dim: int = 128,
        hidden_dim: int = 128,
        n_layers: int = 2,
        dropout: float = 0.2,
        max_vocab: int = 30_000,
        max_len: int = 128,
        lr: float = 2e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int | None = 4,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.arch = arch
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.dropout = dropout
        self.max_vocab = max_vocab
        self.max_len = max_len
        super().__init__(
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            patience=patience,
            validation_fraction=validation_fraction,
            grad_clip=grad_clip,
            random_state=random_state,
            device=device,
            max_time_s=max_time_s,
        )

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        texts, side = split_net_inputs(X)
        self.vocabulary_ = np.asarray(build_vocabulary(texts, max_size=self.max_vocab), dtype=str)
        self.sequence_length_ = sequence_length(texts, cap=self.max_len)
        self.n_side_ = side.shape[1]
        self.n_buckets_ = int(np.clip(4 * len(self.vocabulary_), 1024, MAX_BIGRAM_BUCKETS))
        return self._tensors(texts, side)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        return self._tensors(*split_net_inputs(X))

    def _tensors(self, texts: list[str], side: np.ndarray) -> tuple[Tensor, Tensor]:
        ids = encode(texts, self.vocabulary_.tolist(), self.sequence_length_)
        if self.arch == "bag":
            ids = np.hstack([ids, bigram_ids(ids, len(self.vocabulary_), self.n_buckets_)])
        return torch.from_numpy(ids), torch.from_numpy(np.array(side, dtype=np.float32))

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        extra = self.n_buckets_ if self.arch == "bag" else 0
        config = TextNetConfig(
            arch=self.arch,
            n_embeddings=len(self.vocabulary_) + extra,
            n_side=self.n_side_,
            n_outputs=n_outputs,
            max_len=self.sequence_length_,
            embed_dim=int(self.embed_dim),
            hidden_dim=int(self.hidden_dim),
            n_layers=int(self.n_layers),
            dropout=float(self.dropout),
        )
        return asdict(config)

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return build_text_net(TextNetConfig(**config))


class TextNetClassifier(NetworkClassifierMixin, ClassifierMixin, _TextNet):
    """Text network classifier; any label type, cross-entropy loss."""


class TextNetRegressor(NetworkRegressorMixin, RegressorMixin, _TextNet):
    """Text network regressor; the target is standardized internally, MSE loss."""


# Per architecture: settings that suit it on a CPU (the rest are the estimator's defaults).
ARCH_SETTINGS: dict[str, dict[str, Any]] = {
    "bag": {"embed_dim": 64, "lr": 1e-2, "batch_size": 32, "max_epochs": 40, "patience": 4},
    "cnn": {"embed_dim": 128, "hidden_dim": 128, "lr": 2e-3},
    "rnn": {"embed_dim": 128, "hidden_dim": 96, "lr": 3e-3},
    "transformer": {"embed_dim": 128, "n_layers": 2, "lr": 1e-3, "dropout": 0.1},
}


def build_text_net_pipeline(schema: Schema, random_state: int, *, arch: str) -> Pipeline:
    """Unfitted ``clean -> encode -> network`` pipeline for a text schema."""
    model_class = TextNetClassifier if schema.task.is_classification else TextNetRegressor
    model = model_class(arch=arch, random_state=random_state, **ARCH_SETTINGS[arch])
    return Pipeline(
        [("clean", text_cleaner(schema)), ("encode", text_net_inputs(schema)), ("model", model)]
    )
