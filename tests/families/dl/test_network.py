"""The generic network estimator: step-level time limit, step cap, storage of chosen weights."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from mlvsdl.families.dl.network import TimedTrainer, _cap_rows, split_tensors
from mlvsdl.families.dl.trainer import TrainConfig


class _Slow(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            time.sleep(0.02)
        return self.linear(x)


def test_time_limit_is_checked_after_every_step_not_every_epoch():
    module = _Slow()
    x, y = torch.randn(400, 2), torch.randint(0, 2, (400,))
    config = TrainConfig(batch_size=10, max_epochs=5, max_time_s=0.2, patience=None)
    result = TimedTrainer(module, nn.CrossEntropyLoss(), config).fit((x, y))
    assert result.stop_reason == "time" and len(result.history) == 1
    assert 1 <= module.calls < 40  # an epoch has 40 batches; the limit cut it short
    assert np.isfinite(result.history[0]["train_loss"])


def test_step_cap_takes_a_seeded_subsample():
    tensors = (torch.arange(100), torch.arange(100))
    capped = _cap_rows(tensors, max_steps=3, batch_size=8, seed=0)
    assert len(capped[0]) == 24 and torch.equal(capped[0], capped[1])
    assert torch.equal(capped[0], _cap_rows(tensors, 3, 8, seed=0)[0])
    assert _cap_rows(tensors, None, 8, 0) is tensors


def test_validation_split_is_stratified_and_seeded():
    x = torch.arange(40)
    labels = np.array([0] * 30 + [1] * 10)
    (_, _), (val, _) = split_tensors((x, x), 0.2, labels, seed=1)
    assert len(val) == 8 and (val >= 30).sum() == 2
    assert torch.equal(split_tensors((x, x), 0.2, labels, seed=1)[1][0], val)


def test_time_spent_preparing_inputs_counts_against_the_allowance():
    from mlvsdl.families.dl.network import MIN_TRAIN_S
    from mlvsdl.families.image.dl import ConvNetClassifier

    net = ConvNetClassifier(max_time_s=10.0)
    assert net._train_config(0, 100, spent_s=4.0).max_time_s == pytest.approx(6.0)
    assert net._train_config(0, 100, spent_s=9.0).max_time_s == pytest.approx(2.5)  # a quarter
    assert ConvNetClassifier(max_time_s=1e-4)._train_config(0, 100, 1.0).max_time_s == MIN_TRAIN_S
    assert ConvNetClassifier(max_time_s=None)._train_config(0, 100, 4.0).max_time_s is None


class _FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lrs(monkeypatch, max_time_s, total_steps, step_s, n_steps, time_schedule=True):
    """The learning rate of each step of a TimedTrainer whose steps each take ``step_s`` on a
    fake clock."""
    import time

    from torch import nn

    from mlvsdl.families.dl import network
    from mlvsdl.families.dl.trainer import TrainConfig

    clock = _FakeClock()
    monkeypatch.setattr(time, "perf_counter", clock)
    module = nn.Linear(2, 1)
    trainer = network.TimedTrainer(
        module, nn.MSELoss(), TrainConfig(max_time_s=max_time_s), time_schedule
    )
    trainer._params = list(module.parameters())
    trainer._deadline = clock.now + max_time_s
    optimizer, scheduler = trainer.configure_optimizers(total_steps)
    out = []
    for _ in range(n_steps):
        out.append(optimizer.param_groups[0]["lr"])
        clock.now += step_s
        optimizer.step()
        scheduler.step()
    return out


def test_a_schedule_bound_by_the_clock_warms_up_and_anneals_before_time_runs_out(monkeypatch):
    from mlvsdl.families.dl.network import TIME_SHARE

    lr = 1e-3  # TrainConfig's default
    # 10,000 steps planned, 0.1 s each, 3 s allowed: the clock binds
    lrs = _lrs(monkeypatch, max_time_s=3.0, total_steps=10_000, step_s=0.1, n_steps=30)
    assert max(lrs) > 0.5 * lr  # warmed up
    annealed = int(TIME_SHARE * 3.0 / 0.1)  # the step at which 85 % of the allowance is spent
    assert all(x <= 0.02 * lr for x in lrs[annealed + 1 :])  # at its floor before the end
    assert lrs[annealed // 2] < max(lrs)  # decaying by then


def test_a_schedule_with_time_to_spare_is_the_core_schedule_step_for_step(monkeypatch):
    """A fit whose steps fit its allowance (even with a stall) follows the step schedule
    exactly, so a seeded fit is reproducible; with the time schedule off, likewise."""
    from mlvsdl.families.dl.trainer import TrainConfig, _warmup_cosine

    cfg = TrainConfig()
    core = _warmup_cosine(round(cfg.warmup_fraction * 100), 100, cfg.min_lr_fraction)
    expected = [cfg.lr * core(s) for s in range(100)]
    timed = _lrs(monkeypatch, max_time_s=60.0, total_steps=100, step_s=0.05, n_steps=100)
    np.testing.assert_allclose(timed, expected, rtol=1e-9)
    off = _lrs(monkeypatch, 1.0, 100, 0.05, 100, time_schedule=False)  # bound, but switched off
    np.testing.assert_allclose(off, expected, rtol=1e-9)
