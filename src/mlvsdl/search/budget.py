"""The time budget: cheap families first, and no family started that cannot fit.

Costs are learned as the run goes: a trial's seconds are modelled as a fixed overhead (the fastest
trial so far: data handling and pipeline set-up that every family pays) plus a rate per unit of
the family's relative cost hint (learned from the time beyond that overhead, summed over trials so
large ones dominate), and the next family's time is predicted from its hint. Keeping the overhead
apart stops a near-free baseline from making every later family look enormous.

Networks can stop themselves on a wall-clock limit, so they are given
a fair share of what remains instead of being skipped on a prediction alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MIN_ALLOWANCE_SHARE", "Budget"]

# A network given less than this share of the budget learns little (measured on 2,125 support
# tickets at 240 s: seven networks sharing 61 s trained 1-2 s each, none above 0.35 accuracy).
MIN_ALLOWANCE_SHARE = 0.1


class Budget:
    def __init__(
        self,
        total_s: float | None,
        clock: Callable[[], float] = time.monotonic,
        spent_s: float = 0.0,  # already used (a resumed run)
    ) -> None:
        self.total_s = total_s
        self._clock = clock
        self._start = clock() - spent_s
        self._trials: list[tuple[float, float]] = []  # (cost hint, seconds)

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self._start

    @property
    def remaining_s(self) -> float | None:
        return None if self.total_s is None else max(self.total_s - self.elapsed_s, 0.0)

    def record(self, cost_hint: float, seconds: float) -> None:
        self._trials.append((cost_hint, seconds))

    def estimate_s(self, cost_hint: float) -> float | None:
        """Predicted seconds for a trial of this cost, or None before any trial finished."""
        if not self._trials:
            return None
        overhead = min(seconds for _, seconds in self._trials)
        total_cost = sum(cost for cost, _ in self._trials)
        excess = sum(seconds - overhead for _, seconds in self._trials)
        rate = excess / total_cost if total_cost > 0 else 0.0
        return overhead + rate * cost_hint

    def skip_reason(
        self,
        cost_hint: float,
        *,
        time_boundable: bool,
        reserve_s: float = 0.0,
        shrinks_to: float = 1.0,
    ) -> str | None:
        """Why a trial should not start now, or None if it should.

        ``reserve_s`` is time held back for trials still to come (the networks, so that a
        comparison is never classical-only because the classical models used the budget up).
        ``shrinks_to``: the share of its predicted time a trial that cannot stop itself still
        needs when its validation folds are cut (one fit of its K folds and refit: 1 / (K + 1));
        it starts when that much fits.
        """
        remaining = self.remaining_s
        if remaining is None:
            return None
        if remaining <= 0:
            return "time budget used up"
        estimate = self.estimate_s(cost_hint)
        if estimate is None:
            return None
        available = remaining - reserve_s
        held = f" after holding {reserve_s:.0f}s for the deep-learning families" * (reserve_s > 0)
        if time_boundable:
            # A network stops on its own clock; skip only if it would get under a quarter of
            # the time it is predicted to want and under a useful minimum (5% of the budget,
            # at least 10 s), so a comparison keeps its networks whenever they can train at all.
            useful = max(10.0, 0.05 * (self.total_s or 0.0))
            if available < min(0.25 * estimate, useful):
                return f"needs ~{estimate:.0f}s, only {max(available, 0):.0f}s of budget left{held}"
            return None
        if estimate * shrinks_to > available:
            needs = estimate * shrinks_to
            one = " for one fit" if shrinks_to < 1 else ""
            return f"needs ~{needs:.0f}s{one}, only {max(available, 0):.0f}s of budget left{held}"
        return None

    def allowance_s(self, n_boundable_left: int) -> float | None:
        """Wall-clock limit for the next self-limiting trial: a fair share of what remains, but
        at least ``MIN_ALLOWANCE_SHARE`` of the budget (while that much is left), so that a few
        networks train properly rather than many for a few seconds each; those left when the
        budget is used up are skipped, saying so."""
        remaining = self.remaining_s
        if remaining is None:
            return None
        share = remaining / max(n_boundable_left, 1)
        floor = min(remaining, MIN_ALLOWANCE_SHARE * (self.total_s or 0.0))
        return max(share, floor)
