"""Networks for tables and their scikit-learn estimators.

Input is the float matrix :func:`mlvsdl.features.tabular.network_encoder` outputs: standardized
numeric columns first, then the last ``n_categorical`` columns holding integer category codes
(-1: missing or unseen). Each categorical column gets an embedding; index 0 is reserved for
unknown codes (index = code + 1).

Two architectures, both small ``nn.Module``s driven by :class:`TabularNetConfig`:

* ``mlp``: ``[Linear -> Norm -> ReLU -> Dropout] x n_layers -> Linear``;
* ``resmlp``: the tabular ResNet of Gorishniy et al. (2021), "Revisiting Deep Learning Models for
  Tabular Data": ``Linear -> [x + Dropout(Linear(Dropout(ReLU(Linear(Norm(x))))))] x n_layers ->
  Norm -> ReLU -> Linear``.

:class:`TabularNetClassifier` and :class:`TabularNetRegressor` wrap them for scikit-learn as
:class:`~mlvsdl.families.dl.network.NetworkEstimator` subclasses, like every other network: the
same fit (``TimedTrainer``: the wall-clock limit checked after every step, input preparation
counted against ``max_time_s``), the same training parameters (``grad_clip`` included) and the
same stored state (module config as a dict, weights as numpy arrays), so ``skops.io`` can store
them without trusting any torch type.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import validate_data
from torch import Tensor, nn

from mlvsdl.errors import ConfigError, DataError
from mlvsdl.families.dl.network import (
    NetworkClassifierMixin,
    NetworkEstimator,
    NetworkRegressorMixin,
)

__all__ = [
    "MLP",
    "CategoricalEmbedding",
    "ResMLP",
    "ResidualBlock",
    "TabularNetBase",
    "TabularNetClassifier",
    "TabularNetConfig",
    "TabularNetRegressor",
    "build_tabular_net",
    "embedding_dim",
]

logger = logging.getLogger(__name__)

ARCHS = ("mlp", "resmlp")
NORMS = ("batch", "layer")
PREDICT_BATCH_SIZE = 8192


@dataclass(frozen=True)
class TabularNetConfig:
    """Shape of a tabular network; everything needed to rebuild it before loading weights."""

    n_numeric: int
    cardinalities: tuple[int, ...]  # embedding rows per categorical column, index 0 = unknown
    n_outputs: int
    arch: str = "mlp"  # "mlp" | "resmlp"
    hidden_dim: int = 256
    n_layers: int = 3
    dropout: float = 0.1
    norm: str = "batch"  # "batch" | "layer"
    hidden_factor: float = 2.0  # resmlp: inner width of a block = hidden_factor * hidden_dim


def embedding_dim(cardinality: int, max_dim: int = 32) -> int:
    """Width of a categorical embedding (the fastai rule of thumb, capped at ``max_dim``)."""
    return int(min(max_dim, max(2, round(1.6 * cardinality**0.56))))


def _norm(kind: str, dim: int) -> nn.Module:
    return nn.BatchNorm1d(dim) if kind == "batch" else nn.LayerNorm(dim)


class CategoricalEmbedding(nn.Module):
    """Standardized numerics concatenated with one embedding per categorical column."""

    def __init__(self, n_numeric: int, cardinalities: tuple[int, ...]) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_dim(c)) for c in cardinalities)
        self.out_dim = n_numeric + sum(e.embedding_dim for e in self.embeddings)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        # x_num: (B, n_numeric) float, x_cat: (B, n_categorical) long -> (B, out_dim)
        parts = [x_num, *(emb(x_cat[:, i]) for i, emb in enumerate(self.embeddings))]
        return torch.cat(parts, dim=1)


class MLP(nn.Module):
    """``[Linear -> Norm -> ReLU -> Dropout] x n_layers -> Linear``."""

    def __init__(self, config: TabularNetConfig) -> None:
        super().__init__()
        self.config = config
        self.inputs = CategoricalEmbedding(config.n_numeric, config.cardinalities)
        layers: list[nn.Module] = []
        width = self.inputs.out_dim
        for _ in range(config.n_layers):
            layers += [nn.Linear(width, config.hidden_dim), _norm(config.norm, config.hidden_dim)]
            layers += [nn.ReLU(), nn.Dropout(config.dropout)]
            width = config.hidden_dim
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, config.n_outputs)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        x = self.inputs(x_num, x_cat)  # (B, in_dim)
        x = self.body(x)  # (B, hidden_dim)
        return self.head(x)  # (B, n_outputs)


class ResidualBlock(nn.Module):
    """``x + Dropout(Linear(Dropout(ReLU(Linear(Norm(x))))))``, as in Gorishniy et al. 2021."""

    def __init__(self, dim: int, inner_dim: int, dropout: float, norm: str) -> None:
        super().__init__()
        self.norm = _norm(norm, dim)
        self.up = nn.Linear(dim, inner_dim)
        self.down = nn.Linear(inner_dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, dim)
        h = self.dropout(torch.relu(self.up(self.norm(x))))  # (B, inner_dim)
        return x + self.dropout(self.down(h))  # (B, dim)


class ResMLP(nn.Module):
    """``Linear -> ResidualBlock x n_layers -> Norm -> ReLU -> Linear``."""

    def __init__(self, config: TabularNetConfig) -> None:
        super().__init__()
        self.config = config
        self.inputs = CategoricalEmbedding(config.n_numeric, config.cardinalities)
        dim = config.hidden_dim
        inner = max(1, round(config.hidden_factor * dim))
        self.stem = nn.Linear(self.inputs.out_dim, dim)
        self.blocks = nn.Sequential(
            *(
                ResidualBlock(dim, inner, config.dropout, config.norm)
                for _ in range(config.n_layers)
            )
        )
        self.head = nn.Sequential(
            _norm(config.norm, dim), nn.ReLU(), nn.Linear(dim, config.n_outputs)
        )

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        x = self.stem(self.inputs(x_num, x_cat))  # (B, hidden_dim)
        x = self.blocks(x)  # (B, hidden_dim)
        return self.head(x)  # (B, n_outputs)


def build_tabular_net(config: TabularNetConfig) -> nn.Module:
    """The network ``config.arch`` names, freshly initialized (seed torch before calling)."""
    if config.arch not in ARCHS or config.norm not in NORMS:
        raise ConfigError(
            f"unknown arch {config.arch!r} or norm {config.norm!r}; expected arch in {ARCHS} "
            f"and norm in {NORMS}."
        )
    return MLP(config) if config.arch == "mlp" else ResMLP(config)


class TabularNetBase(NetworkEstimator):
    """Input handling every table network shares: numerics, then ``n_categorical`` code columns.

    Fit learns the embedding sizes from the code columns (``cardinalities_``: max code + 2,
    index 0 for unknown) and hands the module two tensors, numerics (float32) and embedding
    indices (int64). A subclass adds its parameters (``__init__``, ``_param_checks``), its
    module config and its module. Fit, prediction, the step-level clock and storage are
    :class:`NetworkEstimator`'s.
    """

    _predict_batch_size = PREDICT_BATCH_SIZE
    n_categorical: int

    def fit(self, X: Any, y: Any) -> TabularNetBase:
        """Learn embedding sizes from ``X``, then train with early stopping on a held-out part."""
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), y_numeric=False)
        self._check_params(X)
        super().fit(X, y)
        return self

    def _param_checks(self) -> dict[str, tuple[bool, str]]:
        """The subclass's parameter checks: name -> (valid, what is expected)."""
        return {}

    def _check_params(self, X: np.ndarray) -> None:
        """Validate the network's parameters against ``X`` (the trainer checks its own)."""
        checks = {
            **self._param_checks(),
            "n_categorical": (
                isinstance(self.n_categorical, Integral) and 0 <= self.n_categorical <= X.shape[1],
                f"n_categorical between 0 and the number of columns ({X.shape[1]})",
            ),
        }
        bad = [name for name, (ok, _) in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            expected = "; ".join(checks[name][1] for name in bad)
            raise ConfigError(f"invalid parameter(s) {values}; expected {expected}.")

    @property
    def n_numeric_(self) -> int:
        """Numeric columns the network receives (the columns before the codes)."""
        return int(self.n_features_in_) - int(self.n_categorical)

    # --- NetworkEstimator hooks ---------------------------------------------------------------

    def _fit_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        self.cardinalities_ = _cardinalities(X[:, X.shape[1] - int(self.n_categorical) :])
        return self._to_tensors(X)

    def _inputs(self, X: Any) -> tuple[Tensor, ...]:
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self._to_tensors(X)

    def _to_tensors(self, X: np.ndarray) -> tuple[Tensor, Tensor]:
        """Split ``X`` into numerics (float32) and embedding indices (0 = unknown)."""
        n_num = X.shape[1] - int(self.n_categorical)
        x_num = torch.from_numpy(np.ascontiguousarray(X[:, :n_num], dtype=np.float32))
        codes = np.rint(X[:, n_num:]).astype(np.int64) + 1
        sizes = np.asarray(self.cardinalities_, dtype=np.int64)
        codes[(codes < 0) | (codes >= sizes)] = 0
        return x_num, torch.from_numpy(codes)


class _TabularNet(TabularNetBase):
    """The MLP and the residual MLP: ``arch``, width, depth and dropout."""

    def __init__(
        self,
        *,
        arch: str = "mlp",
        hidden_dim: int = 256,
        n_layers: int = 3,
        dropout: float = 0.1,
        n_categorical: int = 0,
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
        self.arch = arch
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.dropout = dropout
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
        return {
            "arch": (self.arch in ARCHS, f"arch in {ARCHS}"),
            "hidden_dim": (
                isinstance(self.hidden_dim, Integral) and self.hidden_dim >= 1,
                "hidden_dim >= 1",
            ),
            "n_layers": (
                isinstance(self.n_layers, Integral) and self.n_layers >= 1,
                "n_layers >= 1",
            ),
            "dropout": (0 <= self.dropout < 1, "dropout in [0, 1)"),
        }

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        config = TabularNetConfig(
            n_numeric=self.n_numeric_,
            cardinalities=self.cardinalities_,
            n_outputs=n_outputs,
            arch=self.arch,
            hidden_dim=int(self.hidden_dim),
            n_layers=int(self.n_layers),
            dropout=self.dropout,
        )
        return asdict(config)

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        # a stored config may hold the cardinalities as a list
        config = {**config, "cardinalities": tuple(config["cardinalities"])}
        return build_tabular_net(TabularNetConfig(**config))


class TabularNetClassifier(NetworkClassifierMixin, ClassifierMixin, _TabularNet):
    """Network classifier on encoded tables; any label type, cross-entropy loss.

    Learned attributes: ``classes_``, ``module_``, ``history_``, ``best_epoch_``,
    ``stop_reason_``, ``n_params_``, ``n_features_in_``, ``device_``, ``cardinalities_``,
    ``module_config_``.
    """


class TabularNetRegressor(NetworkRegressorMixin, RegressorMixin, _TabularNet):
    """Network regressor on encoded tables; the target is standardized internally, MSE loss.

    Learned attributes: ``y_mean_``, ``y_scale_``, ``module_``, ``history_``, ``best_epoch_``,
    ``stop_reason_``, ``n_params_``, ``n_features_in_``, ``device_``, ``cardinalities_``,
    ``module_config_``.
    """


def _cardinalities(codes: np.ndarray) -> tuple[int, ...]:
    """Embedding rows per code column: max code + 2 (index 0 is reserved for unknown)."""
    if not np.array_equal(codes, np.rint(codes)) or (codes.size and codes.min() < -1):
        raise DataError(
            "the last n_categorical columns must hold integer category codes >= -1 (as "
            "network_encoder outputs); check n_categorical and the column order."
        )
    return tuple(int(np.max(column, initial=-1)) + 2 for column in codes.T)
