"""TabM (Gorishniy et al. 2024, "TabM: Advancing Tabular Deep Learning with Parameter-Efficient
Ensembling") on the one loop.

The module is the ``tabm`` package's :class:`tabm.TabM` (pure PyTorch): ``k`` MLPs in one,
sharing their weights except for BatchEnsemble adapters, with piecewise-linear embeddings of the
numeric columns (:class:`rtdl_num_embeddings.PiecewiseLinearEmbeddings`, version "B", bins from
the training rows' quantiles) and categorical columns one-hot encoded — the paper's ``TabM``
with embeddings. As the paper trains it:

* in training, every head's prediction is scored against the target and the losses averaged
  (:class:`PerHeadLoss`): the ``k`` heads learn as an ensemble, not as one averaged model;
* for validation (early stopping) and prediction, the heads are averaged: the mean of their
  class probabilities (the module returns its log, so the shared softmax in
  :class:`~mlvsdl.families.dl.network.NetworkClassifierMixin` gives the mean back exactly), or
  the mean of their regression outputs.

The module switches between the two with ``train()``/``eval()``, so everything downstream of
``NetworkEstimator`` (prediction, ``encode`` for explainers, storage) sees one ordinary output.
Defaults are the package's recommended ones (AdamW at lr 2e-3, weight decay 3e-4, ``n_blocks=2``
with embeddings, 48 bins of width-16 embeddings) except the size, chosen for two CPU cores: 16
heads of width 128 instead of 32 of width 512. At the package's size an epoch on 20,000 rows took
over a minute on this project's shared 2-core machine, so a network given two minutes trained two
to five epochs (``bench/RESULTS.md``); ``k=16, d_block=128`` is about a quarter of the work of
``k=32, d_block=256`` per epoch. With a GPU, ``model__k=32, model__d_block=512`` is the paper's.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np
import torch
from rtdl_num_embeddings import PiecewiseLinearEmbeddings, compute_bins
from sklearn.base import ClassifierMixin, RegressorMixin
from tabm import TabM
from torch import Tensor, nn

from mlvsdl.families.dl.network import (
    NetworkClassifierMixin,
    NetworkRegressorMixin,
    TimedTrainer,
)
from mlvsdl.families.dl.tabular import TabularNetBase
from mlvsdl.families.dl.trainer import TrainConfig

__all__ = [
    "PerHeadLoss",
    "TabMClassifier",
    "TabMConfig",
    "TabMNet",
    "TabMRegressor",
    "quantile_bins",
]


@dataclass(frozen=True)
class TabMConfig:
    n_numeric: int
    cardinalities: tuple[int, ...]
    n_outputs: int
    regression: bool
    bins: tuple[tuple[float, ...], ...]  # bin edges per numeric column; () = no embeddings
    k: int = 16
    n_blocks: int = 2
    d_block: int = 128
    dropout: float = 0.1
    d_embedding: int = 16


class TabMNet(nn.Module):
    """``tabm.TabM``: (B, k, n_outputs) in training, the heads' mean (B, n_outputs) in eval."""

    def __init__(self, config: TabMConfig) -> None:
        super().__init__()
        self.config = config
        num_embeddings = None
        if config.n_numeric and config.bins:
            edges = [torch.tensor(b, dtype=torch.float32) for b in config.bins]
            with _one_bin_expected():
                num_embeddings = PiecewiseLinearEmbeddings(
                    edges, config.d_embedding, activation=False, version="B"
                )
        self.model = TabM.make(
            n_num_features=config.n_numeric,
            cat_cardinalities=list(config.cardinalities),
            d_out=config.n_outputs,
            num_embeddings=num_embeddings,
            k=config.k,
            n_blocks=config.n_blocks,
            d_block=config.d_block,
            dropout=config.dropout,
        )

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        out = self.model(
            x_num if self.config.n_numeric else None,
            x_cat if self.config.cardinalities else None,
        )  # (B, k, n_outputs)
        if self.training:
            return out
        if self.config.regression:
            return out.mean(dim=1)  # (B, 1)
        # log of the mean probability: softmax of it is the mean of the heads' probabilities
        return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - np.log(out.shape[1])


