from __future__ import annotations

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
    budget.record(cost_hint=1.0, seconds=2.0)
    clock.t = 2.0
    assert budget.estimate_s(3.0) == 6.0
    assert budget.skip_reason(3.0, time_boundable=False) is None  # 6s needed, 8s left
    reason = budget.skip_reason(5.0, time_boundable=False)  # 10s needed, 8s left
    assert reason is not None and "needs ~10s" in reason


def test_networks_get_a_fair_share_instead_of_a_skip():
    clock = Clock()
    budget = Budget(100, clock=clock)
    budget.record(1.0, 1.0)
    clock.t = 40.0
    assert budget.skip_reason(200.0, time_boundable=True) is None  # wants 200s, 60s left
    assert budget.skip_reason(1000.0, time_boundable=True) is not None
    assert budget.allowance_s(2) == 30.0


def test_used_up_budget_skips_everything():
    clock = Clock()
    budget = Budget(5, clock=clock)
    clock.t = 6.0
    assert budget.skip_reason(0.0, time_boundable=True) == "time budget used up"


def test_reserve_holds_time_back_for_networks():
    clock = Clock()
    budget = Budget(100, clock=clock)
    budget.record(1.0, 1.0)
    clock.t = 10.0
    assert budget.skip_reason(50.0, time_boundable=False) is None  # 50s needed, 90s left
    reason = budget.skip_reason(50.0, time_boundable=False, reserve_s=60.0)
    assert reason is not None and "holding 60s for the deep-learning families" in reason
