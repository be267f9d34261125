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
