"""Scikit-learn estimators on the pretrained sentence encoder (see ``pretrained.py``).

* :class:`EncoderHeadClassifier` / :class:`EncoderHeadRegressor`: frozen encoder, MLP head;
* :class:`FineTunedEncoderClassifier` / :class:`FineTunedEncoderRegressor`: end to end.

Both take the frame :class:`~mlvsdl.features.text.TextNetInputs` outputs and train with the core
loop; the fine-tuned ones cap their steps (``max_steps``) and obey ``max_time_s`` step by step.
"""

from __future__ import annotations

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
from mlvsdl.families.text.pretrained import (
    FROZEN_PREFIX,
    EmbeddingHead,
    FineTunedNet,
    HeadConfig,
    embed_texts,
    head_config,
    tokenize_batch,
)
from mlvsdl.features.text import split_net_inputs, text_cleaner, text_net_inputs
from mlvsdl.types import Schema

__all__ = [
    "EncoderHeadClassifier",
    "EncoderHeadRegressor",
    "FineTunedEncoderClassifier",
    "FineTunedEncoderRegressor",
    "build_encoder_pipeline",
]


class _EncoderHead(NetworkEstimator):
    """Frozen sentence embeddings (cached) and a trained MLP head."""

    def __init__(
        self,
        *,
        hidden_dim: int = 512,
        dropout: float = 0.2,
        max_len: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 64,
        max_epochs: int = 100,
        patience: int | None = 8,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.hidden_dim = hidden_dim
        self.dropout = dropout
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
        inputs = self._inputs(X)
        self.n_side_ = inputs[1].shape[1]
        return inputs

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        texts, side = split_net_inputs(X)
        embeddings = embed_texts(texts, max_len=self.max_len)
        return torch.from_numpy(embeddings), torch.from_numpy(np.array(side, dtype=np.float32))

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return head_config(self.n_side_, n_outputs, self.hidden_dim, self.dropout)

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return EmbeddingHead(HeadConfig(**config))


class EncoderHeadClassifier(NetworkClassifierMixin, ClassifierMixin, _EncoderHead):
    """Frozen all-MiniLM-L6-v2 embeddings and an MLP classifier head."""


class EncoderHeadRegressor(NetworkRegressorMixin, RegressorMixin, _EncoderHead):
    """Frozen all-MiniLM-L6-v2 embeddings and an MLP regression head."""


class _FineTuned(NetworkEstimator):
    """all-MiniLM-L6-v2 and a linear head trained end to end (token embeddings frozen)."""

    def __init__(
        self,
        *,
        dropout: float = 0.1,
        max_len: int = 64,
        max_steps: int | None = 2000,
        lr: float = 1e-4,
        weight_decay: float = 1e-2,
        batch_size: int = 32,
        max_epochs: int = 5,
        patience: int | None = 2,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.dropout = dropout
        self.max_len = max_len
        self.max_steps = max_steps
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
        inputs = self._inputs(X)
        self.n_side_ = inputs[2].shape[1]
        return inputs

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        texts, side = split_net_inputs(X)
        ids, attention = tokenize_batch(texts, self.max_len)
        return ids, attention, torch.from_numpy(np.array(side, dtype=np.float32))

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return head_config(self.n_side_, n_outputs, 0, self.dropout)

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return FineTunedNet(HeadConfig(**config))

    def _saved_weights(self, module: nn.Module) -> dict[str, Tensor]:
        """Every weight but the frozen token embeddings, which load from the package."""
        return {k: v for k, v in module.state_dict().items() if not k.startswith(FROZEN_PREFIX)}


class FineTunedEncoderClassifier(NetworkClassifierMixin, ClassifierMixin, _FineTuned):
    """all-MiniLM-L6-v2 fine-tuned end to end as a classifier."""


class FineTunedEncoderRegressor(NetworkRegressorMixin, RegressorMixin, _FineTuned):
    """all-MiniLM-L6-v2 fine-tuned end to end as a regressor."""


def build_encoder_pipeline(schema: Schema, random_state: int, *, fine_tune: bool) -> Pipeline:
    """Unfitted ``clean -> encode -> model`` pipeline on the pretrained encoder."""
    classify = schema.task.is_classification
    if fine_tune:
        model_class: type = FineTunedEncoderClassifier if classify else FineTunedEncoderRegressor
    else:
        model_class = EncoderHeadClassifier if classify else EncoderHeadRegressor
    return Pipeline(
        [
            ("clean", text_cleaner(schema)),
            ("encode", text_net_inputs(schema)),
            ("model", model_class(random_state=random_state)),
        ]
    )
