"""Global networks over windows of every series, trained by the one loop (``Trainer``).

Every network reads a window of the series' last ``context`` values divided by the window's
level (``windows.py``; points before a series' start are the first value, with a mask of observed
points as a second channel) and answers the next H values in the same units (direct
multi-horizon: one output per step), as the change from the window's last value (a network
stopped early starts from the naive forecast). Training windows are every origin of every series
whose H targets lie before its last H points; the last window of each series is the validation
set for early stopping (L1 loss, so the fit favours a low MASE), and its errors, each divided by
the series' MASE scale, give the conformal intervals. The best epoch's weights are kept (no refit).

The modules:

* ``lstm`` — an LSTM encoder (2 layers) whose last hidden state feeds a linear multi-horizon head;
* ``tcn`` — a temporal convolutional network: residual blocks of dilated causal convolutions
  (dilations 1, 2, 4, 8; Bai et al. 2018), the last time step into a linear head;
* ``nbeats`` — N-BEATS, generic form (Oreshkin et al. 2020): a stack of fully connected blocks,
  each emitting a backcast subtracted from its input and a forecast added to the output;
* ``patchtst`` — a small patch transformer (Nie et al. 2023): the window cut into overlapping
  patches, each embedded linearly with a learned position, a transformer encoder, and a linear
  head over the flattened patch embeddings.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import Tensor, nn

from mlvsdl.errors import ConfigError
from mlvsdl.families.dl.network import NetworkEstimator
from mlvsdl.families.dl.trainer import predict_module, seeded
from mlvsdl.families.forecast.base import (
    BaseForecaster,
    Series,
    conformal_paths,
    conformal_quantiles,
)
from mlvsdl.families.forecast.windows import context_length, level_of, train_origins, window_at

__all__ = ["NETS", "NetForecaster"]

NETS = ("lstm", "tcn", "nbeats", "patchtst")
MAX_WINDOWS = 100_000  # training windows at most (a seeded sample of them)


class _LSTM(nn.Module):
    def __init__(self, context: int, horizon: int, width: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(2, width, num_layers=2, batch_first=True, dropout=0.1)
        self.head = nn.Linear(width, horizon)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, 2)
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class _TCNBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.pad = 2 * dilation
        self.conv1 = nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        y = self.act(self.conv1(nn.functional.pad(x, (self.pad, 0))))
        y = self.act(self.conv2(nn.functional.pad(y, (self.pad, 0))))
        return self.act(x + y)


class _TCN(nn.Module):
    def __init__(self, context: int, horizon: int, width: int) -> None:
        super().__init__()
        self.inp = nn.Conv1d(2, width, 1)
        self.blocks = nn.Sequential(*[_TCNBlock(width, d) for d in (1, 2, 4, 8)])
        self.head = nn.Linear(width, horizon)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.inp(x.transpose(1, 2)))
        return self.head(h[:, :, -1])


class _NBeatsBlock(nn.Module):
    def __init__(self, context: int, horizon: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = 2 * context
        for _ in range(4):
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        self.fc = nn.Sequential(*layers)
        self.backcast = nn.Linear(width, context)
        self.forecast = nn.Linear(width, horizon)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        h = self.fc(torch.cat([x, mask], dim=1))
        return self.backcast(h), self.forecast(h)


class _NBeats(nn.Module):
    def __init__(self, context: int, horizon: int, width: int, n_blocks: int = 4) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_NBeatsBlock(context, horizon, width) for _ in range(n_blocks))

    def forward(self, x: Tensor) -> Tensor:
        residual, mask = x[:, :, 0], x[:, :, 1]
        out = 0.0
        for block in self.blocks:
            back, fore = block(residual, mask)
            residual = residual - back * mask
            out = out + fore
        return out  # type: ignore[return-value]


class _PatchTST(nn.Module):
    def __init__(self, context: int, horizon: int, width: int) -> None:
        super().__init__()
        self.patch = max(2, min(16, context // 4))
        self.stride = max(1, self.patch // 2)
        n_patches = (context - self.patch) // self.stride + 1
        self.embed = nn.Linear(2 * self.patch, width)
        self.position = nn.Parameter(torch.zeros(1, n_patches, width))
        layer = nn.TransformerEncoderLayer(
            width, 4, 2 * width, dropout=0.1, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(n_patches * width, horizon)

    def forward(self, x: Tensor) -> Tensor:
        patches = x.unfold(1, self.patch, self.stride)  # (B, P, 2, patch)
        tokens = self.embed(patches.flatten(2)) + self.position
        return self.head(self.encoder(tokens).flatten(1))


_MODULES = {"lstm": _LSTM, "tcn": _TCN, "nbeats": _NBeats, "patchtst": _PatchTST}


class _FromLastValue(nn.Module):
    """The network's output added to the window's last (scaled) value: it learns the change from
    the naive forecast, so a network stopped early by its clock starts from the naive answer,
    not from zero."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(x) + x[:, -1:, 0]


