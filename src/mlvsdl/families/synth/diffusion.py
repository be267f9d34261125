"""A tabular diffusion model as TabDDPM does it (Kotelnikov et al., ICLR 2023), on PyTorch.

* Numbers are made normal by a quantile transform (scikit-learn's ``QuantileTransformer``) and
  diffused with Gaussian noise (DDPM, Ho et al. 2020): the network predicts the noise, the loss
  is its mean squared error, sampling is ancestral with the posterior variance.
* Categories (and missing flags) are diffused by multinomial diffusion (Hoogeboom et al. 2021):
  ``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K)``; the network predicts ``x_0``'s logits,
  the loss is the KL divergence between the true posterior ``q(x_{t-1} | x_t, x_0)`` and the one
  the prediction implies (the negative log-likelihood of ``x_0`` at the last step).
* One MLP denoiser (``hidden`` x ``depth``, ReLU, dropout 0) sees the noisy row and a sinusoidal
  embedding of the step; both parts share the cosine schedule of ``steps`` steps: 100, the
  smaller of the two values the paper tunes over (100 or 1,000), since sampling runs every step
  (1,000 steps on Adult's 6,513 test rows took minutes on 2 busy cores).

Training draws a step per row and runs through the one loop (``UnsupervisedTrainer``: the loss
per row computed here), with early stopping on a validation tenth and the time allowance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.preprocessing import QuantileTransformer
from torch import Tensor, nn

from mlvsdl.families.anomaly.deep import UnsupervisedTrainer
from mlvsdl.families.dl.network import NetworkEstimator, TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig
from mlvsdl.families.synth.deep import _NetworkSynth

__all__ = ["DiffusionSynthesizer"]

LOG_EPS = 1e-30
SAMPLE_BATCH = 8192


def _cosine_alphas(steps: int) -> np.ndarray:
    """Per-step alpha_t of the cosine schedule (Nichol & Dhariwal 2021), betas capped at 0.999."""
    s = 0.008
    t = np.linspace(0, steps, steps + 1) / steps
    abar = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1 - abar[1:] / abar[:-1], 0, 0.999)
    return 1 - betas


class Denoiser(nn.Module):
    def __init__(self, width: int, hidden: int, depth: int, steps: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.project = nn.Linear(width, hidden)
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(hidden, width)
        alphas = torch.tensor(_cosine_alphas(steps), dtype=torch.float64)
        abar = torch.cumprod(alphas, 0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        # schedules as buffers (float32), not stored: rebuilt from the config
        for name, value in (
            ("alphas", alphas),
            ("abar", abar),
            ("abar_prev", abar_prev),
            ("log_alphas", torch.log(alphas)),
            ("log_1m_alphas", torch.log1p(-alphas).clamp(min=math.log(LOG_EPS))),
            ("log_abar", torch.log(abar)),
            ("log_1m_abar", torch.log1p(-abar).clamp(min=math.log(LOG_EPS))),
        ):
            self.register_buffer(name, value.float(), persistent=False)

    def embed_time(self, t: Tensor) -> Tensor:
        half = self.hidden // 2
        freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]
        emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
        if self.hidden % 2:
            emb = F.pad(emb, (0, 1))
        return self.time(emb)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        return self.head(self.body(self.project(x) + self.embed_time(t)))


class DiffusionSynthesizer(_NetworkSynth):
    """TabDDPM (see the module docstring)."""

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        *,
        hidden: int = 256,
        depth: int = 3,
        steps: int = 100,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 1024,
        max_epochs: int = 2000,
        patience: int | None = 50,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.depth = depth
        self.steps = steps
        super().__init__(
            columns,
            numeric,
            target,
            hidden=hidden,
            latent_dim=0,
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
        self.n_num_ = num.shape[1]
        self.cards_ = [int(c) for c in self.codec_.cardinalities_]
        if self.n_num_:
            self.scaler_ = QuantileTransformer(
                n_quantiles=min(1000, len(num)),
                output_distribution="normal",
                random_state=self.random_state,
            ).fit(num)
            z = self.scaler_.transform(num)
        else:
            self.scaler_, z = None, np.zeros((len(num), 0))
        onehot = [np.eye(c)[cat[:, j]] for j, c in enumerate(self.cards_)]
        matrix = np.hstack([z, *onehot]).astype(np.float32)
        NetworkEstimator.fit(self, matrix, np.zeros(len(matrix)))

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        width = self.n_num_ + sum(self.cards_)
        return {
            "width": width,
            "hidden": int(self.hidden),
            "depth": int(self.depth),
            "steps": int(self.steps),
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return Denoiser(**config)

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return UnsupervisedTrainer(module, self, config)  # type: ignore[arg-type]

    def _before_training(self, module: nn.Module, x_train: Tensor) -> None:
        """Nothing to prepare."""

    # --- multinomial diffusion, in log space ------------------------------------------------------

    def _blocks(self) -> list[tuple[int, int]]:
        out, start = [], self.n_num_
        for c in self.cards_:
            out.append((start, c))
            start += c
        return out

    @staticmethod
    def _log_mix(log_p: Tensor, log_a: Tensor, log_1m_a: Tensor, k: int) -> Tensor:
        """log(a p + (1 - a) / K) for log-probabilities ``log_p`` (rows x K)."""
        return torch.logaddexp(log_p + log_a[:, None], log_1m_a[:, None] - math.log(k))

    def _posterior(self, m: Denoiser, log_x0: Tensor, x_t: Tensor, t: Tensor, k: int) -> Tensor:
        """log q(x_{t-1} | x_t, x_0) for one category block (t >= 1), normalized."""
        log_xt = torch.log(x_t.clamp(min=LOG_EPS))
        step_given = self._log_mix(log_xt, m.log_alphas[t], m.log_1m_alphas[t], k)
        t_prev = (t - 1).clamp(min=0)
        prior = self._log_mix(log_x0, m.log_abar[t_prev], m.log_1m_abar[t_prev], k)
        prior = torch.where((t == 0)[:, None], log_x0, prior)
        unnorm = step_given + prior
        return unnorm - torch.logsumexp(unnorm, dim=1, keepdim=True)

    def _row_losses(self, module: nn.Module, x: Tensor) -> Tensor:
        m: Denoiser = module  # type: ignore[assignment]
        n = len(x)
        t = torch.randint(0, int(self.steps), (n,), device=x.device)
        parts, noise = [], None
        if self.n_num_:
            x0 = x[:, : self.n_num_]
            noise = torch.randn_like(x0)
            abar = m.abar[t][:, None]
            parts.append(abar.sqrt() * x0 + (1 - abar).sqrt() * noise)
        categorical = []
        for start, k in self._blocks():
            log_x0 = torch.log(x[:, start : start + k].clamp(min=LOG_EPS))
            log_q = self._log_mix(log_x0, m.log_abar[t], m.log_1m_abar[t], k)
            sample = F.one_hot(torch.distributions.Categorical(logits=log_q).sample(), k).float()
            parts.append(sample)
            categorical.append((start, k, log_x0, sample))
        out = m(torch.cat(parts, dim=1), t)
        loss = torch.zeros(n, device=x.device)
        if noise is not None:
            loss = loss + ((out[:, : self.n_num_] - noise) ** 2).mean(dim=1)
        for start, k, log_x0, x_t in categorical:
            log_pred = F.log_softmax(out[:, start : start + k], dim=1)
            true_post = self._posterior(m, log_x0, x_t, t, k)
            model_post = self._posterior(m, log_pred, x_t, t, k)
            kl = (true_post.exp() * (true_post - model_post)).sum(dim=1)
            nll = -(log_x0.exp() * log_pred).sum(dim=1)
            loss = loss + torch.where(t == 0, nll, kl) / max(len(self.cards_), 1)
        return loss

    @torch.inference_mode()
    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        m: Denoiser = self.module_.eval()  # type: ignore[assignment]
        device = next(m.parameters()).device
        generator = self._seed(rng)
        nums, cats = [], []
        for begin in range(0, n, SAMPLE_BATCH):
            size = min(SAMPLE_BATCH, n - begin)
            num = torch.randn((size, self.n_num_), generator=generator).to(device)
            blocks = [
                F.one_hot(torch.randint(k, (size,), generator=generator), k).float().to(device)
                for _, k in self._blocks()
            ]
            for step in reversed(range(int(self.steps))):
                t = torch.full((size,), step, device=device, dtype=torch.long)
                out = m(torch.cat([num, *blocks], dim=1), t)
                if self.n_num_:
                    num = self._gaussian_step(m, num, out[:, : self.n_num_], step, generator)
                for i, (start, k) in enumerate(self._blocks()):
                    log_pred = F.log_softmax(out[:, start : start + k], dim=1)
                    log_p = log_pred if step == 0 else self._posterior(m, log_pred, blocks[i], t, k)
                    u = torch.rand(log_p.shape, generator=generator).to(device)
                    gumbel = -torch.log(-torch.log(u.clamp(min=LOG_EPS)).clamp(min=LOG_EPS))
                    blocks[i] = F.one_hot((log_p + gumbel).argmax(dim=1), k).float()
            nums.append(num.double().cpu().numpy())
            codes = [b.argmax(dim=1).cpu().numpy() for b in blocks]
            cats.append(np.column_stack(codes) if codes else np.zeros((size, 0), np.int64))
        z = np.concatenate(nums)
        values = self.scaler_.inverse_transform(z) if self.scaler_ is not None else z
        return values, np.concatenate(cats).astype(np.int64)

    def _gaussian_step(
        self, m: Denoiser, x: Tensor, eps: Tensor, step: int, generator: torch.Generator
    ) -> Tensor:
        alpha, abar, abar_prev = m.alphas[step], m.abar[step], m.abar_prev[step]
        mean = (x - (1 - alpha) / (1 - abar).sqrt() * eps) / alpha.sqrt()
        if step == 0:
            return mean
        variance = (1 - alpha) * (1 - abar_prev) / (1 - abar)
        z = torch.randn(x.shape, generator=generator).to(x.device)
        return mean + variance.sqrt() * z
