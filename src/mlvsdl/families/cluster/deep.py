"""Deep clusterers: k-means in an autoencoder's latent space, and IDEC.

Both train through the project's one loop (``NetworkEstimator`` -> ``TimedTrainer``; the
unsupervised path of ``families/anomaly/deep.py``, :class:`UnsupervisedTrainer`): seeded, AdamW
with warmup + cosine, early stopping on a validation split of the fit rows, a wall-clock
``max_time_s``. Stored state is the module config plus numpy weights.

* :class:`AutoencoderKMeans`: a dense autoencoder (``hidden`` widths down to ``latent_dim``,
  mirrored) trained on squared reconstruction error; k-means (k-means++) on the latent codes of
  the training rows; new rows are encoded and go to the nearest centre.
* :class:`IDECClusterer` (Guo et al. 2017, improved deep embedded clustering; Xie et al. 2016's
  DEC plus the reconstruction term): the same autoencoder is pretrained for a share
  ``pretrain_share`` of the time, k-means on its latent codes initializes the cluster centres,
  then encoder, decoder and centres are trained together on reconstruction + ``gamma`` x
  KL(P || Q), where Q is the Student-t soft assignment of each row to the centres and P the
  sharpened target distribution recomputed from all training rows before every epoch
  (:class:`IDECTrainer`). A row goes to its most probable cluster.

With ``n_clusters=None`` the number of clusters is chosen by silhouette on the latent codes of
the training rows (``best_k_by_silhouette``), before the centres are made.
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import Tensor, nn

from mlvsdl.families.anomaly.deep import UnsupervisedTrainer
from mlvsdl.families.cluster.base import BaseClusterer, best_k_by_silhouette, dense
from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig, seeded

__all__ = ["AutoencoderKMeans", "ClusterAutoencoder", "IDECClusterer", "IDECTrainer"]

ENCODE_BATCH_SIZE = 4096


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ClusterAutoencoder(nn.Module):
    """``sizes[0] -> ... -> sizes[-1]`` (linear latent) and back; ``centres`` for IDEC."""

    def __init__(self, sizes: list[int], n_clusters: int = 0) -> None:
        super().__init__()
        self.encoder = _mlp(list(sizes))
        self.decoder = _mlp(list(reversed(sizes)))
        self.centres = nn.Parameter(torch.zeros(n_clusters, sizes[-1]))

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, n_features) -> reconstruction (B, n_features)
        return self.decoder(self.encoder(x))

    def soft_assign(self, z: Tensor, alpha: float = 1.0) -> Tensor:
        """Student-t similarity of latent codes (B, D) to the centres -> (B, K), rows sum to 1."""
        squared = torch.cdist(z, self.centres) ** 2
        q = (1.0 + squared / alpha) ** (-(alpha + 1.0) / 2.0)
        return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    """DEC's auxiliary target P: q squared over the cluster frequency, rows normalized."""
    weight = q**2 / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


