"""Deep anomaly detectors: a dense autoencoder, a VAE and Deep SVDD, each a :class:`BaseDetector`.

They train through the project's one loop (:class:`~mlvsdl.families.dl.network.TimedTrainer`
via :class:`~mlvsdl.families.dl.network.NetworkEstimator`): seeded, AdamW with warmup + cosine,
early stopping on a validation split carved from the fit rows, a wall-clock ``max_time_s``.
Training is unsupervised: the loop's target slot holds an empty ``(n, 0)`` tensor and
:class:`UnsupervisedTrainer` asks the estimator for each batch's loss from the inputs alone.
Stored state is the module config plus numpy weights (``NetworkEstimator.__getstate__``).

* ``AutoencoderDetector``: score = squared reconstruction error, summed over features;
* ``VAEDetector`` (Kingma & Welling 2014): score = negative ELBO with z = mu (a unit-variance
  Gaussian decoder: 0.5 x squared error + KL to the standard normal prior);
* ``DeepSVDDDetector`` (Ruff et al. 2018, One-Class Deep SVDD): a network without bias terms
  maps rows near a centre c fixed from the initial forward pass; loss and score are
  ||phi(x) - c||^2 (bias terms, or a free c, would let it map every row to c).
"""

from __future__ import annotations

from itertools import pairwise
from numbers import Integral
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mlvsdl.errors import ConfigError
from mlvsdl.families.anomaly.base import BaseDetector
from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig

__all__ = [
    "AutoencoderDetector",
    "DeepSVDDDetector",
    "DenseAutoencoder",
    "SVDDNet",
    "UnsupervisedTrainer",
    "VAEDetector",
    "VariationalAutoencoder",
]

SCORE_BATCH_SIZE = 4096
SVDD_CENTRE_EPS = 0.1  # centre coordinates closer to 0 than this are pushed out (Ruff et al.)


# --- modules ----------------------------------------------------------------------------------


