"""A sequential recommender for runs with ``--time``: SASRec-style next-item prediction.

:class:`SASRecRecommender` (after Kang & McAuley, 2018): each user's training items in time
order, the last ``max_len`` kept; item plus position embeddings through a causal transformer
encoder (``nn.TransformerEncoder``, pre-norm), and at every position the next item predicted over
the whole catalogue by the dot product with the item embeddings (tied). It is trained with the
cross-entropy of the full softmax over the catalogue at every position (as Petrov & Macdonald,
2023, found better than the original's one sampled negative) through the project's loop; a
user's scores are the logits after the user's latest training item. Implicit feedback only.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mlvsdl.families.dl.network import TimedTrainer
from mlvsdl.families.dl.trainer import predict_module
from mlvsdl.families.recommend.deep import _NetRecommender

__all__ = ["SASRecRecommender"]


class _SASRec(nn.Module):
    def __init__(
        self, n_items: int, max_len: int, dim: int, n_blocks: int, n_heads: int, dropout: float
    ) -> None:
        super().__init__()
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)  # 0: padding
        self.positions = nn.Embedding(max_len, dim)
        # small embeddings: the output is tied to them, and N(0, 1) puts the first logits at a
        # standard deviation of sqrt(dim) (a cross-entropy of about 56 instead of log(items))
        nn.init.normal_(self.items.weight, std=0.02)
        nn.init.normal_(self.positions.weight, std=0.02)
        with torch.no_grad():
            self.items.weight[0].zero_()
        layer = nn.TransformerEncoderLayer(
            dim, n_heads, 2 * dim, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        mask = torch.triu(torch.full((max_len, max_len), float("-inf")), diagonal=1)
        self.register_buffer("causal", mask, persistent=False)

    def forward(self, seq: Tensor) -> Tensor:
        """Logits over the catalogue (index 0, padding, included) at every position."""
        length = seq.shape[1]
        positions = torch.arange(length, device=seq.device)
        h = self.drop(self.items(seq) * self.items.embedding_dim**0.5 + self.positions(positions))
        h = self.encoder(h, mask=self.causal[:length, :length], is_causal=True)
        return self.norm(h) @ self.items.weight.T

    def last(self, seq: Tensor) -> Tensor:
        return self(seq)[:, -1, :]


class _Last(nn.Module):
    """The logits after the latest item (for prediction in batches)."""

    def __init__(self, model: _SASRec) -> None:
        super().__init__()
        self.model = model

    def forward(self, seq: Tensor) -> Tensor:
        return self.model.last(seq)


class _NextItemTrainer(TimedTrainer):
    def compute_loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        seq, target = batch
        logits = self.module(seq)
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=0
        )


class SASRecRecommender(_NetRecommender):
    """SASRec-style sequential recommender; see the module docstring."""

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        max_len: int = 50,
        dim: int = 64,
        n_blocks: int = 2,
        n_heads: int = 2,
        dropout: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int | None = 10,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.max_len = max_len
        self.dim = dim
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
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

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return {
            "n_items": len(self.item_ids_),
            "max_len": int(self.max_len),
            "dim": int(self.dim),
            "n_blocks": int(self.n_blocks),
            "n_heads": int(self.n_heads),
            "dropout": float(self.dropout),
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return _SASRec(**config)

    def _trainer(self, module: nn.Module, config: Any, loss: Any = None) -> TimedTrainer:  # type: ignore[override]
        return _NextItemTrainer(module, loss, config)

    def _fit(self, users, items, ratings, times) -> None:
        if times is None:
            raise ValueError("SASRec orders each user's items by time; pass --time.")
        start = time.perf_counter()
        L = int(self.max_len)
        order = np.lexsort((np.arange(len(users)), times, users))
        u, i = users[order], items[order] + 1  # 0 is padding
        bounds = np.flatnonzero(np.r_[True, u[1:] != u[:-1], True])
        history = np.zeros((len(self.user_ids_), L), dtype=np.int64)
        inputs = np.zeros((len(bounds) - 1, L), dtype=np.int64)
        targets = np.zeros_like(inputs)
        for row, (a, b) in enumerate(itertools.pairwise(bounds)):
            seq = i[a:b]
            history[u[a], L - min(L, len(seq)) :] = seq[-L:]
            steps = seq[-(L + 1) :]
            inputs[row, L - len(steps) + 1 :] = steps[:-1]
            targets[row, L - len(steps) + 1 :] = steps[1:]
        self.sequences_ = history  # each user's latest items (history_ is the training log)
        keep = targets.any(axis=1)  # a user with one training item has no next item to learn
        tensors = (torch.from_numpy(inputs[keep]), torch.from_numpy(targets[keep]))
        self._train(tensors, None, time.perf_counter() - start)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        seq = torch.from_numpy(self.sequences_[users])
        out = predict_module(_Last(self.module_), (seq,), 256).double().numpy()
        return out[:, 1:]

    def item_vectors(self) -> np.ndarray:
        return self.module_.items.weight.detach().numpy()[1:]
