"""The one PyTorch training loop every network in mlvsdl uses.

A network family supplies an ``nn.Module``, a loss and tensors; this module does the rest:

* mini-batches sliced from in-memory tensors, reshuffled every epoch with a seeded
  ``torch.Generator`` (no ``DataLoader``: one gather per epoch, then views);
* AdamW (weight decay on matrices only, as in nanoGPT, less any tensors the module exempts with
  ``no_weight_decay()``), fused where the device supports it;
* a learning-rate schedule: linear warmup over ``warmup_fraction`` of all steps, then cosine decay
  to ``min_lr_fraction * lr`` at the last step of ``max_epochs``;
* gradient clipping by global norm;
* early stopping on validation loss with patience; the best weights are restored at the end;
* an optional wall-clock limit, checked after each epoch (between steps too in a subclass whose
  :meth:`Trainer.should_stop` reads the clock, as ``network.TimedTrainer`` does);
* seeding without disturbing the caller's global RNG state, and device choice ("auto" = CUDA when
  available, else CPU; tensors are moved once);
* one host sync per epoch: batch losses stay on the device until the epoch ends.

Stopping is reported, never raised: :class:`TrainResult` says why training ended in
``stop_reason`` (``"max_epochs"``, ``"early_stopping"``, ``"time"`` or ``"non_finite"``).

Convention: each tensor tuple holds the module's inputs followed by the target, all sharing the
first (row) dimension. A family that trains differently subclasses :class:`Trainer` and overrides
:meth:`Trainer.compute_loss`, :meth:`Trainer.train_step` or :meth:`Trainer.configure_optimizers`;
:meth:`Trainer.should_stop` is the hook that ends an epoch between two steps.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mlvsdl.errors import ConfigError, DataError

__all__ = [
    "StopReason",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "count_parameters",
    "fit_module",
    "predict_module",
    "resolve_device",
    "seeded",
]

logger = logging.getLogger(__name__)

StopReason = Literal["max_epochs", "early_stopping", "time", "non_finite"]
LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, stopping, seed and device. Validated on creation."""

    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 256
    max_epochs: int = 100
    patience: int | None = 10  # epochs without val improvement before stopping; None = never
    min_delta: float = 0.0  # val loss must drop by more than this to count as an improvement
    grad_clip: float | None = 1.0  # max global gradient norm; None = no clipping
    warmup_fraction: float = 0.05  # of all scheduled steps
    min_lr_fraction: float = 0.01  # the cosine ends at lr * min_lr_fraction
    seed: int = 0
    device: str = "auto"
    max_time_s: float | None = None  # stop after the epoch that passes this wall-clock time
    eval_batch_size: int = 4096

    def __post_init__(self) -> None:
        checks = {
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "batch_size": self.batch_size >= 1,
            "max_epochs": self.max_epochs >= 1,
            "patience": self.patience is None or self.patience >= 1,
            "min_delta": self.min_delta >= 0,
            "grad_clip": self.grad_clip is None or self.grad_clip > 0,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
            "min_lr_fraction": 0 <= self.min_lr_fraction <= 1,
            "max_time_s": self.max_time_s is None or self.max_time_s > 0,
            "eval_batch_size": self.eval_batch_size >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ConfigError(
                f"invalid training setting(s) {values}; sizes and epochs must be >= 1, rates and "
                "limits > 0, fractions in [0, 1)."
            )


@dataclass(frozen=True)
class TrainResult:
    """What a fit produced besides the trained module (which is updated in place)."""

    history: list[dict[str, Any]]  # one dict per epoch: epoch, train_loss, val_loss, lr, time_s
    best_epoch: int  # 1-based; the epoch whose weights the module holds
    stop_reason: StopReason
    n_params: int
    device: str
    best_val_loss: float | None = None


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; anything else must be usable here."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for but CUDA is not available; use 'auto'.")
    return resolved


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch inside the block and restore the caller's RNG state after it."""
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class _BestWeights:
    """Tracks the best validation loss, keeps a copy of its weights, counts patience."""

    def __init__(self, patience: int | None, min_delta: float) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.loss = math.inf
        self.epoch = 0
        self.state: dict[str, Tensor] | None = None

    def update(self, module: nn.Module, epoch: int, loss: float) -> bool:
        """Record ``loss`` for ``epoch``; return True when patience has run out."""
        if loss < self.loss - self.min_delta:
            self.loss, self.epoch = loss, epoch
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return self.patience is not None and epoch - self.epoch >= self.patience

    def restore(self, module: nn.Module) -> None:
        if self.state is not None:
            module.load_state_dict(self.state)


