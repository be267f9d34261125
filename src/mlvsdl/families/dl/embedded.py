"""FT-Transformer and the MLP with periodic numerical embeddings (MLP-PLR), on the one loop.

The modules are Yandex's reference implementations, used as they are:

* ``ft_transformer``: :class:`rtdl_revisiting_models.FTTransformer` (Gorishniy et al. 2021,
  "Revisiting Deep Learning Models for Tabular Data"): a feature tokenizer (one learned vector
  per numeric column, scaled by its value, plus a bias; one embedding table per categorical
  column), a [CLS] token, pre-norm transformer blocks (the first block's attention norm left
  out, ReGLU feed-forward) and a head on the [CLS] token. Its paper's default configuration:
  ``FTTransformer.get_default_kwargs(n_blocks=3)`` (width 192, 8 heads, attention dropout 0.2,
  feed-forward dropout 0.1), AdamW at lr 1e-4 and weight decay 1e-5, no decay on embeddings,
  normalizations and biases (``make_parameter_groups``), patience 16.
* ``mlp_plr``: :class:`rtdl_num_embeddings.PeriodicEmbeddings` (Gorishniy et al. 2022, "On
  Embeddings for Numerical Features in Tabular Deep Learning"): each numeric column becomes
  ``ReLU(Linear([cos(2 pi c x), sin(2 pi c x)]))`` with trained frequencies ``c``, flattened
  beside the categorical embeddings, into :class:`rtdl_revisiting_models.MLP`. The embedding
  parameters take no weight decay (decay would pull the frequencies towards zero).

Both estimators are :class:`~mlvsdl.families.dl.tabular.TabularNetBase` subclasses: the same
inputs (standardized numerics, then ``n_categorical`` code columns with index 0 for unknown),
the same fit on :class:`~mlvsdl.families.dl.network.TimedTrainer`, seeding, wall clock and
stored state (config dict + numpy weights) as the MLP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import torch
from rtdl_num_embeddings import PeriodicEmbeddings
from rtdl_revisiting_models import MLP as RtdlMLP
from rtdl_revisiting_models import FTTransformer
from sklearn.base import ClassifierMixin, RegressorMixin
from torch import Tensor, nn

from mlvsdl.families.dl.network import NetworkClassifierMixin, NetworkRegressorMixin
from mlvsdl.families.dl.tabular import CategoricalEmbedding, TabularNetBase

__all__ = [
    "FTTransformerClassifier",
    "FTTransformerConfig",
    "FTTransformerNet",
    "FTTransformerRegressor",
    "MLPPLRClassifier",
    "MLPPLRConfig",
    "MLPPLRNet",
    "MLPPLRRegressor",
]

FT_BLOCKS = range(1, 7)  # the depths FTTransformer.get_default_kwargs has defaults for


@dataclass(frozen=True)
class FTTransformerConfig:
    n_numeric: int
    cardinalities: tuple[int, ...]
    n_outputs: int
    n_blocks: int = 3


class FTTransformerNet(nn.Module):
    """The reference FT-Transformer at its default size for ``n_blocks``; (x_num, x_cat) in."""

    def __init__(self, config: FTTransformerConfig) -> None:
        super().__init__()
        self.config = config
        kwargs = FTTransformer.get_default_kwargs(config.n_blocks)
        self.model = FTTransformer(
            n_cont_features=config.n_numeric,
            cat_cardinalities=list(config.cardinalities),
            d_out=config.n_outputs,
            **kwargs,
        )

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        # x_num: (B, n_numeric) float, x_cat: (B, n_categorical) long -> (B, n_outputs)
        return self.model(
            x_num if self.config.n_numeric else None,
            x_cat if self.config.cardinalities else None,
        )

    def no_weight_decay(self) -> list[nn.Parameter]:
        """Embeddings, normalizations and biases, as the paper's ``make_parameter_groups``."""
        return [p for group in self.model.make_parameter_groups()[1:] for p in group["params"]]


@dataclass(frozen=True)
class MLPPLRConfig:
    n_numeric: int
    cardinalities: tuple[int, ...]
    n_outputs: int
    n_blocks: int = 3
    d_block: int = 256
    dropout: float = 0.1
    d_embedding: int = 24
    n_frequencies: int = 48
    frequency_init_scale: float = 0.01
    lite: bool = False