class PerHeadLoss(nn.Module):
    """The base loss over every head's prediction (B, k, C) against the row's target."""

    def __init__(self, base: nn.Module) -> None:
        super().__init__()
        self.base = base

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.dim() != 3:  # eval mode: the heads are already averaged
            return self.base(pred, target)
        k = pred.shape[1]
        return self.base(pred.flatten(0, 1), target.repeat_interleave(k, dim=0))


def quantile_bins(x_num: Tensor, n_bins: int) -> tuple[tuple[float, ...], ...]:
    """Quantile bin edges per column (``compute_bins``); a constant column gets one bin."""
    n_bins = min(n_bins, len(x_num) - 1)
    varying = [j for j in range(x_num.shape[1]) if bool((x_num[:, j] != x_num[0, j]).any())]
    edges: dict[int, tuple[float, ...]] = {}
    if varying and n_bins >= 2:
        with _one_bin_expected():
            computed = compute_bins(x_num[:, varying], n_bins)
        for j, col in zip(varying, computed, strict=True):
            edges[j] = tuple(float(v) for v in col)
    for j in range(x_num.shape[1]):
        if j not in edges:
            low, high = float(x_num[:, j].min()), float(x_num[:, j].max())
            edges[j] = (low, high if high > low else low + 1.0)
    return tuple(edges[j] for j in range(x_num.shape[1]))


@contextlib.contextmanager
def _one_bin_expected() -> Iterator[None]:
    """Silence rtdl's warning for a two-valued column (a missing flag): one bin is right."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*just two bin edges.*")
        yield


class _TabM(TabularNetBase):
    """TabM on encoded tables: ``k`` heads trained together, averaged to predict."""

    def __init__(
        self,
        *,
        k: int = 16,
        n_blocks: int = 2,
        d_block: int = 128,
        dropout: float = 0.1,
        d_embedding: int = 16,
        n_bins: int = 48,
        n_categorical: int = 0,
        lr: float = 2e-3,
        weight_decay: float = 3e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 16,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.k = k
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.dropout = dropout
        self.d_embedding = d_embedding
        self.n_bins = n_bins
        self.n_categorical = n_categorical
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

    def _param_checks(self) -> dict[str, tuple[bool, str]]:
        checks = {
            name: (
                isinstance(getattr(self, name), Integral) and getattr(self, name) >= low,
                f"{name} >= {low}",
            )
            for name, low in (("k", 1), ("n_blocks", 1), ("d_block", 1), ("d_embedding", 1))
        }
        checks["n_bins"] = (
            isinstance(self.n_bins, Integral) and self.n_bins >= 0,
            "n_bins >= 0 (0: numerics without embeddings)",
        )
        checks["dropout"] = (0 <= self.dropout < 1, "dropout in [0, 1)")
        return checks

    def _fit_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        x_num, x_cat = super()._fit_inputs(X)
        self.bins_ = quantile_bins(x_num, int(self.n_bins)) if self.n_bins and len(x_num) else ()
        return x_num, x_cat

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return asdict(
            TabMConfig(
                n_numeric=self.n_numeric_,
                cardinalities=self.cardinalities_,
                n_outputs=n_outputs,
                regression=isinstance(self, RegressorMixin),
                bins=self.bins_,
                k=int(self.k),
                n_blocks=int(self.n_blocks),
                d_block=int(self.d_block),
                dropout=float(self.dropout),
                d_embedding=int(self.d_embedding),
            )
        )

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        config = {
            **config,
            "cardinalities": tuple(config["cardinalities"]),
            "bins": tuple(tuple(b) for b in config["bins"]),
        }
        return TabMNet(TabMConfig(**config))

    def _trainer(self, module: nn.Module, config: TrainConfig) -> TimedTrainer:
        return TimedTrainer(module, PerHeadLoss(self._loss()), config)


class TabMClassifier(NetworkClassifierMixin, ClassifierMixin, _TabM):
    """TabM classifier: per-head cross-entropy in training, mean probability to predict."""


class TabMRegressor(NetworkRegressorMixin, RegressorMixin, _TabM):
    """TabM regressor: per-head MSE on the standardized target, mean output to predict."""