def _mlp(sizes: list[int], *, bias: bool = True, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``Linear -> act`` between consecutive sizes, no activation after the last Linear."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class DenseAutoencoder(nn.Module):
    """``n_features -> hidden -> latent -> hidden -> n_features``."""

    def __init__(self, n_features: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.encoder = _mlp([n_features, hidden_dim, latent_dim])
        self.decoder = _mlp([latent_dim, hidden_dim, n_features])

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, n_features) -> reconstruction (B, n_features)
        return self.decoder(torch.relu(self.encoder(x)))


class VariationalAutoencoder(nn.Module):
    """Gaussian encoder q(z|x) = N(mu, sigma^2), unit-variance Gaussian decoder."""

    def __init__(self, n_features: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.encoder = _mlp([n_features, hidden_dim, 2 * latent_dim])
        self.decoder = _mlp([latent_dim, hidden_dim, n_features])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # x: (B, n_features) -> reconstruction (B, n_features), mu and logvar (B, latent)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-10.0, 10.0)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar


class SVDDNet(nn.Module):
    """Bias-free ``n_features -> hidden -> rep`` (LeakyReLU) and the fixed centre ``c``."""

    def __init__(self, n_features: int, hidden_dim: int, rep_dim: int) -> None:
        super().__init__()
        self.net = _mlp([n_features, hidden_dim, rep_dim], bias=False, act=nn.LeakyReLU)
        self.register_buffer("centre", torch.zeros(rep_dim))

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, n_features) -> representation (B, rep_dim)
        return self.net(x)


# --- the unsupervised path through the shared loop --------------------------------------------


class UnsupervisedTrainer(TimedTrainer):
    """The timed loop, with the loss of a batch computed by the estimator from its inputs."""

    def __init__(self, module: nn.Module, estimator: _DeepDetector, config: TrainConfig) -> None:
        super().__init__(module, _no_loss, config)
        self.estimator = estimator

    def fit(self, train: tuple[Tensor, ...], val: tuple[Tensor, ...] | None = None) -> Any:
        self.estimator._before_training(self.module, train[0])
        return super().fit(train, val)

    def compute_loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        return self.estimator._row_losses(self.module, batch[0]).mean()


def _no_loss(output: Tensor, target: Tensor) -> Tensor:
    raise NotImplementedError("unsupervised training computes its loss in compute_loss")


class _DeepDetector(BaseDetector, NetworkEstimator):
    """Fit through ``NetworkEstimator`` (one loop, config + numpy weights), scores per row."""

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        hidden_dim: int = 64,
        latent_dim: int | None = None,
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
        self.contamination = contamination
        self.hidden_dim = hidden_dim
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

    # --- per-family hooks ---------------------------------------------------------------------

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        """Training loss per row (B,)."""
        raise NotImplementedError

    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        """Called once with the training rows before the first epoch."""

    # --- BaseDetector hooks -------------------------------------------------------------------

    def _fit(self, X: np.ndarray) -> np.ndarray:
        self._check_params()
        # the target slot carries X only for its row count; _encode_target leaves it empty
        NetworkEstimator.fit(self, X, X)
        return self._anomaly_scores(X)

    @torch.inference_mode()
    def _per_row(self, X: np.ndarray, fn: Any) -> np.ndarray:
        """``fn(module, x_batch)`` over ``X`` in eval mode, on CPU, concatenated as float64."""
        module = self.module_.eval()
        device = next(module.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        parts = [
            fn(module, x[start : start + SCORE_BATCH_SIZE].to(device)).double().cpu()
            for start in range(0, len(x), SCORE_BATCH_SIZE)
        ]
        return torch.cat(parts).numpy()

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return self._per_row(X, self._row_losses)

    # --- NetworkEstimator hooks ---------------------------------------------------------------

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        return torch.empty((len(y), 0)), y.shape[1], None  # no target: n_outputs = n_features

    def _fit_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        return (torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),)

    def _inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        return self._fit_inputs(X)

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        latent = self.latent_dim or max(1, min(16, n_outputs // 2))
        return {"n_features": n_outputs, "hidden_dim": int(self.hidden_dim), "latent_dim": latent}

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return UnsupervisedTrainer(module, self, config)

    def _check_params(self) -> None:
        ok_hidden = isinstance(self.hidden_dim, Integral) and self.hidden_dim >= 1
        latent = self.latent_dim
        ok_latent = latent is None or (isinstance(latent, Integral) and latent >= 1)
        if not (ok_hidden and ok_latent):
            raise ConfigError(
                f"invalid hidden_dim={self.hidden_dim!r} or latent_dim={latent!r}; expected "
                "integers >= 1 (latent_dim None picks min(16, n_features // 2))."
            )


class AutoencoderDetector(_DeepDetector):
    """Dense autoencoder; score = squared reconstruction error summed over encoded features.

    Learned attributes: ``module_``, ``module_config_``, ``history_``, ``best_epoch_``,
    ``stop_reason_``, ``n_params_``, ``device_``, plus :class:`BaseDetector`'s.
    """

    contribution_method = "per-feature squared reconstruction error (sums to the score)"

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return DenseAutoencoder(**config)

    def _errors(self, module: nn.Module, x: Tensor) -> Tensor:
        return (module(x) - x) ** 2  # (B, n_features)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        return self._errors(module, x).sum(dim=1)

    def _contributions(self, X: np.ndarray) -> np.ndarray:
        return self._per_row(X, self._errors)


class VAEDetector(_DeepDetector):
    """Variational autoencoder; score = negative ELBO at z = mu: 0.5 x squared reconstruction
    error (unit-variance Gaussian decoder, constants dropped) + KL(q(z|x) || N(0, I)).

    Contributions are the per-feature reconstruction terms; the KL term (not per feature) is
    the rest of the score.
    """

    contribution_method = (
        "per-feature 0.5 x squared reconstruction error (the score adds the KL term)"
    )

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return VariationalAutoencoder(**config)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        reconstruction, mu, logvar = module(x)
        recon = 0.5 * ((reconstruction - x) ** 2).sum(dim=1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)
        return recon + kl

    def _recon_terms(self, module: nn.Module, x: Tensor) -> Tensor:
        return 0.5 * (module(x)[0] - x) ** 2

    def _contributions(self, X: np.ndarray) -> np.ndarray:
        return self._per_row(X, self._recon_terms)


class DeepSVDDDetector(_DeepDetector):
    """One-Class Deep SVDD (Ruff et al. 2018): a bias-free network trained to map training
    rows close to a centre c, the mean of its initial outputs (coordinates within 0.1 of zero
    pushed to +-0.1); score = ||phi(x) - c||^2. Contributions: robust deviation of the inputs.
    """

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return SVDDNet(config["n_features"], config["hidden_dim"], config["latent_dim"])

    @torch.no_grad()
    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        module.eval()
        centre = module(x_train).mean(dim=0)
        small = centre.abs() < SVDD_CENTRE_EPS
        centre[small] = torch.where(centre[small] < 0, -SVDD_CENTRE_EPS, SVDD_CENTRE_EPS)
        module.centre.copy_(centre)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        return ((module(x) - module.centre) ** 2).sum(dim=1)
