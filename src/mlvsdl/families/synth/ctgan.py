"""CTGAN (Xu et al., NeurIPS 2019) on PyTorch, trained by the one loop (see ``deep.py``'s
docstring for the settings, and why it is not SDV's ``ctgan`` package)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mlvsdl.families.dl.network import TimedTrainer
from mlvsdl.families.dl.trainer import TrainConfig
from mlvsdl.families.synth.deep import SAMPLE_BATCH, NetworkSynth

__all__ = ["CTGANSynthesizer"]


# --- CTGAN --------------------------------------------------------------------------------------


class _Residual(nn.Module):
    def __init__(self, width_in: int, width_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width_in, width_out)
        self.bn = nn.BatchNorm1d(width_out)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class CTGANModule(nn.Module):
    def __init__(self, width: int, cond_width: int, noise: int, hidden: int, pac: int) -> None:
        super().__init__()
        self.pac = pac
        self.generator = nn.Sequential(
            _Residual(noise + cond_width, hidden),
            _Residual(noise + cond_width + hidden, hidden),
            nn.Linear(noise + cond_width + 2 * hidden, width),
        )
        self.discriminator = nn.Sequential(
            nn.Linear(pac * (width + cond_width), hidden),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.5),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.5),
            nn.Linear(hidden, 1),
        )

    def critic(self, x: Tensor) -> Tensor:
        return self.discriminator(x.reshape(-1, self.pac * x.shape[1]))

    def forward(self, x: Tensor) -> Tensor:
        return self.generator(x)


class CTGANTrainer(TimedTrainer):
    """The timed loop with CTGAN's two-player step (one critic step, one generator step)."""

    def __init__(self, module: CTGANModule, estimator: CTGANSynthesizer, config: TrainConfig):
        super().__init__(module, _no_loss, config)
        self.estimator = estimator
        self.data: Tensor | None = None

    def configure_optimizers(self, total_steps: int) -> Any:
        cfg = self.config
        module: CTGANModule = self.module  # type: ignore[assignment]
        betas = (0.5, 0.9)
        generator = torch.optim.Adam(
            module.generator.parameters(), lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay
        )
        self.critic_optimizer = torch.optim.Adam(
            module.discriminator.parameters(), lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay
        )
        return generator, torch.optim.lr_scheduler.LambdaLR(generator, lambda step: 1.0)

    def run_epoch(self, tensors: tuple[Tensor, ...], generator: torch.Generator) -> float:
        self.data = tensors[0]
        self.estimator._prepare_conditions(tensors[0].device)
        return super().run_epoch(tensors, generator)

    def train_step(self, batch: tuple[Tensor, ...]) -> Tensor:
        assert self.optimizer is not None and self.data is not None
        module: CTGANModule = self.module  # type: ignore[assignment]
        est = self.estimator
        n = max(module.pac, int(est.batch_size) // module.pac * module.pac)
        cond, columns, categories, rows = est._training_conditions(n)
        real = torch.cat([self.data[rows], cond], dim=1)
        fake = torch.cat([est._activate(module.generator(est._noise(n, cond))), cond], dim=1)
        critic_loss = module.critic(fake.detach()).mean() - module.critic(real).mean()
        critic_loss = critic_loss + _gradient_penalty(module, real, fake.detach())
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optimizer.step()

        cond, columns, categories, _ = est._training_conditions(n)
        raw = module.generator(est._noise(n, cond))
        fake = torch.cat([est._activate(raw), cond], dim=1)
        loss = -module.critic(fake).mean() + est._condition_loss(raw, columns, categories)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        assert self.scheduler is not None
        self.scheduler.step()
        return loss.detach()


def _gradient_penalty(module: CTGANModule, real: Tensor, fake: Tensor, weight: float = 10.0):
    pac, width = module.pac, real.shape[1]
    alpha = torch.rand(len(real) // pac, 1, 1, device=real.device)
    alpha = alpha.repeat(1, pac, width).reshape(-1, width)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = module.critic(mixed)
    (grads,) = torch.autograd.grad(score, mixed, torch.ones_like(score), create_graph=True)
    return weight * ((grads.reshape(-1, pac * width).norm(2, dim=1) - 1) ** 2).mean()


def _no_loss(output: Tensor, target: Tensor) -> Tensor:
    raise NotImplementedError("CTGAN computes its losses in train_step")


class CTGANSynthesizer(NetworkSynth):
    """CTGAN (see the module docstring)."""

    pac = 10

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        *,
        hidden: int = 256,
        latent_dim: int = 128,
        lr: float = 2e-4,
        weight_decay: float = 1e-6,
        batch_size: int = 500,
        max_epochs: int = 300,
        patience: int | None = None,
        validation_fraction: float | None = None,
        grad_clip: float | None = None,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        super().__init__(
            columns,
            numeric,
            target,
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

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        cards = self.codec_.cardinalities_
        self.frequencies_ = [
            np.bincount(cat[:, j], minlength=c) / len(cat) for j, c in enumerate(cards)
        ]
        self._cond = None
        try:
            super()._fit_encoded(num, cat, rng)
        finally:
            del self._cond

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return {
            "width": int(self.normalizer_.width_),
            "cond_width": int(sum(self.codec_.cardinalities_)),
            "noise": int(self.latent_dim),
            "hidden": int(self.hidden),
            "pac": self.pac,
        }

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return CTGANModule(**config)

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return CTGANTrainer(module, self, config)  # type: ignore[arg-type]

    def _saved_weights(self, module: nn.Module) -> dict[str, Tensor]:
        return {f"generator.{k}": v for k, v in module.generator.state_dict().items()}

    # --- conditions: training by sampling -------------------------------------------------------

    def _prepare_conditions(self, device: torch.device) -> None:
        """Per categorical column, the training rows sorted by category and where each starts."""
        if getattr(self, "_cond", None) is not None:
            return
        cat = self._train_cat
        cards = self.codec_.cardinalities_
        width = max(cards, default=1)
        log_freq = np.zeros((len(cards), width))
        starts = np.zeros((len(cards), width), dtype=np.int64)
        counts = np.zeros((len(cards), width), dtype=np.int64)
        orders = []
        for j, c in enumerate(cards):
            count = np.bincount(cat[:, j], minlength=c)
            log_freq[j, :c] = np.log(count + 1) * (count > 0)
            starts[j, :c] = len(cat) * j + np.concatenate([[0], np.cumsum(count)[:-1]])
            counts[j, :c] = count
            orders.append(np.argsort(cat[:, j], kind="stable"))
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]) if cards else np.zeros(0)
        to = {"device": device}
        self._cond = {
            "log_freq": torch.tensor(log_freq / log_freq.sum(1, keepdims=True).clip(1e-12), **to),
            "starts": torch.tensor(starts, **to),
            "counts": torch.tensor(counts, **to),
            "orders": torch.tensor(np.concatenate(orders) if orders else np.zeros(0), **to).long(),
            "offsets": torch.tensor(offsets, **to).long(),
        }

    def _training_conditions(self, n: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        c = self._cond
        device = c["starts"].device
        width = int(sum(self.codec_.cardinalities_))
        if width == 0:
            rows = torch.randint(len(self._train_cat), (n,), device=device)
            empty = torch.zeros(n, dtype=torch.long, device=device)
            return torch.zeros((n, 0), device=device), empty, empty, rows
        columns = torch.randint(len(self.codec_.cardinalities_), (n,), device=device)
        categories = torch.multinomial(c["log_freq"][columns], 1).squeeze(1)
        start, count = c["starts"][columns, categories], c["counts"][columns, categories]
        pick = start + (torch.rand(n, device=device) * count).long()
        rows = c["orders"][pick]
        cond = torch.zeros((n, width), device=device)
        cond[torch.arange(n, device=device), c["offsets"][columns] + categories] = 1.0
        return cond, columns, categories, rows

    def _noise(self, n: int, cond: Tensor, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn((n, int(self.latent_dim)), generator=generator)
        return torch.cat([z.to(cond.device), cond], dim=1)

    def _activate(self, raw: Tensor) -> Tensor:
        parts, start = [], 0
        for kind, size in self.normalizer_.spans_:
            block = raw[:, start : start + size]
            parts.append(torch.tanh(block) if kind == "tanh" else F.gumbel_softmax(block, tau=0.2))
            start += size
        return torch.cat(parts, dim=1)

    def _condition_loss(self, raw: Tensor, columns: Tensor, categories: Tensor) -> Tensor:
        if raw.shape[0] == 0 or not self.codec_.cardinalities_:
            return raw.new_zeros(())
        loss = raw.new_zeros(())
        for j, (start, size) in enumerate(self.normalizer_.category_spans):
            mask = columns == j
            if mask.any():
                block = raw[mask, start : start + size]
                loss = loss + F.cross_entropy(block, categories[mask], reduction="sum")
        return loss / raw.shape[0]

    # --- sampling -------------------------------------------------------------------------------

    @torch.inference_mode()
    def _generate(self, n: int, rng: np.random.Generator, fixed: dict[int, int]):
        module = self.module_.eval()
        device = next(module.parameters()).device
        generator = self._seed(rng)
        cards = self.codec_.cardinalities_
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(int) if cards else []
        outputs = []
        for start in range(0, n, SAMPLE_BATCH):
            size = min(SAMPLE_BATCH, n - start)
            cond = np.zeros((size, int(sum(cards))), dtype=np.float32)
            if cards:
                if fixed:
                    column, code = next(iter(fixed.items()))
                    cond[:, offsets[column] + code] = 1.0
                else:  # the original frequencies (CTGAN's sample)
                    column = rng.integers(len(cards), size=size)
                    for j in np.unique(column):
                        rows = np.flatnonzero(column == j)
                        codes = rng.choice(cards[j], size=len(rows), p=self.frequencies_[j])
                        cond[rows, offsets[j] + codes] = 1.0
            cond_t = torch.from_numpy(cond).to(device)
            raw = module.generator(self._noise(size, cond_t, generator))
            out = []
            begin = 0
            for kind, width in self.normalizer_.spans_:
                block = raw[:, begin : begin + width]
                out.append(torch.tanh(block) if kind == "tanh" else block)
                begin += width
            outputs.append(torch.cat(out, dim=1).float().cpu())
        return self.normalizer_.inverse(torch.cat(outputs).numpy())

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return self._generate(n, rng, {})

    def _sample_conditioned(
        self, n: int, rng: np.random.Generator, codes: dict[int, int]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The conditional vector set to the first condition; rows meeting every condition
        are kept (generation repeats until there are ``n``)."""
        nums, cats, found = [], [], 0
        first = dict([next(iter(codes.items()))])
        for _ in range(40):
            num, cat = self._generate(max(2 * n, 256), rng, first)
            keep = np.ones(len(cat), dtype=bool)
            for j, code in codes.items():
                keep &= cat[:, j] == code
            nums.append(num[keep])
            cats.append(cat[keep])
            found += int(keep.sum())
            if found >= n:
                return np.concatenate(nums)[:n], np.concatenate(cats)[:n]
        return None  # rejection without the vector says how rare the condition is
