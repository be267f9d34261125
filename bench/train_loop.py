"""Training-loop overhead: mlvsdl's shared PyTorch loop vs a minimal hand-written loop.

Same 3-layer MLP, same data (60,000 x 784, 10 classes, in memory), same batch size, epochs,
optimizer (AdamW, fused where supported) and thread count. The shared loop also steps its
learning-rate schedule every batch; gradient clipping and validation are switched off on both
sides so that like is compared with like (clipping costs the same on both when on).

Also reports the MLP training step's achieved GFLOP/s against this machine's measured fp32
matmul rate (torch.mm on 2048 x 2048), as a fraction of that ceiling.

    python bench/train_loop.py [--epochs 2] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import device, machine, sync

from mlvsdl.families.dl.trainer import TrainConfig, fit_module

N, D, HIDDEN, CLASSES = 60_000, 784, 256, 10


def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(D, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, CLASSES),
    )


def minimal_loop(
    module: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    dev: torch.device,
) -> float:
    module.to(dev)
    X, y = X.to(dev), y.to(dev)
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    sync(dev)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen).to(dev)
        Xs, ys = X[order], y[order]
        for i in range(0, len(X), batch_size):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(Xs[i : i + batch_size]), ys[i : i + batch_size])
            loss.backward()
            opt.step()
    sync(dev)
    return time.perf_counter() - start


def shared_loop(
    module: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    dev: torch.device,
) -> float:
    config = TrainConfig(
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        patience=None,
        grad_clip=None,
        device=str(dev),
    )
    sync(dev)
    start = time.perf_counter()
    fit_module(module, nn.CrossEntropyLoss(), (X, y), None, config)
    sync(dev)
    return time.perf_counter() - start


def matmul_gflops(dev: torch.device, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=dev)
    b = torch.randn(size, size, device=dev)
    torch.mm(a, b)
    sync(dev)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    sync(dev)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def training_flops_per_sample(module: nn.Module) -> float:
    """Forward 2*in*out per Linear weight; backward twice that: ~6 flops per weight per sample."""
    weights = sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear))
    return 6.0 * weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best kept")
    args = parser.parse_args()
    dev = device()
    print(f"Machine: {machine()}")
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, generator=gen)
    y = torch.randint(0, CLASSES, (N,), generator=gen)
    minimal, shared = [], []
    for _ in range(args.rounds):  # alternate, so drifting load hits both sides alike
        minimal.append(minimal_loop(make_mlp(), X, y, args.epochs, args.batch_size, dev))
        shared.append(shared_loop(make_mlp(), X, y, args.epochs, args.batch_size, dev))
    samples = N * args.epochs
    t_min, t_shared = min(minimal), min(shared)
    print(
        f"MLP {D}-{HIDDEN}-{HIDDEN}-{CLASSES}, {N:,} rows, batch {args.batch_size}, "
        f"{args.epochs} epochs, device {dev}"
    )
    print(
        f"  minimal hand-written loop : {t_min / args.epochs:.3f} s/epoch, "
        f"{samples / t_min:,.0f} samples/s"
    )
    print(
        f"  mlvsdl shared loop        : {t_shared / args.epochs:.3f} s/epoch, "
        f"{samples / t_shared:,.0f} samples/s"
    )
    ratio = t_min / t_shared
    print(
        f"  throughput ratio shared/minimal: {ratio:.3f} (target >= 0.95: "
        f"{'met' if ratio >= 0.95 else 'NOT met'})"
    )
    peak = matmul_gflops(dev)
    achieved = training_flops_per_sample(make_mlp()) * samples / t_shared / 1e9
    print(f"  fp32 matmul ceiling (torch.mm 2048x2048): {peak:,.1f} GFLOP/s")
    print(f"  MLP training step achieved: {achieved:,.1f} GFLOP/s = {achieved / peak:.0%} of it")


if __name__ == "__main__":
    main()
