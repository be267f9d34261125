"""Neural recommenders, trained by the project's one loop (``TimedTrainer``).

* :class:`NeuMFRecommender` — neural collaborative filtering (He et al., 2017): a generalized
  matrix factorization branch (element-wise product of user and item embeddings) and an MLP
  branch over the concatenated embeddings, joined by one output layer. Implicit: binary
  cross-entropy on each training interaction and ``n_negatives`` items the user did not take,
  sampled (seeded) once per fit; explicit: squared error on the ratings (standardized).
* :class:`MultVAERecommender` — the variational autoencoder over user histories (Liang et al.,
  2018): a user's multi-hot row, L2-normalized with dropout, encoded to a Gaussian (600 -> 200),
  decoded to a softmax over the catalogue; the loss is the multinomial log-likelihood plus the
  KL term, its weight annealed from 0 to ``beta`` over ``anneal_steps``. Implicit only.

Both subclass :class:`~mlvsdl.families.dl.network.NetworkEstimator` (its training parameters,
``max_time_s``, seeding and weights-as-numpy serialization) and :class:`BaseRecommender` (ids,
seen items, fallbacks, answers); ``fit`` is the recommender's, the training the shared loop's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import Tensor, nn

from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer, split_tensors
from mlvsdl.families.dl.trainer import predict_module, seeded
from mlvsdl.families.recommend.base import BaseRecommender

__all__ = ["MultVAERecommender", "NeuMFRecommender"]


class _NetRecommender(BaseRecommender, NetworkEstimator):
    """Training through the shared loop; a subclass gives the tensors, module and trainer."""

    def _train(self, tensors: tuple[Tensor, ...], loss: nn.Module, spent_s: float) -> None:
        seed = self._seed
        with seeded(seed):
            self.module_config_ = self._module_config(0)
            module = self._build_module(self.module_config_)
        train, val = split_tensors(tensors, self.validation_fraction, None, seed)
        config = self._train_config(seed, len(train[0]), spent_s)
        result = self._trainer(module, config, loss).fit(train, val)
        self.module_ = module.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = str(result.stop_reason)
        self.n_params_ = result.n_params
        self.device_ = result.device

    def _trainer(self, module: nn.Module, config: Any, loss: Any = None) -> TimedTrainer:  # type: ignore[override]
        return TimedTrainer(module, loss, config)

    @property
    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(2**31 - 1))


class _NeuMF(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.gmf_user, self.gmf_item = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.mlp_user, self.mlp_item = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        layers: list[nn.Module] = []
        width = 2 * dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(dim + width, 1)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=0.01)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))
        return self.out(torch.cat([gmf, mlp], dim=1)).squeeze(1)


class NeuMFRecommender(_NetRecommender):
    """NeuMF (GMF + MLP); see the module docstring."""

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        dim: int = 32,
        hidden: tuple[int, ...] = (64, 32),
        n_negatives: int = 4,
        lr: float = 2e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 1024,
        max_epochs: int = 30,
        patience: int | None = 3,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.dim = dim
        self.hidden = hidden
        self.n_negatives = n_negatives
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
            "n_users": len(self.user_ids_),
            "n_items": len(self.item_ids_),
            "dim": int(self.dim),
            "hidden": [int(h) for h in self.hidden],
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return _NeuMF(config["n_users"], config["n_items"], config["dim"], list(config["hidden"]))

    def _fit(self, users, items, ratings, times) -> None:
        start = time.perf_counter()
        u = torch.from_numpy(users)
        i = torch.from_numpy(items)
        if ratings is not None:
            self.scale_ = [float(ratings.mean()), float(ratings.std() or 1.0)]
            target = torch.from_numpy((ratings - self.scale_[0]) / self.scale_[1]).float()
            self._train((u, i, target), _MSE(), time.perf_counter() - start)
            return
        rng = np.random.default_rng(self._seed)
        n_items = len(self.item_ids_)
        seen = set(zip(users.tolist(), items.tolist(), strict=True))
        neg_u = np.repeat(users, self.n_negatives)
        neg_i = rng.integers(0, n_items, len(neg_u))
        for _ in range(3):  # resample the few negatives that hit a seen item
            bad = np.fromiter(
                ((a, b) in seen for a, b in zip(neg_u.tolist(), neg_i.tolist(), strict=True)),
                bool,
                len(neg_u),
            )
            if not bad.any():
                break
            neg_i[bad] = rng.integers(0, n_items, int(bad.sum()))
        all_u = torch.from_numpy(np.concatenate([users, neg_u]))
        all_i = torch.from_numpy(np.concatenate([items, neg_i]))
        labels = torch.cat([torch.ones(len(users)), torch.zeros(len(neg_u))])
        self._train((all_u, all_i, labels), _BCE(), time.perf_counter() - start)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        n_items = len(self.item_ids_)
        u = torch.from_numpy(np.repeat(users, n_items))
        i = torch.from_numpy(np.tile(np.arange(n_items), len(users)))
        out = predict_module(self.module_, (u, i), 65_536).double().numpy()
        out = out.reshape(len(users), n_items)
        if self.explicit_:
            return out * self.scale_[1] + self.scale_[0]
        return out

    def item_vectors(self) -> np.ndarray:
        return self.module_.gmf_item.weight.detach().numpy()


class _BCE(nn.Module):
    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return nn.functional.binary_cross_entropy_with_logits(logits, target)


class _MSE(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return nn.functional.mse_loss(pred, target)


class _VAE(nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Sequential(nn.Linear(n_items, hidden), nn.Tanh())
        self.mu, self.logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, n_items)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(x)[0]

    def decode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.encoder(self.drop(nn.functional.normalize(x, dim=1)))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar


class _VAETrainer(TimedTrainer):
    """Multinomial likelihood plus the annealed KL term (Liang et al., 2018)."""

    beta = 0.2
    anneal_steps = 2_000
    _step = 0

    def compute_loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        x = batch[0]
        logits, mu, logvar = self.module.decode(x)
        nll = -(nn.functional.log_softmax(logits, dim=1) * x).sum(dim=1).mean()
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        if self.module.training:
            self._step += 1
        weight = min(self.beta, self.beta * self._step / self.anneal_steps)
        return nll + weight * kl


class MultVAERecommender(_NetRecommender):
    """Mult-VAE over user histories; see the module docstring."""

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        hidden: int = 600,
        latent: int = 200,
        dropout: float = 0.5,
        beta: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int | None = 20,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = None,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.beta = beta
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
            "hidden": int(self.hidden),
            "latent": int(self.latent),
            "dropout": float(self.dropout),
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return _VAE(config["n_items"], config["hidden"], config["latent"], config["dropout"])

    def _trainer(self, module: nn.Module, config: Any, loss: Any = None) -> TimedTrainer:  # type: ignore[override]
        trainer = _VAETrainer(module, loss, config)
        trainer.beta = float(self.beta)
        return trainer

    def _fit(self, users, items, ratings, times) -> None:
        if ratings is not None:
            raise ValueError("Mult-VAE learns from implicit feedback; leave out --rating.")
        start = time.perf_counter()
        rows = torch.from_numpy(self.seen_matrix().toarray().astype(np.float32))
        unused = torch.zeros(len(rows))  # the loop's (inputs..., target); the rows are both
        self._train((rows, unused), None, time.perf_counter() - start)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        rows = torch.from_numpy(self.seen_matrix()[users].toarray().astype(np.float32))
        return predict_module(self.module_, (rows,), 1024).double().numpy()

    def item_vectors(self) -> np.ndarray:
        return self.module_.decoder[-1].weight.detach().numpy()