class Trainer:
    """The fit loop, split into short steps a family may override.

    ``fit`` -> ``run_epoch`` -> ``train_step`` -> ``compute_loss``; ``evaluate`` for validation;
    ``configure_optimizers`` builds the optimizer and the schedule; ``should_stop`` may end an
    epoch early.
    """

    def __init__(self, module: nn.Module, loss_fn: LossFn, config: TrainConfig) -> None:
        self.module = module
        self.loss_fn = loss_fn
        self.config = config
        self.device = resolve_device(config.device)
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self._params: list[nn.Parameter] = []

    def fit(self, train: tuple[Tensor, ...], val: tuple[Tensor, ...] | None = None) -> TrainResult:
        """Train ``self.module`` in place; return its history and why it stopped."""
        cfg = self.config
        train = _to_device(train, self.device, "train")
        val = _to_device(val, self.device, "val") if val is not None else None
        self.module.to(self.device)
        self._params = [p for p in self.module.parameters() if p.requires_grad]
        n_batches = len(range(0, _usable_rows(len(train[0]), cfg.batch_size), cfg.batch_size))
        self.optimizer, self.scheduler = self.configure_optimizers(n_batches * cfg.max_epochs)
        generator = torch.Generator().manual_seed(cfg.seed)
        best = _BestWeights(cfg.patience, cfg.min_delta)
        history: list[dict[str, Any]] = []
        start, reason = time.perf_counter(), "max_epochs"
        with seeded(cfg.seed, self.device):
            for epoch in range(1, cfg.max_epochs + 1):
                train_loss = self.run_epoch(train, generator)
                val_loss = self.evaluate(val) if val is not None else None
                elapsed = time.perf_counter() - start
                lr = self.optimizer.param_groups[0]["lr"]
                history.append(_epoch_record(epoch, train_loss, val_loss, lr, elapsed))
                reason = self._stop_reason(epoch, train_loss, val_loss, elapsed, best) or reason
                if reason != "max_epochs":
                    break
        best.restore(self.module)
        self.module.eval()
        best_epoch = best.epoch if best.state is not None else len(history)
        logger.debug("trained %d epochs on %s, stopped: %s", len(history), self.device, reason)
        return TrainResult(
            history=history,
            best_epoch=best_epoch,
            stop_reason=reason,  # type: ignore[arg-type]
            n_params=count_parameters(self.module),
            device=str(self.device),
            best_val_loss=best.loss if best.state is not None else None,
        )

    def _stop_reason(
        self,
        epoch: int,
        train_loss: float,
        val_loss: float | None,
        elapsed: float,
        best: _BestWeights,
    ) -> StopReason | None:
        if not math.isfinite(train_loss):
            logger.warning("training loss became %s at epoch %d; stopping", train_loss, epoch)
            return "non_finite"
        if val_loss is not None and best.update(self.module, epoch, val_loss):
            return "early_stopping"
        if self.config.max_time_s is not None and elapsed >= self.config.max_time_s:
            return "time"
        return None

    def configure_optimizers(
        self, total_steps: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """AdamW (decay on tensors with >= 2 dims only) and warmup + cosine, stepped per batch.

        A module may exempt more tensors from weight decay with a ``no_weight_decay()`` method
        returning them (feature embeddings and normalizations, as the FT-Transformer's paper
        does; numerical embeddings whose frequencies decay would pull towards zero).
        """
        cfg = self.config
        exempt_fn = getattr(self.module, "no_weight_decay", None)
        exempt = {id(p) for p in exempt_fn()} if callable(exempt_fn) else set()
        decay = [p for p in self._params if p.dim() >= 2 and id(p) not in exempt]
        no_decay = [p for p in self._params if p.dim() < 2 or id(p) in exempt]
        groups = [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        fused = self.device.type in ("cpu", "cuda") or None  # one kernel per step where supported
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, fused=fused)
        warmup = round(cfg.warmup_fraction * total_steps)
        schedule = _warmup_cosine(warmup, total_steps, cfg.min_lr_fraction)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def compute_loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        """Loss of one batch: the module gets every tensor but the last, which is the target."""
        *inputs, target = batch
        return self.loss_fn(self.module(*inputs), target)

    def train_step(self, batch: tuple[Tensor, ...]) -> Tensor:
        """One optimizer step on ``batch``; returns the detached loss (no host sync)."""
        assert self.optimizer is not None and self.scheduler is not None  # set by fit
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.compute_loss(batch)
        loss.backward()
        if self.config.grad_clip is not None:
            nn.utils.clip_grad_norm_(self._params, self.config.grad_clip, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def should_stop(self) -> bool:
        """Asked before every batch of an epoch but its first: True ends the epoch there.

        The core loop always runs whole epochs. A subclass that stops between steps (a clock,
        a step budget) answers True; the epoch's loss is then the mean of the batches it ran,
        and ``_stop_reason`` decides after the epoch whether training ends.
        """
        return False

    def run_epoch(self, tensors: tuple[Tensor, ...], generator: torch.Generator) -> float:
        """One pass over ``tensors`` in a fresh seeded order; returns the mean training loss.

        The pass ends early when :meth:`should_stop` says so (at least one batch always runs).
        """
        self.module.train()
        n, size = len(tensors[0]), self.config.batch_size
        order = torch.randperm(n, generator=generator).to(tensors[0].device)
        shuffled = tuple(t.index_select(0, order) for t in tensors)
        losses, sizes = [], []
        for start in range(0, _usable_rows(n, size), size):
            if losses and self.should_stop():
                break
            batch = tuple(t[start : start + size] for t in shuffled)
            losses.append(self.train_step(batch))
            sizes.append(len(batch[0]))
        return _weighted_mean(losses, sizes)

    @torch.inference_mode()
    def evaluate(self, tensors: tuple[Tensor, ...]) -> float:
        """Mean loss over ``tensors`` with the module in eval mode."""
        self.module.eval()
        n, size = len(tensors[0]), self.config.eval_batch_size
        losses, sizes = [], []
        for start in range(0, n, size):
            batch = tuple(t[start : start + size] for t in tensors)
            losses.append(self.compute_loss(batch))
            sizes.append(len(batch[0]))
        return _weighted_mean(losses, sizes)


def fit_module(
    module: nn.Module,
    loss_fn: LossFn,
    train: tuple[Tensor, ...],
    val: tuple[Tensor, ...] | None = None,
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train ``module`` in place on ``train`` (inputs..., target); early-stop on ``val``."""
    return Trainer(module, loss_fn, config or TrainConfig()).fit(train, val)


@torch.inference_mode()
def predict_module(module: nn.Module, inputs: tuple[Tensor, ...], batch_size: int = 4096) -> Tensor:
    """Outputs of ``module`` on ``inputs`` in eval mode, batch by batch, concatenated on CPU."""
    module.eval()
    device = next(module.parameters()).device
    outputs = []
    for start in range(0, len(inputs[0]), batch_size):
        batch = tuple(t[start : start + batch_size].to(device) for t in inputs)
        outputs.append(module(*batch))
    return torch.cat(outputs).cpu()


def _to_device(tensors: tuple[Tensor, ...], device: torch.device, name: str) -> tuple[Tensor, ...]:
    lengths = {len(t) for t in tensors}
    if len(tensors) < 2 or len(lengths) != 1 or 0 in lengths:
        raise DataError(
            f"{name} must be a tuple of at least two non-empty tensors (inputs..., target) with "
            f"the same number of rows; got row counts {[len(t) for t in tensors]}."
        )
    return tuple(t.to(device) for t in tensors)


def _usable_rows(n: int, batch_size: int) -> int:
    """Rows used per epoch: a trailing batch of one row is skipped (BatchNorm cannot train on
    it); the shuffle puts a different row there each epoch."""
    return n - 1 if n > 1 and n % batch_size == 1 else n


def _weighted_mean(losses: list[Tensor], sizes: list[int]) -> float:
    """Row-weighted mean of per-batch mean losses, with a single host sync."""
    stacked = torch.stack(losses).float()
    weights = torch.tensor(sizes, dtype=stacked.dtype, device=stacked.device)
    return float((stacked * weights).sum() / weights.sum())


def _warmup_cosine(warmup: int, total: int, floor: float) -> Callable[[int], float]:
    """LR multiplier per step: linear ramp to 1 over ``warmup`` steps, then cosine to ``floor``."""

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return multiplier


def _epoch_record(
    epoch: int, train_loss: float, val_loss: float | None, lr: float, time_s: float
) -> dict[str, Any]:
    """One history row; ``time_s`` is seconds since training began, at the end of the epoch."""
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "lr": float(lr),
        "time_s": time_s,
    }