class MLPPLRNet(nn.Module):
    """Periodic embeddings of the numerics + categorical embeddings -> the reference MLP."""

    def __init__(self, config: MLPPLRConfig) -> None:
        super().__init__()
        self.config = config
        self.num_embeddings = (
            PeriodicEmbeddings(
                config.n_numeric,
                config.d_embedding,
                n_frequencies=config.n_frequencies,
                frequency_init_scale=config.frequency_init_scale,
                lite=config.lite,
            )
            if config.n_numeric
            else None
        )
        self.cat_embeddings = CategoricalEmbedding(0, config.cardinalities)
        d_in = config.n_numeric * config.d_embedding + self.cat_embeddings.out_dim
        self.mlp = RtdlMLP(
            d_in=d_in,
            d_out=config.n_outputs,
            n_blocks=config.n_blocks,
            d_block=config.d_block,
            dropout=config.dropout,
        )

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        parts = [self.cat_embeddings(x_num[:, :0], x_cat)]  # (B, sum of embedding widths)
        if self.num_embeddings is not None:
            parts.insert(0, self.num_embeddings(x_num).flatten(1))  # (B, n_numeric * d_emb)
        return self.mlp(torch.cat(parts, dim=1))  # (B, n_outputs)

    def no_weight_decay(self) -> list[nn.Parameter]:
        """The numerical embeddings (frequencies and their linear layers)."""
        return [] if self.num_embeddings is None else list(self.num_embeddings.parameters())


class _FTTransformer(TabularNetBase):
    """FT-Transformer on encoded tables; the paper's default configuration."""

    def __init__(
        self,
        *,
        n_blocks: int = 3,
        n_categorical: int = 0,
        lr: float = 1e-4,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 16,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.n_blocks = n_blocks
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
        ok = isinstance(self.n_blocks, Integral) and self.n_blocks in FT_BLOCKS
        return {"n_blocks": (ok, "n_blocks from 1 to 6 (the paper's default configurations)")}

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return asdict(
            FTTransformerConfig(
                n_numeric=self.n_numeric_,
                cardinalities=self.cardinalities_,
                n_outputs=n_outputs,
                n_blocks=int(self.n_blocks),
            )
        )

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        config = {**config, "cardinalities": tuple(config["cardinalities"])}
        return FTTransformerNet(FTTransformerConfig(**config))


class FTTransformerClassifier(NetworkClassifierMixin, ClassifierMixin, _FTTransformer):
    """FT-Transformer classifier on encoded tables; cross-entropy loss."""


class FTTransformerRegressor(NetworkRegressorMixin, RegressorMixin, _FTTransformer):
    """FT-Transformer regressor on encoded tables; standardized target, MSE loss."""


class _MLPPLR(TabularNetBase):
    """MLP with periodic (PLR) embeddings of the numeric columns."""

    def __init__(
        self,
        *,
        n_blocks: int = 3,
        d_block: int = 256,
        dropout: float = 0.1,
        d_embedding: int = 24,
        n_frequencies: int = 48,
        frequency_init_scale: float = 0.01,
        lite: bool = False,
        n_categorical: int = 0,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 16,
        validation_fraction: float | None = 0.1,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.dropout = dropout
        self.d_embedding = d_embedding
        self.n_frequencies = n_frequencies
        self.frequency_init_scale = frequency_init_scale
        self.lite = lite
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
        sizes = ("n_blocks", "d_block", "d_embedding", "n_frequencies")
        checks = {
            name: (
                isinstance(getattr(self, name), Integral) and getattr(self, name) >= 1,
                f"{name} >= 1",
            )
            for name in sizes
        }
        checks["dropout"] = (0 <= self.dropout < 1, "dropout in [0, 1)")
        checks["frequency_init_scale"] = (
            self.frequency_init_scale > 0,
            "frequency_init_scale > 0",
        )
        return checks

    def _module_config(self, n_outputs: int) -> dict[str, Any]:
        return asdict(
            MLPPLRConfig(
                n_numeric=self.n_numeric_,
                cardinalities=self.cardinalities_,
                n_outputs=n_outputs,
                n_blocks=int(self.n_blocks),
                d_block=int(self.d_block),
                dropout=float(self.dropout),
                d_embedding=int(self.d_embedding),
                n_frequencies=int(self.n_frequencies),
                frequency_init_scale=float(self.frequency_init_scale),
                lite=bool(self.lite),
            )
        )

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        config = {**config, "cardinalities": tuple(config["cardinalities"])}
        return MLPPLRNet(MLPPLRConfig(**config))


class MLPPLRClassifier(NetworkClassifierMixin, ClassifierMixin, _MLPPLR):
    """MLP-PLR classifier on encoded tables; cross-entropy loss."""


class MLPPLRRegressor(NetworkRegressorMixin, RegressorMixin, _MLPPLR):
    """MLP-PLR regressor on encoded tables; standardized target, MSE loss."""
