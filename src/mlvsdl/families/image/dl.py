"""Scikit-learn estimators for the convolutional networks, and the image network pipelines.

:class:`ConvNetClassifier` / :class:`ConvNetRegressor` take a float array ``(n, C, H, W)``
(images from :class:`~mlvsdl.features.image.ImageArrays`, or log-mel spectrograms from
:class:`~mlvsdl.features.audio.LogMel`), standardize each channel with statistics learned at
fit, and train a network of :mod:`~mlvsdl.families.image.nets` with the core loop.

With a wall-clock allowance (``max_time_s``) the learning-rate schedule is fitted to it: the
warmup + cosine schedule advances by steps or by elapsed time, whichever is further along, and
reaches its floor at ``TIME_SHARE`` of the time left when training starts (``TimedTrainer``,
which every network shares), so a network stopped
by the clock has annealed instead of being cut off at a high learning rate (the rest trains at
the floor). ``fit_schedule_to_time=False`` keeps the core, step-only schedule. The estimators
plug that trainer into ``NetworkEstimator.fit`` through its ``_trainer`` hook.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from torch import Tensor, nn

from mlvsdl.errors import DataError
from mlvsdl.families.dl.network import (
    NetworkClassifierMixin,
    NetworkEstimator,
    NetworkRegressorMixin,
    TimedTrainer,
)
from mlvsdl.families.dl.trainer import TrainConfig
from mlvsdl.families.image.nets import ConvNetConfig, build_conv_net
from mlvsdl.features.image import image_arrays
from mlvsdl.types import Schema

__all__ = ["ConvNetClassifier", "ConvNetRegressor", "build_image_net_pipeline"]


class _ConvNet(NetworkEstimator):
    """Per-channel standardization and tensors for the convolutional networks."""

    def __init__(
        self,
        *,
        arch: str = "cnn",
        width: int = 32,
        n_stages: int = 2,
        dropout: float = 0.25,
        shift_h: int = 2,
        shift_w: int = 2,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int | None = 5,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
        fit_schedule_to_time: bool = True,
    ) -> None:
        self.arch = arch
        self.width = width
        self.n_stages = n_stages
        self.dropout = dropout
        self.shift_h = shift_h
        self.shift_w = shift_w
        self.fit_schedule_to_time = fit_schedule_to_time
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

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        """The core loop with its schedule fitted to ``max_time_s`` unless told not to."""
        return TimedTrainer(module, self._loss(), config, self.fit_schedule_to_time)

    def _fit_inputs(self, X: Any) -> tuple[Tensor, ...]:
        array = _as_batch(X)
        self.channel_mean_ = array.mean(axis=(0, 2, 3)).astype(np.float32)
        self.channel_std_ = np.maximum(array.std(axis=(0, 2, 3)), 1e-6).astype(np.float32)
        self.input_shape_ = tuple(int(d) for d in array.shape[1:])
        return self._inputs(array)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        array = _as_batch(X)
        if tuple(array.shape[1:]) != self.input_shape_:
            raise DataError(
                f"expected arrays of shape {self.input_shape_} per example, got "
                f"{tuple(array.shape[1:])}; use the run's own pipeline to prepare inputs."
            )
        mean, std = self.channel_mean_[:, None, None], self.channel_std_[:, None, None]
        return (torch.from_numpy(((array - mean) / std).astype(np.float32)),)

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        config = ConvNetConfig(
            arch=self.arch,
            in_channels=self.input_shape_[0],
            n_outputs=n_outputs,
            width=int(self.width),
            n_stages=int(self.n_stages),
            dropout=float(self.dropout),
            shift_h=int(self.shift_h),
            shift_w=int(self.shift_w),
        )
        return asdict(config)

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        return build_conv_net(ConvNetConfig(**config))


def _as_batch(X: Any) -> np.ndarray:
    array = np.asarray(X, dtype=np.float32)
    if array.ndim != 4:
        raise DataError(f"a convolutional network takes (n, C, H, W) arrays, got {array.shape}.")
    return array


class ConvNetClassifier(NetworkClassifierMixin, ClassifierMixin, _ConvNet):
    """Convolutional network classifier; any label type, cross-entropy loss."""


class ConvNetRegressor(NetworkRegressorMixin, RegressorMixin, _ConvNet):
    """Convolutional network regressor; the target is standardized internally, MSE loss."""


def build_image_net_pipeline(schema: Schema, random_state: int, *, arch: str) -> Pipeline:
    """Unfitted ``load -> network`` pipeline for an image schema."""
    model_class = ConvNetClassifier if schema.task.is_classification else ConvNetRegressor
    size = min(schema.media.get("image_size", (28, 28)))
    # Small images (digits, icons) need fewer channels: 16 -> 32 trains 4x faster on a CPU
    # than 32 -> 64 and loses little; larger images get a third stage and more width.
    settings: dict[str, Any] = {
        "n_stages": 3 if size >= 48 else 2,
        "width": 16 if size <= 32 else 32,
    }
    if arch == "resnet":
        settings.update(width=16, lr=3e-3)
    model = model_class(arch=arch, random_state=random_state, **settings)
    return Pipeline([("load", image_arrays(schema)), ("model", model)])
