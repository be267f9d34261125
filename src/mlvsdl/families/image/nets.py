"""Convolutional networks on ``(B, C, H, W)`` arrays: images, and log-mel spectrograms of audio.

* ``cnn``: stages of ``[Conv3x3 -> BatchNorm -> ReLU] x 2 -> MaxPool2``, widths doubling,
  then a fully connected head (``AdaptiveAvgPool(4x4) -> Linear -> ReLU -> Dropout -> Linear``);
* ``resnet``: a small residual network (He et al. 2016): a 3x3 stem, one basic block per stage
  (stride 2 and a 1x1 projection from the second stage on), global average pooling, a linear
  head.

Both start with :class:`RandomShift`, the light augmentation: during training each example is
moved by up to ``shift_h`` / ``shift_w`` pixels (zero fill); at evaluation it does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mlvsdl.errors import ConfigError

__all__ = ["ARCHS", "ConvNetConfig", "RandomShift", "build_conv_net"]

ARCHS = ("cnn", "resnet")


@dataclass(frozen=True)
class ConvNetConfig:
    """Shape of a convolutional network; everything needed to rebuild it."""

    arch: str
    in_channels: int
    n_outputs: int
    width: int = 32  # channels of the first stage; doubled at each next stage
    n_stages: int = 2
    dropout: float = 0.25
    shift_h: int = 2  # augmentation: largest vertical shift in pixels (0: none)
    shift_w: int = 2


class RandomShift(nn.Module):
    """Move each training example by a random whole number of pixels, filling with zeros."""

    def __init__(self, shift_h: int, shift_w: int) -> None:
        super().__init__()
        self.shift_h, self.shift_w = shift_h, shift_w

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or (self.shift_h == 0 and self.shift_w == 0):
            return x
        batch, _, height, width = x.shape
        sh, sw = self.shift_h, self.shift_w
        padded = nn.functional.pad(x, (sw, sw, sh, sh)).permute(0, 2, 3, 1)  # (B, H+, W+, C)
        dy = torch.randint(0, 2 * sh + 1, (batch, 1), device=x.device)
        dx = torch.randint(0, 2 * sw + 1, (batch, 1), device=x.device)
        rows = dy + torch.arange(height, device=x.device)  # (B, H)
        cols = dx + torch.arange(width, device=x.device)  # (B, W)
        index = torch.arange(batch, device=x.device)[:, None, None]
        return padded[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class ConvNet(nn.Module):
    def __init__(self, config: ConvNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [RandomShift(config.shift_h, config.shift_w)]
        c_in = config.in_channels
        for stage in range(config.n_stages):
            c_out = config.width * 2**stage
            layers += [*_conv_bn_relu(c_in, c_out), *_conv_bn_relu(c_out, c_out)]
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * 16, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(128, config.n_outputs),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, c, 4, 4) -> (B, n_outputs)


class BasicBlock(nn.Module):
    """``relu(x' + BN(Conv(relu(BN(Conv(x))))))``, ``x'`` projected when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn_relu(c_in, c_out, stride),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNet(nn.Module):
    def __init__(self, config: ConvNetConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        c_in = config.width
        for stage in range(config.n_stages + 1):
            c_out = config.width * 2**stage
            blocks.append(BasicBlock(c_in, c_out, stride=1 if stage == 0 else 2))
            c_in = c_out
        self.features = nn.Sequential(
            RandomShift(config.shift_h, config.shift_w),
            *_conv_bn_relu(config.in_channels, config.width),
            *blocks,
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(c_in, config.n_outputs))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, c) -> (B, n_outputs)


def build_conv_net(config: ConvNetConfig) -> nn.Module:
    """The network ``config.arch`` names, freshly initialized (seed torch before calling)."""
    if config.arch not in ARCHS:
        raise ConfigError(f"unknown convolutional network {config.arch!r}; expected {ARCHS}.")
    return ConvNet(config) if config.arch == "cnn" else ResNet(config)
