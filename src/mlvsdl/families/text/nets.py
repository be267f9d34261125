"""Text networks trained from scratch on token ids: fastText bag, 1-D CNN, BiGRU, transformer.

Every module takes ``(ids, side)``: token ids ``(B, T)`` (0 = padding, right-padded) and the
other columns of the row ``(B, S)`` (``S`` may be 0), and returns ``(B, n_outputs)``. Batches
are trimmed to their longest text before the work starts, so short texts cost little.

* ``bag``: fastText (Joulin et al. 2017): the mean of word and hashed-bigram embeddings, then a
  linear layer;
* ``cnn``: Kim (2014): convolutions of widths 3, 5 and 7 over word embeddings, max over time;
* ``rnn``: a bidirectional GRU, max and mean over time;
* ``transformer``: a small pre-norm transformer encoder with learned positions, mean over
  tokens.

For explanations (never used in training), every network also splits its forward pass in two:
``embed_tokens(ids) -> (x, mask)`` gives the token embeddings ``(B, T, E)`` and the mask of real
tokens, and ``forward_embedded(x, mask, side)`` finishes the pass from them, so attributions can
be taken on the embeddings (``forward(ids, side)`` is the composition of the two; the fastText
network keeps its fused ``EmbeddingBag`` for training and prediction). The transformer also
returns its self-attention weights with ``attention(ids)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mlvsdl.errors import ConfigError

__all__ = ["ARCHS", "TextNetConfig", "build_text_net"]

ARCHS = ("bag", "cnn", "rnn", "transformer")


@dataclass(frozen=True)
class TextNetConfig:
    """Shape of a text network; everything needed to rebuild it before loading weights."""

    arch: str
    n_embeddings: int  # vocabulary (+ hashed bigram buckets for "bag")
    n_side: int
    n_outputs: int
    max_len: int
    embed_dim: int = 128
    hidden_dim: int = 128
    n_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.2


def _trim(ids: Tensor) -> tuple[Tensor, Tensor]:
    """Drop the padding columns every row has; return ids ``(B, T')`` and the mask of tokens."""
    longest = int((ids != 0).sum(dim=1).max().clamp(min=1))
    ids = ids[:, :longest]
    return ids, ids != 0


class _Head(nn.Module):
    """``Dropout -> Linear`` on the text code concatenated with the side columns."""

    def __init__(self, in_dim: int, config: TextNetConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(in_dim + config.n_side, config.n_outputs)

    def forward(self, code: Tensor, side: Tensor) -> Tensor:
        return self.out(torch.cat([self.dropout(code), side], dim=1))  # (B, n_outputs)


class BagNet(nn.Module):
    def __init__(self, config: TextNetConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.EmbeddingBag(config.n_embeddings, config.embed_dim, padding_idx=0)
        self.head = _Head(config.embed_dim, config)

    def forward(self, ids: Tensor, side: Tensor) -> Tensor:
        return self.head(self.embed(ids), side)  # ids (B, T) -> (B, E) -> (B, n_outputs)

    def embed_tokens(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """Per-token embeddings ``(B, T, E)`` (words, then hashed bigrams) and the token mask."""
        return nn.functional.embedding(ids, self.embed.weight, padding_idx=0), ids != 0

    def forward_embedded(self, x: Tensor, mask: Tensor, side: Tensor) -> Tensor:
        """The mean over real tokens, as ``EmbeddingBag(mode="mean")`` takes it, then the head."""
        valid = mask[:, :, None].to(x.dtype)
        return self.head((x * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0), side)


class CNNNet(nn.Module):
    def __init__(self, config: TextNetConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.n_embeddings, config.embed_dim, padding_idx=0)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.embed_dim, config.hidden_dim, k, padding="same") for k in (3, 5, 7)
        )
        self.head = _Head(3 * config.hidden_dim, config)

    def forward(self, ids: Tensor, side: Tensor) -> Tensor:
        return self.forward_embedded(*self.embed_tokens(ids), side)

    def embed_tokens(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        ids, mask = _trim(ids)
        return self.embed(ids), mask  # (B, T, E), (B, T)

    def forward_embedded(self, x: Tensor, mask: Tensor, side: Tensor) -> Tensor:
        x = x.transpose(1, 2)  # (B, E, T)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))  # (B, H, T)
            pooled.append(h.masked_fill(~mask[:, None, :], 0.0).amax(dim=2))  # (B, H)
        return self.head(torch.cat(pooled, dim=1), side)


class RNNNet(nn.Module):
    def __init__(self, config: TextNetConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.n_embeddings, config.embed_dim, padding_idx=0)
        self.rnn = nn.GRU(config.embed_dim, config.hidden_dim, batch_first=True, bidirectional=True)
        self.head = _Head(4 * config.hidden_dim, config)

    def forward(self, ids: Tensor, side: Tensor) -> Tensor:
        return self.forward_embedded(*self.embed_tokens(ids), side)

    def embed_tokens(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        ids, mask = _trim(ids)
        return self.embed(ids), mask  # (B, T, E), (B, T)

    def forward_embedded(self, x: Tensor, mask: Tensor, side: Tensor) -> Tensor:
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.rnn(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        valid = mask[:, :, None]  # (B, T, 1)
        max_pool = h.masked_fill(~valid, -1e4).amax(dim=1)  # (B, 2H)
        mean_pool = (h * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)  # (B, 2H)
        return self.head(torch.cat([max_pool, mean_pool], dim=1), side)


class TransformerNet(nn.Module):
    def __init__(self, config: TextNetConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        self.embed = nn.Embedding(config.n_embeddings, dim, padding_idx=0)
        self.position = nn.Embedding(config.max_len, dim)
        layer = nn.TransformerEncoderLayer(
            dim, config.n_heads, 2 * dim, config.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = _Head(dim, config)

    def forward(self, ids: Tensor, side: Tensor) -> Tensor:
        return self.forward_embedded(*self.embed_tokens(ids), side)

    def embed_tokens(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        ids, mask = _trim(ids)
        mask[:, 0] = True  # an empty text still attends to its first (padding) position
        return self.embed(ids), mask  # word embeddings (B, T, E), without positions

    def _positioned(self, x: Tensor) -> Tensor:
        return x + self.position(torch.arange(x.shape[1], device=x.device))  # (B, T, E)

    def forward_embedded(self, x: Tensor, mask: Tensor, side: Tensor) -> Tensor:
        x = self.encoder(self._positioned(x), src_key_padding_mask=~mask)  # (B, T, E)
        valid = mask[:, :, None]
        code = self.norm((x * valid).sum(dim=1) / valid.sum(dim=1))  # (B, E)
        return self.head(code, side)

    @torch.no_grad()
    def attention(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """Self-attention weights ``(L, B, H, T, T)`` (query x key; each row sums to 1 over the
        real tokens) of every layer, and the token mask ``(B, T)``. Each layer's attention is
        recomputed on its normalized input exactly as the layer attends, then the layer runs."""
        x, mask = self.embed_tokens(ids)
        x, weights = self._positioned(x), []
        for layer in self.encoder.layers:
            h = layer.norm1(x)  # the layers are pre-norm (norm_first=True)
            _, w = layer.self_attn(
                h, h, h, key_padding_mask=~mask, need_weights=True, average_attn_weights=False
            )
            weights.append(w)
            x = layer(x, src_key_padding_mask=~mask)
        return torch.stack(weights), mask


_NETS: dict[str, type[nn.Module]] = {
    "bag": BagNet,
    "cnn": CNNNet,
    "rnn": RNNNet,
    "transformer": TransformerNet,
}


def build_text_net(config: TextNetConfig) -> nn.Module:
    """The network ``config.arch`` names, freshly initialized (seed torch before calling)."""
    if config.arch not in _NETS:
        raise ConfigError(f"unknown text network {config.arch!r}; expected one of {ARCHS}.")
    if config.arch == "transformer" and config.embed_dim % config.n_heads:
        raise ConfigError(
            f"embed_dim={config.embed_dim} must be a multiple of n_heads={config.n_heads}."
        )
    return _NETS[config.arch](config)
