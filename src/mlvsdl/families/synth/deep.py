"""Deep table synthesizers, written on PyTorch and trained by the one loop: TVAE here, CTGAN in
``ctgan.py`` (both on :class:`NetworkSynth`).

SDV's ``ctgan`` package (which holds both reference implementations) is under the Business
Source License, not an open-source licence, so these follow the paper (Xu et al., "Modeling
Tabular Data using Conditional GAN", NeurIPS 2019) and its published settings:

* both read and write the mode-specific normalization of ``modes.py``;
* :class:`TVAESynthesizer` — encoder and decoder MLPs (128, 128), a 128-d latent; the loss is
  twice the reconstruction (a Gaussian with one learned sigma per number for the scalars,
  cross-entropy for each one-hot block) plus the KL divergence; a sample decodes N(0, I) noise,
  adds the learned sigma's noise to each scalar and takes each block's largest entry; early
  stopping on the loss of a validation tenth;
* :class:`CTGANSynthesizer` — a conditional WGAN-GP (gradient penalty 10): the generator is two
  residual layers (256, batch norm) with tanh scalars and Gumbel-softmax (tau 0.2) blocks; the
  critic two layers (256, leaky ReLU 0.2, dropout 0.5) over packs of 10 rows; every step draws a
  conditional vector (a categorical column uniformly, a category by its log-frequency) and real
  rows having it (*training by sampling*), and the generator is also penalized by the
  cross-entropy of the conditioned block. Adam (2e-4, betas 0.5/0.9). No validation loss exists
  for a GAN: it trains until its epochs or its time allowance end. Only the generator is stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mlvsdl.families.anomaly.deep import UnsupervisedTrainer
from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig
from mlvsdl.families.synth.base import BaseSynthesizer
from mlvsdl.families.synth.modes import ModeNormalizer

__all__ = ["NetworkSynth", "TVAESynthesizer"]

SAMPLE_BATCH = 4096


class NetworkSynth(BaseSynthesizer, NetworkEstimator):
    """A synthesizer whose network trains through ``NetworkEstimator`` on the normalized matrix."""

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        *,
        hidden: int = 128,
        latent_dim: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 500,
        max_epochs: int = 300,
        patience: int | None = 20,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = None,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.columns = columns
        self.numeric = numeric
        self.target = target
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

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        cards = tuple(self.codec_.cardinalities_)
        self.normalizer_ = ModeNormalizer(cards, self.random_state).fit(num, rng)
        matrix = self.normalizer_.transform(num, cat, rng)
        self._train_cat = cat
        try:
            NetworkEstimator.fit(self, matrix, np.zeros(len(matrix)))
        finally:
            del self._train_cat

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        return torch.empty((len(y), 0)), 0, None

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        return (torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        return self._fit_inputs(X)

    def _seed(self, rng: np.random.Generator) -> torch.Generator:
        return torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))


# --- TVAE ---------------------------------------------------------------------------------------


class TVAEModule(nn.Module):
    def __init__(self, width: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, width),
        )
        self.sigma = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.encoder(x)
        return self.decoder(self.mu(h))


class TVAESynthesizer(NetworkSynth):
    """TVAE (see the module docstring)."""

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return {
            "width": int(self.normalizer_.width_),
            "hidden": int(self.hidden),
            "latent": int(self.latent_dim),
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return TVAEModule(**config)

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return UnsupervisedTrainer(module, self, config)  # type: ignore[arg-type]

    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        """Nothing to prepare."""

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        h = module.encoder(x)
        mu, logvar = module.mu(h), module.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out = module.decoder(z)
        loss = torch.zeros(len(x), device=x.device)
        start = 0
        for kind, size in self.normalizer_.spans_:
            if kind == "tanh":
                sigma = module.sigma[start].clamp(0.01, 1.0)
                error = (x[:, start] - torch.tanh(out[:, start])) ** 2
                loss = loss + error / (2 * sigma**2) + torch.log(sigma)
            else:
                target = x[:, start : start + size].argmax(dim=1)
                loss = loss + F.cross_entropy(
                    out[:, start : start + size], target, reduction="none"
                )
            start += size
        kld = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return 2 * loss + kld

    @torch.inference_mode()
    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        module = self.module_.eval()
        device = next(module.parameters()).device
        generator = self._seed(rng)
        parts = []
        for start in range(0, n, SAMPLE_BATCH):
            size = min(SAMPLE_BATCH, n - start)
            z = torch.randn((size, int(self.latent_dim)), generator=generator)
            parts.append(torch.tanh(module.decoder(z.to(device))).float().cpu())
        out = torch.cat(parts).numpy().astype(np.float64)
        sigma = module.sigma.detach().clamp(0.01, 1.0).cpu().numpy()
        start = 0
        for kind, size in self.normalizer_.spans_:
            if kind == "tanh":
                noisy = out[:, start] + rng.normal(0.0, sigma[start], size=n)
                out[:, start] = np.clip(noisy, -1.0, 1.0)
            start += size
        return self.normalizer_.inverse(out)
