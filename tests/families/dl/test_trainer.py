"""The shared training loop: learning, stopping, schedule, seeding, and autograd steps."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mlvsdl.errors import ConfigError, DataError
from mlvsdl.families.dl.trainer import (
    TrainConfig,
    Trainer,
    count_parameters,
    fit_module,
    predict_module,
    resolve_device,
)

HISTORY_KEYS = {"epoch", "train_loss", "val_loss", "lr", "time_s"}


def _blobs(n: int = 240, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two well separated Gaussian blobs in 4 dimensions."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 4, generator=gen) + 3.0 * (2 * y[:, None] - 1)
    return x, y


def _net(seed: int = 0, hidden: int = 16) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(hidden, 2),
    )


def _accuracy(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((predict_module(module, (x,)).argmax(dim=1) == y).float().mean())


def test_learns_a_separable_problem():
    x, y = _blobs()
    module = _net()
    result = fit_module(
        module, nn.CrossEntropyLoss(), (x, y), None, TrainConfig(max_epochs=15, batch_size=32)
    )
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert _accuracy(module, x, y) >= 0.97
    assert result.stop_reason == "max_epochs"
    assert result.best_epoch == 15 == len(result.history)
    assert (
        result.n_params == count_parameters(module) == sum(p.numel() for p in module.parameters())
    )
    assert result.device == "cpu" or torch.cuda.is_available()


def test_history_has_one_record_per_epoch_and_a_warmup_cosine_lr():
    x, y = _blobs()
    config = TrainConfig(max_epochs=6, batch_size=32, lr=1e-2, warmup_fraction=0.5)
    result = fit_module(
        _net(), nn.CrossEntropyLoss(), (x[:200], y[:200]), (x[200:], y[200:]), config
    )
    assert [row["epoch"] for row in result.history] == list(range(1, 7))
    assert all(set(row) == HISTORY_KEYS for row in result.history)
    assert all(isinstance(row["val_loss"], float) for row in result.history)
    times = [row["time_s"] for row in result.history]
    assert times == sorted(times) and times[0] >= 0
    lrs = [row["lr"] for row in result.history]
    assert lrs[0] < lrs[1] < lrs[2]  # 7 steps per epoch, 21 warmup steps
    assert lrs[-1] < max(lrs) and max(lrs) <= 1e-2 + 1e-12


def test_early_stopping_fires_and_restores_the_best_weights():
    x, y = _blobs()
    # the validation labels are the opposite of the training ones: learning makes val worse
    val = (x[:60], 1 - y[:60])
    config = TrainConfig(max_epochs=50, patience=3, lr=1e-2)
    module = _net()
    result = fit_module(module, nn.CrossEntropyLoss(), (x, y), val, config)
    assert result.stop_reason == "early_stopping"
    assert len(result.history) == result.best_epoch + 3 < 50
    best = result.history[result.best_epoch - 1]["val_loss"]
    assert result.best_val_loss == pytest.approx(best)
    assert min(row["val_loss"] for row in result.history) == pytest.approx(best)
    restored = nn.functional.cross_entropy(predict_module(module, (val[0],)), val[1])
    assert float(restored) == pytest.approx(best, rel=1e-5)


def test_max_time_s_stops_after_the_epoch_that_passes_it():
    x, y = _blobs()
    config = TrainConfig(max_epochs=50, max_time_s=1e-9)
    result = fit_module(_net(), nn.CrossEntropyLoss(), (x, y), (x, y), config)
    assert result.stop_reason == "time"
    assert len(result.history) == 1


def test_one_step_matches_torch_adamw_on_autograd_gradients():
    x, y = _blobs(n=64)
    module = _net()
    reference = copy.deepcopy(module)
    config = TrainConfig(
        max_epochs=1, batch_size=64, lr=1e-2, weight_decay=0.0, warmup_fraction=0.0, grad_clip=None
    )
    fit_module(module, nn.CrossEntropyLoss(), (x, y), None, config)

    # the same step by hand; dropout draws from the trainer's seed
    optimizer = torch.optim.AdamW(reference.parameters(), lr=1e-2, weight_decay=0.0)
    reference.train()
    torch.manual_seed(config.seed)
    order = torch.randperm(64, generator=torch.Generator().manual_seed(config.seed))
    loss = nn.functional.cross_entropy(reference(x[order]), y[order])
    loss.backward()
    optimizer.step()
    for got, want in zip(module.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert any(
        not torch.equal(p, q) for p, q in zip(module.parameters(), _net().parameters(), strict=True)
    )


def test_gradient_clipping_bounds_the_global_norm():
    x, y = _blobs(n=64)
    norms = {}
    for clip in (None, 1e-3):
        module = _net()
        config = TrainConfig(max_epochs=1, batch_size=64, grad_clip=clip)
        fit_module(module, nn.CrossEntropyLoss(), (x, y), None, config)
        # the last step's gradients are still on the parameters
        grads = [p.grad.flatten() for p in module.parameters()]
        norms[clip] = float(torch.cat(grads).norm())
    assert norms[None] > 1e-2
    assert norms[1e-3] == pytest.approx(1e-3, rel=1e-3)


def test_same_seed_same_weights_other_seed_differs():
    x, y = _blobs()

    def train(seed: int) -> torch.Tensor:
        module = _net()
        config = TrainConfig(max_epochs=3, batch_size=32, seed=seed)
        fit_module(module, nn.CrossEntropyLoss(), (x, y), None, config)
        return predict_module(module, (x,))

    assert torch.equal(train(0), train(0))
    assert not torch.equal(train(0), train(1))


def test_training_leaves_the_global_rng_untouched():
    x, y = _blobs(n=40)
    module = _net()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit_module(module, nn.CrossEntropyLoss(), (x, y), None, TrainConfig(max_epochs=2))
    assert torch.equal(torch.rand(3), expected)


def test_a_trailing_batch_of_one_row_is_skipped_for_batchnorm():
    x, y = _blobs(n=33)
    result = fit_module(
        _net(), nn.CrossEntropyLoss(), (x, y), None, TrainConfig(batch_size=16, max_epochs=2)
    )
    assert len(result.history) == 2  # a batch of one row would make BatchNorm raise


def test_invalid_settings_and_inputs_are_reported():
    with pytest.raises(ConfigError, match="batch_size=0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="patience"):
        TrainConfig(patience=0)
    x, y = _blobs(n=20)
    with pytest.raises(DataError, match="same number of rows"):
        fit_module(_net(), nn.CrossEntropyLoss(), (x, y[:10]))
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            resolve_device("cuda")


def test_should_stop_ends_an_epoch_between_steps():
    class StopAfterThree(Trainer):
        steps = 0

        def train_step(self, batch):
            self.steps += 1
            return super().train_step(batch)

        def should_stop(self):
            return self.steps >= 3

    x, y = _blobs(n=240)
    config = TrainConfig(max_epochs=2, batch_size=16)
    trainer = StopAfterThree(_net(), nn.CrossEntropyLoss(), config)
    result = trainer.fit((x, y))
    assert trainer.steps == 4  # 3 in the first epoch; each epoch runs at least one batch
    assert len(result.history) == 2 and result.stop_reason == "max_epochs"
