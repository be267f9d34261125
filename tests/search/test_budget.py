from __future__ import annotations

import pytest

from mlvsdl.search.budget import Budget


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_unlimited_budget_never_skips():
    budget = Budget(None)
    assert budget.remaining_s is None
    assert budget.skip_reason(1e9, time_boundable=False) is None


def test_skips_a_family_predicted_to_overrun():
    clock = Clock()
    budget = Budget(10, clock=clock)
    assert budget.skip_reason(100, time_boundable=False) is None  # nothing learned yet
    budget.record(cost_hint=0.0, seconds=0.5)  # the overhead every trial pays
    budget.record(cost_hint=1.0, seconds=2.5)
    clock.t = 3.0
    assert budget.estimate_s(3.0) == 0.5 + 2.0 * 3.0
    assert budget.skip_reason(3.0, time_boundable=False) is None  # 6.5s needed, 7s left
    reason = budget.skip_reason(5.0, time_boundable=False)  # 10.5s needed, 7s left
    assert reason is not None and "needs ~10s" in reason


def test_networks_get_a_fair_share_instead_of_a_skip():
    clock = Clock()
    budget = Budget(100, clock=clock)
    budget.record(0.0, 0.0)
    budget.record(1.0, 1.0)
    clock.t = 40.0
    assert budget.skip_reason(200.0, time_boundable=True) is None  # wants 200s, 60s left
    assert budget.skip_reason(1000.0, time_boundable=True) is None  # 60s is still useful
    assert budget.allowance_s(2) == 30.0  # a fair share of the 60 s left
    assert budget.allowance_s(10) == 10.0  # but at least a tenth of the budget, not 6 s each
    clock.t = 95.0
    assert budget.skip_reason(1000.0, time_boundable=True) is not None  # 5s is not
    assert budget.allowance_s(2) == 5.0  # the floor, capped at what is left


def test_used_up_budget_skips_everything():
    clock = Clock()
    budget = Budget(5, clock=clock)
    clock.t = 6.0
    assert budget.skip_reason(0.0, time_boundable=True) == "time budget used up"


def test_reserve_holds_time_back_for_networks():
    clock = Clock()
    budget = Budget(100, clock=clock)
    budget.record(0.0, 0.0)
    budget.record(1.0, 1.0)
    clock.t = 10.0
    assert budget.skip_reason(50.0, time_boundable=False) is None  # 50s needed, 90s left
    reason = budget.skip_reason(50.0, time_boundable=False, reserve_s=60.0)
    assert reason is not None and "holding 60s for the deep-learning families" in reason


def test_a_near_free_baseline_does_not_inflate_later_estimates():
    budget = Budget(100)
    budget.record(cost_hint=0.001, seconds=0.3)  # a dummy: all overhead
    assert budget.estimate_s(1000.0) == 0.3  # nothing learned about cost yet: optimistic
    budget.record(cost_hint=10.0, seconds=1.3)
    assert budget.estimate_s(20.0) == pytest.approx(0.3 + 20 * 1.0 / 10.001)


def test_a_trial_that_can_cut_its_folds_starts_when_one_fit_fits():
    now = [0.0]
    budget = Budget(100.0, clock=lambda: now[0])
    budget.record(1.0, 1.0)
    budget.record(11.0, 21.0)  # 2 s per unit of cost beyond a 1-s overhead
    now[0] = 60.0  # 40 s left
    assert budget.skip_reason(30.0, time_boundable=False) is not None  # 61 s for the trial
    assert budget.skip_reason(30.0, time_boundable=False, shrinks_to=1 / 6) is None  # ~10 s
    reason = budget.skip_reason(200.0, time_boundable=False, shrinks_to=1 / 6)
    assert reason is not None and "for one fit" in reason
