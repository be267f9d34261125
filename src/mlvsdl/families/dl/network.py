"""A scikit-learn estimator around any ``nn.Module``, trained by the one loop in ``trainer``.

:class:`NetworkEstimator` is the template the text, image and audio networks share. A subclass
supplies three small methods:

* ``_fit_inputs(X) -> tuple[Tensor, ...]``: learn any input preprocessing (a vocabulary, a
  scaler) from ``X`` and return the module's input tensors;
* ``_inputs(X) -> tuple[Tensor, ...]``: the same tensors for new data (public as
  :meth:`NetworkEstimator.encode`, which checks the estimator is fitted);
* ``_build_module(config: dict) -> nn.Module``: a fresh module from a plain config dict, which
  ``_module_config(n_outputs)`` returns at fit time.

:class:`NetworkClassifierMixin` and :class:`NetworkRegressorMixin` add the target handling,
loss and ``predict``/``predict_proba``. Training runs through :class:`TimedTrainer`, the core
:class:`~mlvsdl.families.dl.trainer.Trainer` with a step-level wall-clock limit (an epoch of a
large network on a CPU can take longer than a whole allowance); ``_trainer`` may return a variant
of it. The allowance (``max_time_s``) covers the whole fit: time spent preparing inputs is taken
off what the loop gets. A subclass with a ``max_steps``
parameter trains at most that many steps: one epoch on a seeded subsample when the data is
larger, else as many epochs as fit.

Pickled state holds plain values only: the module becomes its config dict and numpy weights,
so ``skops.io`` stores it without trusting any torch type; loading checks every stored weight
against the rebuilt module and raises one ``DataError`` when they do not fit.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.families.dl.trainer import (
    TrainConfig,
    Trainer,
    TrainResult,
    _warmup_cosine,
    predict_module,
    resolve_device,
    seeded,
)

__all__ = [
    "NetworkClassifierMixin",
    "NetworkEstimator",
    "NetworkRegressorMixin",
    "TimedTrainer",
    "split_tensors",
]

logger = logging.getLogger(__name__)

PREDICT_BATCH_SIZE = 512
MIN_TRAIN_S = 1e-3  # an allowance used up before training still trains one step
MIN_TRAIN_SHARE = 0.25  # of its allowance a network trains for, however long inputs took
TIME_SHARE = 0.85  # of the allowance the schedule plans to anneal within: the rest absorbs load
# The clock takes over the schedule when, at the pace so far, the planned steps would take this
# many times the time to anneal within: clearly bound by time (a 40-s allowance for 100 epochs
# of 2 s), not a seeded fit with time to spare slowed for a moment by other load.
CLOCK_BINDS = 1.5
PACE_STEPS = 5  # steps after the first that measure the pace: one step's stall is not a pace


class TimedTrainer(Trainer):
    """The core loop, with the wall-clock limit checked after every step, not every epoch, and
    the learning-rate schedule fitted to that limit.

    An epoch cut short averages the batches it ran; the loop then stops with reason ``"time"``.
    With an allowance (``max_time_s``) and ``time_schedule`` (the default), the core warmup +
    cosine schedule runs on ``max(step / scheduled steps, elapsed / (TIME_SHARE * allowance))``:
    when the clock is the tighter limit the warmup and the decay to the floor still happen
    before time runs out, instead of the network being stopped a few epochs into a schedule
    planned for ``max_epochs`` (electricity at 120 s: four tabular networks stopped inside
    their warmup, two of them at chance). The clock takes over only when, at the pace measured
    after the first step, the steps planned would take ``CLOCK_BINDS`` times that time: a fit
    with time to spare (or none given) follows the core schedule step for step, so a seeded fit
    is reproducible.
    """

    _deadline = math.inf  # perf_counter() seconds; set by fit

    def __init__(
        self, module: nn.Module, loss_fn: Any, config: TrainConfig, time_schedule: bool = True
    ) -> None:
        super().__init__(module, loss_fn, config)
        self.time_schedule = time_schedule and config.max_time_s is not None

    def fit(self, train: tuple[Tensor, ...], val: tuple[Tensor, ...] | None = None) -> TrainResult:
        limit = self.config.max_time_s
        self._deadline = time.perf_counter() + limit if limit is not None else math.inf
        return super().fit(train, val)

    def should_stop(self) -> bool:
        """The time is up (asked between steps, so a long epoch is cut short)."""
        return time.perf_counter() >= self._deadline

    def _stop_reason(
        self, epoch: int, train_loss: float, val_loss: float | None, elapsed: float, best: Any
    ) -> Any:
        reason = super()._stop_reason(epoch, train_loss, val_loss, elapsed, best)
        return reason or ("time" if self.should_stop() else None)

    def configure_optimizers(
        self, total_steps: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        optimizer, scheduler = super().configure_optimizers(total_steps)
        if not self.time_schedule:
            return optimizer, scheduler
        cfg, start = self.config, time.perf_counter()
        budget = TIME_SHARE * max(self._deadline - start, 1e-3)  # seconds to anneal within
        floor, warmup = cfg.min_lr_fraction, cfg.warmup_fraction
        by_step = _warmup_cosine(round(warmup * total_steps), total_steps, floor)
        first: list[float] = []  # when the first step ended: its set-up cost is not a pace

        def multiplier(step: int) -> float:
            now = time.perf_counter()
            if step == 1:
                first.append(now)
            pace = (now - first[0]) / (step - 1) if step > PACE_STEPS else 0.0
            if pace * total_steps <= CLOCK_BINDS * budget:
                return by_step(step)
            progress = max((step + 1) / max(1, total_steps), (now - start) / budget)
            if progress < warmup:
                return progress / warmup
            progress = min(1.0, (progress - warmup) / (1 - warmup))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)


class NetworkEstimator(BaseEstimator):
    """Shared fit, predict and serialization for networks trained by the core loop.

    Its ``__init__`` stores the training parameters every network has. A subclass lists its own
    parameters and these (with its defaults) in its ``__init__`` signature, as scikit-learn
    requires, stores its own and passes these on: ``super().__init__(lr=lr, ...)``.
    """

    _predict_batch_size = PREDICT_BATCH_SIZE  # rows per forward pass at prediction

    def __init__(
        self,
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.grad_clip = grad_clip
        self.random_state = random_state
        self.device = device
        self.max_time_s = max_time_s

    # --- hooks --------------------------------------------------------------------------------

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        raise NotImplementedError

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        raise NotImplementedError

    def _saved_weights(self, module: nn.Module) -> dict[str, Tensor]:
        """The weights stored in an artifact; a subclass may leave out frozen ones."""
        return module.state_dict()

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        """The loop that trains ``module``; a subclass may return a variant of it."""
        return TimedTrainer(module, self._loss(), config)

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    # --- fit and predict ----------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> NetworkEstimator:
        """Learn input preprocessing, then train with early stopping on a held-out part."""
        y = np.asarray(y)
        if len(y) < 2:
            raise DataError(f"a network needs at least 2 training rows, got {len(y)}.")
        self._check_common_params()
        start = time.perf_counter()
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        targets, n_outputs, stratify = self._encode_target(y)
        with seeded(seed):
            inputs = self._fit_inputs(X)
            self.module_config_ = self._module_config(n_outputs)
            module = self._build_module(self.module_config_)
        train, val = split_tensors((*inputs, targets), self.validation_fraction, stratify, seed)
        train = _cap_rows(train, getattr(self, "max_steps", None), self.batch_size, seed)
        config = self._train_config(seed, len(train[0]), time.perf_counter() - start)
        result = self._trainer(module, config).fit(train, val)
        self.module_ = module
        self.history_ = [_finite_record(r) for r in result.history]
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = str(result.stop_reason)
        self.n_params_ = result.n_params
        self.device_ = result.device
        return self

    def _check_common_params(self) -> None:
        fraction = self.validation_fraction
        if fraction is not None and not 0 <= fraction < 1:
            raise ConfigError(
                f"invalid validation_fraction={fraction!r}; expected a fraction in [0, 1)."
            )

    def _train_config(self, seed: int, n_train: int, spent_s: float = 0.0) -> TrainConfig:
        """The trainer's settings; ``max_steps`` (if the subclass has it) caps the epochs.

        ``spent_s``, the seconds already spent preparing inputs (encoding texts with a frozen
        encoder can take longer than the training), counts against ``max_time_s``, so the fit as
        a whole keeps to its allowance; but training keeps at least ``MIN_TRAIN_SHARE`` of it
        (a network trained for a step or two scores below the baseline, and says nothing).
        """
        max_time_s = self.max_time_s
        if max_time_s is not None:
            max_time_s = max(max_time_s - spent_s, MIN_TRAIN_SHARE * max_time_s, MIN_TRAIN_S)
        max_epochs = self.max_epochs
        max_steps = getattr(self, "max_steps", None)
        if max_steps is not None:
            per_epoch = max(1, math.ceil(n_train / self.batch_size))
            max_epochs = max(1, min(max_epochs, math.ceil(max_steps / per_epoch)))
        return TrainConfig(
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            max_epochs=max_epochs,
            patience=self.patience,
            grad_clip=self.grad_clip,
            seed=seed,
            device=str(resolve_device(self.device)),
            max_time_s=max_time_s,
        )

    def encode(self, X: Any) -> tuple[Tensor, ...]:
        """The module's input tensors for ``X`` (on CPU), exactly as ``predict`` feeds them.

        ``X`` is what this estimator receives (the output of the pipeline's earlier steps). For
        explainers and tools that run the network themselves (integrated gradients, attention).
        """
        check_is_fitted(self, "module_")
        return self._inputs(X)

    def _forward(self, X: Any) -> Tensor:
        """Raw network outputs (float32) for ``X`` on CPU, batch by batch."""
        return predict_module(self.module_, self.encode(X), self._predict_batch_size).float()

    # --- serialization ------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Plain values only: the module becomes numpy weights (its config is already plain)."""
        state = dict(super().__getstate__())  # a copy: never strip the live object
        module = state.pop("module_", None)
        if module is not None:
            weights = self._saved_weights(module)
            state["module_weights_"] = {k: v.detach().cpu().numpy() for k, v in weights.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the module on CPU from its config and weights."""
        state = dict(state)
        weights = state.pop("module_weights_", None)
        state.setdefault("grad_clip", 1.0)  # stored before it was a parameter: what it trained with
        super().__setstate__(state)
        if weights is not None:
            module = self._build_module(dict(self.module_config_))
            self._load_weights(module, weights)
            self.module_ = module.eval()
            self.device_ = "cpu"

    def _load_weights(self, module: nn.Module, weights: dict[str, Any]) -> None:
        """Load stored numpy ``weights`` into ``module``; a ``DataError`` when they do not fit.

        Every weight ``_saved_weights`` names must be there with its shape, and nothing else
        (a frozen weight left out of the artifact comes from the freshly built module).
        """
        expected = module.state_dict()
        missing = sorted(set(self._saved_weights(module)) - set(weights))
        unexpected = sorted(set(weights) - set(expected))
        reshaped = sorted(
            k
            for k in set(weights) & set(expected)
            if tuple(np.shape(weights[k])) != tuple(expected[k].shape)
        )
        if missing or unexpected or reshaped:
            raise DataError(
                f"the stored weights do not fit the {type(self).__name__} network (missing "
                f"{missing[:3]}, unexpected {unexpected[:3]}, other shape {reshaped[:3]}); the "
                "artifact was made by another version of mlvsdl: train the model again."
            )
        tensors = {k: torch.as_tensor(np.array(v)) for k, v in weights.items()}
        module.load_state_dict(tensors, strict=False)


class NetworkClassifierMixin:
    """Any label type, cross-entropy loss; ``classes_``, ``predict_proba`` and ``predict``."""

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise TargetError(
                f"the target has a single class {self.classes_.tolist()}; a classifier needs at "
                "least two, check the target column or the rows selected."
            )
        return torch.from_numpy(indices.astype(np.int64)), len(self.classes_), indices

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        return torch.softmax(self._forward(X).double(), dim=1).numpy()  # type: ignore[attr-defined]

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class NetworkRegressorMixin:
    """A standardized target and MSE loss; ``predict`` in the target's original units."""

    def _encode_target(self, y: np.ndarray) -> tuple[Tensor, int, np.ndarray | None]:
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise TargetError("the regression target has NaN or infinite values; drop those rows.")
        self.y_mean_ = float(y.mean())
        std = float(y.std())
        self.y_scale_ = std if std > 0 else 1.0
        scaled = (y - self.y_mean_) / self.y_scale_
        return torch.from_numpy(scaled.astype(np.float32)).unsqueeze(1), 1, None

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def predict(self, X: Any) -> np.ndarray:
        scaled = self._forward(X)[:, 0].double().numpy()  # type: ignore[attr-defined]
        return scaled * self.y_scale_ + self.y_mean_


def split_tensors(
    tensors: tuple[Tensor, ...], fraction: float | None, stratify: np.ndarray | None, seed: int
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...] | None]:
    """Seeded train/validation split of ``tensors`` (stratified when every class allows it)."""
    n = len(tensors[0])
    n_val = math.ceil((fraction or 0.0) * n)
    if n_val < 1 or n - n_val < 2:
        logger.info("no validation split (%d rows, fraction %s): no early stopping", n, fraction)
        return tensors, None
    if stratify is not None:
        counts = np.bincount(stratify)
        if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
            stratify = None
    train_idx, val_idx = train_test_split(
        np.arange(n), test_size=n_val, random_state=seed, stratify=stratify
    )
    train_rows, val_rows = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
    return tuple(t[train_rows] for t in tensors), tuple(t[val_rows] for t in tensors)


def _finite_record(record: dict[str, Any]) -> dict[str, Any]:
    """History rows with NaN losses (an epoch cut short before its first step) as None."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }


def _cap_rows(
    tensors: tuple[Tensor, ...], max_steps: int | None, batch_size: int, seed: int
) -> tuple[Tensor, ...]:
    """A seeded subsample of ``max_steps * batch_size`` rows when there are more (one epoch)."""
    n = len(tensors[0])
    if max_steps is None or n <= max_steps * batch_size:
        return tensors
    keep = np.sort(np.random.default_rng(seed).choice(n, max_steps * batch_size, replace=False))
    rows = torch.from_numpy(keep)
    logger.info("max_steps=%d: training on %d of %d rows", max_steps, len(keep), n)
    return tuple(t[rows] for t in tensors)