class _AutoencoderClusterer(BaseClusterer, NetworkEstimator):
    """An autoencoder trained by the shared loop; clusters in its latent space."""

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        hidden: tuple[int, ...] = (256, 128),
        latent_dim: int = 10,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.hidden = hidden
        self.latent_dim = latent_dim
        NetworkEstimator.__init__(
            self,
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

    # --- NetworkEstimator hooks ---------------------------------------------------------------

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        return torch.empty((len(y), 0)), y.shape[1], None  # no target: n_outputs = n_features

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        return (torch.from_numpy(np.ascontiguousarray(dense(X), dtype=np.float32)),)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        return self._fit_inputs(X)

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        sizes = [n_outputs, *map(int, self.hidden), int(self.latent_dim)]
        return {"sizes": sizes, "n_clusters": int(getattr(self, "_n_centres", 0))}

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return ClusterAutoencoder(**config)

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return UnsupervisedTrainer(module, self, config)  # type: ignore[arg-type]

    # --- UnsupervisedTrainer hooks ------------------------------------------------------------

    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        """Nothing to prepare before the autoencoder's first epoch."""

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        return ((module(x) - x) ** 2).sum(dim=1)

    # --- the latent space ---------------------------------------------------------------------

    @torch.inference_mode()
    def _latent(self, X: Any) -> np.ndarray:
        module = self.module_.eval()
        device = next(module.parameters()).device
        x = self._inputs(X)[0]
        parts = [
            module.encoder(x[i : i + ENCODE_BATCH_SIZE].to(device)).double().cpu()
            for i in range(0, len(x), ENCODE_BATCH_SIZE)
        ]
        return torch.cat(parts).numpy()

    def _fit_space(self, X: Any) -> np.ndarray:
        self.reducer_ = None
        NetworkEstimator.fit(self, X, dense(X))  # the target slot carries X for its row count
        return self._latent(X)

    def _space(self, X: Any) -> np.ndarray:
        return self._latent(X)

    def _initial_centres(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.n_clusters
        self.k_rule_ = f"k = {k}, as given"
        if k is None:
            k, rule = best_k_by_silhouette(
                Z,
                lambda s, c: KMeans(c, n_init=3, random_state=self.random_state).fit_predict(s),
                self.random_state,
            )
            self.k_rule_ = f"{rule} (latent codes)"
        model = KMeans(k, init="k-means++", n_init=10, random_state=self.random_state).fit(Z)
        return model.cluster_centers_, model.labels_


class AutoencoderKMeans(_AutoencoderClusterer):
    """k-means (k-means++, 10 restarts) on the latent codes of a trained autoencoder."""

    def _fit_clusters(self, Z: np.ndarray) -> None:
        self.cluster_centers_, self.labels_ = self._initial_centres(Z)


class IDECTrainer(TimedTrainer):
    """The timed loop for IDEC: before every epoch the target distribution P of all training
    rows is recomputed; a batch's loss is reconstruction + gamma x KL(P || Q) on its rows
    (the row positions travel with the batch as its second tensor)."""

    def __init__(self, module: ClusterAutoencoder, gamma: float, config: TrainConfig) -> None:
        super().__init__(module, _no_loss, config)
        self.gamma = gamma
        self.targets: Tensor | None = None

    @torch.no_grad()
    def _refresh_targets(self, x: Tensor, rows: Tensor) -> None:
        module = self.module
        module.eval()
        q = torch.cat(
            [
                module.soft_assign(module.encoder(x[i : i + ENCODE_BATCH_SIZE]))
                for i in range(0, len(x), ENCODE_BATCH_SIZE)
            ]
        )
        targets = target_distribution(q)
        self.targets = torch.empty_like(targets)
        self.targets[rows] = targets
        module.train()

    def run_epoch(self, tensors: tuple[Tensor, ...], generator: torch.Generator) -> float:
        self._refresh_targets(tensors[0], tensors[1])
        return super().run_epoch(tensors, generator)

    def compute_loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        x, rows = batch[0], batch[1]
        module = self.module
        z = module.encoder(x)
        reconstruction = ((module.decoder(z) - x) ** 2).sum(dim=1).mean()
        q = module.soft_assign(z)
        assert self.targets is not None
        p = self.targets[rows]
        kl = (p * (torch.log(p + 1e-10) - torch.log(q + 1e-10))).sum(dim=1).mean()
        return reconstruction + self.gamma * kl


def _no_loss(output: Tensor, target: Tensor) -> Tensor:
    raise NotImplementedError("IDEC computes its loss in compute_loss")


class IDECClusterer(_AutoencoderClusterer):
    """IDEC: the autoencoder pretrained, then fine-tuned with DEC's clustering loss."""

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        hidden: tuple[int, ...] = (256, 128),
        latent_dim: int = 10,
        gamma: float = 0.1,
        pretrain_share: float = 0.6,
        finetune_epochs: int = 30,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.gamma = gamma
        self.pretrain_share = pretrain_share
        self.finetune_epochs = finetune_epochs
        super().__init__(
            n_clusters=n_clusters,
            hidden=hidden,
            latent_dim=latent_dim,
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

    def _train_config(self, seed: int, n_train: int, spent_s: float = 0.0) -> TrainConfig:
        config = super()._train_config(seed, n_train, spent_s)
        if config.max_time_s is None:
            return config
        return TrainConfig(
            **{**config.__dict__, "max_time_s": config.max_time_s * self.pretrain_share}
        )

    def _fit_space(self, X: Any) -> np.ndarray:
        self._fit_started = time.perf_counter()
        return super()._fit_space(X)

    def _fit_clusters(self, Z: np.ndarray) -> None:
        centres, _ = self._initial_centres(Z)
        pretrained = self.module_
        self._n_centres = len(centres)
        self.module_config_ = self._module_config(int(self.module_config_["sizes"][0]))
        module = self._build_module(self.module_config_)
        module.load_state_dict(
            {**pretrained.state_dict(), "centres": torch.as_tensor(centres, dtype=torch.float32)}
        )
        x = self._fit_inputs(self._fit_X)[0]
        rows = torch.arange(len(x))
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        config = NetworkEstimator._train_config(self, seed, len(x))
        left = None
        if self.max_time_s is not None:
            left = max(self.max_time_s - (time.perf_counter() - self._fit_started), 1.0)
        config = TrainConfig(
            **{
                **config.__dict__,
                "max_epochs": int(self.finetune_epochs),
                "patience": None,
                "max_time_s": left,
                "lr": self.lr / 10,
            }
        )
        with seeded(seed):
            IDECTrainer(module, float(self.gamma), config).fit((x, rows, torch.empty((len(x), 0))))
        self.module_ = module.eval()
        Z = self._latent(self._fit_X)
        self.cluster_centers_ = module.centres.detach().double().cpu().numpy()
        self.labels_ = self._assign(Z)
        del self._fit_X

    def fit(self, X: Any, y: Any = None) -> IDECClusterer:
        self._fit_X = X
        self._n_centres = 0
        return super().fit(X)  # type: ignore[return-value]

    @torch.inference_mode()
    def _assign(self, Z: np.ndarray) -> np.ndarray:
        device = self.module_.centres.device
        q = self.module_.soft_assign(torch.as_tensor(Z, dtype=torch.float32, device=device))
        return q.argmax(dim=1).cpu().numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each row's soft assignment Q to every cluster (Student-t kernel)."""
        device = self.module_.centres.device
        with torch.inference_mode():
            z = torch.as_tensor(self._space(X), dtype=torch.float32, device=device)
            return self.module_.soft_assign(z).double().cpu().numpy()
