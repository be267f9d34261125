"""Deep embeddings: an autoencoder's bottleneck and a VAE's latent mean as D coordinates.

They reuse the anomaly detectors' networks and unsupervised path through the one training loop
(:mod:`mlvsdl.families.anomaly.deep`: :class:`UnsupervisedTrainer` asks the estimator for each
batch's loss from the inputs alone; :class:`NetworkEstimator` seeds, splits off a validation
part, stops early, keeps to ``max_time_s`` and stores config + numpy weights).

* :class:`AutoencoderEmbedding`: ``n_features -> hidden -> D -> hidden -> n_features`` with a
  *linear* bottleneck (the anomaly autoencoder's ReLU there would clip the coordinates and can
  leave a 2-D embedding with a dead axis); loss and reconstruction: squared error. With no hidden
  non-linearity it would span PCA's subspace (Baldi & Hornik 1989); the hidden layers let it bend.
* :class:`VAEEmbedding` (Kingma & Welling 2014): coordinates = the posterior mean mu; loss = the
  negative ELBO with a unit-variance Gaussian decoder; ``inverse_transform`` decodes mu.

Both are scikit-learn transformers: ``transform`` (coordinates), ``inverse_transform`` (back to
the input space), ``n_components`` = D.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from mlvsdl.errors import ConfigError
from mlvsdl.families.anomaly.deep import (
    DenseAutoencoder,
    UnsupervisedTrainer,
    VariationalAutoencoder,
)
from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig

__all__ = ["AutoencoderEmbedding", "LinearBottleneckAutoencoder", "VAEEmbedding"]

BATCH = 4096  # rows per forward pass when transforming


class LinearBottleneckAutoencoder(DenseAutoencoder):
    """The anomaly autoencoder's layers, with nothing between the encoder's last Linear (the
    coordinates) and the decoder."""

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, n_features) -> reconstruction (B, n_features)
        return self.decoder(self.encoder(x))


def _dense32(X: Any) -> np.ndarray:
    block = X.toarray() if hasattr(X, "toarray") else X
    return np.ascontiguousarray(block, dtype=np.float32)


class _DeepEmbedding(TransformerMixin, NetworkEstimator):
    """Shared fit and per-batch inference; a subclass supplies the module and its loss."""

    def __init__(
        self,
        n_components: int = 2,
        *,
        hidden_dim: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int | None = 10,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.n_components = n_components
        self.hidden_dim = hidden_dim
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

    # --- what a subclass supplies -------------------------------------------------------------

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        """Training loss per row (B,)."""
        raise NotImplementedError

    def _encode_batch(self, module: nn.Module, x: Tensor) -> Tensor:
        """Coordinates (B, D) of a batch."""
        raise NotImplementedError

    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        """Nothing to prepare (``UnsupervisedTrainer`` calls it)."""

    # --- scikit-learn -------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> _DeepEmbedding:
        ok = all(isinstance(v, Integral) and v >= 1 for v in (self.n_components, self.hidden_dim))
        if not ok:
            raise ConfigError(
                f"invalid n_components={self.n_components!r} or hidden_dim={self.hidden_dim!r}; "
                "expected whole numbers >= 1."
            )
        X = _dense32(X)
        self.n_features_in_ = X.shape[1]
        NetworkEstimator.fit(self, X, X)  # the target slot only carries the row count
        return self

    def transform(self, X: Any) -> np.ndarray:
        return self._per_batch(_dense32(X), self._encode_batch)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode coordinates ``(n, D)`` back to the input space ``(n, n_features)``."""
        return self._per_batch(np.asarray(X, dtype=np.float32), self._decode_batch)

    def _decode_batch(self, module: nn.Module, z: Tensor) -> Tensor:
        return module.decoder(z)

    @torch.inference_mode()
    def _per_batch(self, X: np.ndarray, fn: Any) -> np.ndarray:
        check_is_fitted(self, "module_")
        module = self.module_.eval()
        device = next(module.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        parts = [
            fn(module, x[i : i + BATCH].to(device)).double().cpu() for i in range(0, len(x), BATCH)
        ]
        if not parts:
            return np.zeros((0, int(self.n_components)))
        return torch.cat(parts).numpy()

    # --- NetworkEstimator hooks ---------------------------------------------------------------

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        return torch.empty((len(y), 0)), y.shape[1], None  # n_outputs = n_features

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        return (torch.from_numpy(_dense32(X)),)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        return self._fit_inputs(X)

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return {
            "n_features": n_outputs,
            "hidden_dim": int(self.hidden_dim),
            "latent_dim": int(self.n_components),
        }

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return UnsupervisedTrainer(module, self, config)  # type: ignore[arg-type]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class AutoencoderEmbedding(_DeepEmbedding):
    """Dense autoencoder with a linear D-unit bottleneck; coordinates = the bottleneck."""

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return LinearBottleneckAutoencoder(**config)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        return ((module(x) - x) ** 2).sum(dim=1)

    def _encode_batch(self, module: nn.Module, x: Tensor) -> Tensor:
        return module.encoder(x)


class VAEEmbedding(_DeepEmbedding):
    """Variational autoencoder; coordinates = the posterior mean mu (B, D)."""

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return VariationalAutoencoder(**config)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        reconstruction, mu, logvar = module(x)
        recon = 0.5 * ((reconstruction - x) ** 2).sum(dim=1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)
        return recon + kl

    def _encode_batch(self, module: nn.Module, x: Tensor) -> Tensor:
        return module.encoder(x).chunk(2, dim=1)[0]