def _inputs(window: np.ndarray) -> tuple[np.ndarray, float]:
    """(context, 2): the window over its level (the first value before the series starts) and
    the mask of observed points; and the level."""
    level = level_of(window)
    observed = np.isfinite(window)
    first = window[observed][0] if observed.any() else 0.0
    values = np.where(observed, window, first) / level
    return np.stack([values, observed.astype(np.float64)], axis=1), level


class NetForecaster(BaseForecaster, NetworkEstimator):
    """A global network (``net``: lstm, tcn, nbeats or patchtst) over windows; see the module."""

    def __init__(
        self,
        *,
        net: str = "nbeats",
        width: int = 64,
        time: str = "time",
        series: str | None = None,
        horizon: int = 1,
        season: int = 1,
        freq: str = "step",
        known: tuple[str, ...] = (),
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        validation_fraction: float | None = None,
        grad_clip: float | None = 1.0,
        random_state: int | None = None,
        device: str = "auto",
        max_time_s: float | None = None,
    ) -> None:
        self.net = net
        self.width = width
        self.time = time
        self.series = series
        self.horizon = horizon
        self.season = season
        self.freq = freq
        self.known = known
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

    def _build_module(self, config: dict[str, Any]) -> nn.Module:
        inner = _MODULES[config["net"]](config["context"], config["horizon"], config["width"])
        return _FromLastValue(inner)

    def _loss(self) -> nn.Module:
        return nn.L1Loss()

    def _windows(
        self, histories: list[Series], exclude_last: int, full: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        H, C = int(self.horizon), self.context_
        X, y = [], []
        for h in histories:
            for t in train_origins(len(h.values), H, full, exclude_last):
                x, level = _inputs(window_at(h.values, int(t), C))
                X.append(x)
                y.append(h.values[t + 1 : t + 1 + H] / level)
        if not X:
            return np.zeros((0, C, 2)), np.zeros((0, H))
        return np.stack(X), np.stack(y)

    def _fit_series(self, histories: list[Series]) -> None:
        if self.net not in _MODULES:
            raise ConfigError(f"unknown network {self.net!r}; use one of {', '.join(NETS)}.")
        start = time.perf_counter()
        H = int(self.horizon)
        self.context_ = context_length(H, int(self.season))
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        X, y = self._windows(histories, H, True)
        val_rows = [i for i, h in enumerate(histories) if len(h.values) - 1 - H >= 1]
        Xv, levels = [], []
        for i in val_rows:
            h = histories[i]
            x, level = _inputs(window_at(h.values, len(h.values) - 1 - H, self.context_))
            Xv.append(x)
            levels.append(level)
        truth = np.stack([histories[i].values[-H:] for i in val_rows]) if val_rows else None
        if len(X) == 0:  # series too short for a training window: train on the validation ones
            X = np.stack(Xv)
            y = truth / np.array(levels)[:, None]
        if len(X) > MAX_WINDOWS:
            keep = np.random.default_rng(seed).choice(len(X), MAX_WINDOWS, replace=False)
            X, y = X[np.sort(keep)], y[np.sort(keep)]
        self.module_config_ = {
            "net": self.net,
            "context": self.context_,
            "horizon": H,
            "width": int(self.width),
        }
        with seeded(seed):
            module = self._build_module(self.module_config_)
        train = (torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))
        val = None
        if val_rows:
            yv = truth / np.array(levels)[:, None]
            val = (
                torch.from_numpy(np.stack(Xv).astype(np.float32)),
                torch.from_numpy(yv.astype(np.float32)),
            )
        config = self._train_config(seed, len(X), time.perf_counter() - start)
        result = self._trainer(module, config).fit(train, val)
        self.module_ = module.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = str(result.stop_reason)
        self.n_params_ = result.n_params
        self.device_ = result.device
        self.n_windows_ = len(X)
        if val_rows:
            pred = self._run(np.stack(Xv)) * np.array(levels)[:, None]
            errors = (truth - pred) / self.scale_[val_rows][:, None]
        else:
            errors = np.ones((1, H))
        self.quantiles_ = conformal_quantiles(errors, H)

    def _run(self, X: np.ndarray) -> np.ndarray:
        out = predict_module(self.module_, (torch.from_numpy(X.astype(np.float32)),), 1024)
        return out.double().cpu().numpy()

    def _refresh(self, histories: list[Series]) -> None:
        """A new history is read with the trained weights (no retraining)."""

    def _paths(self, histories: list[Series], horizon: int) -> dict[str, np.ndarray]:
        if horizon > int(self.horizon):
            raise ConfigError(
                f"the {self.net} network was trained for {self.horizon} steps; ask for at most "
                f"{self.horizon}, or run compare with a longer --horizon."
            )
        inputs = [_inputs(window_at(h.values, len(h.values) - 1, self.context_)) for h in histories]
        X = np.stack([x for x, _ in inputs])
        levels = np.array([level for _, level in inputs])
        mean = self._run(X)[:, :horizon] * levels[:, None]
        return conformal_paths(mean, self.scale_, self.quantiles_)
