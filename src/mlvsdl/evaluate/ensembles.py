"""The analysis's ``ensembles`` section: does mixing classical and deep models help on this data?

Read from the store's rows alone. The answer compares test scores (the honest ones: an
ensemble's validation score is in-sample): the across-both ensemble against the best single
model (the one ranked first on validation, as a user would pick it) and against the ensembles
within each kind.
"""

from __future__ import annotations

from typing import Any

from mlvsdl.evaluate.metrics import Metric

__all__ = ["ensemble_summary"]


def _entry(cand: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": cand["name"],
        "kind": cand["kind"],
        "val_score": cand["val_score"],
        "test_score": cand["test_score"],
        "members": cand["details"].get("members"),
    }


def _gain(a: float | None, b: float | None, metric: Metric) -> float | None:
    """How much better ``a`` is than ``b`` (positive: better), in the metric's units."""
    if a is None or b is None:
        return None
    return a - b if metric.greater_is_better else b - a


def ensemble_summary(candidates: list[dict[str, Any]], metric: Metric) -> dict[str, Any] | None:
    """The ensembles, the best single model and the across-both ensemble's gains on the test
    rows; None when the run has no ensemble."""
    done = [c for c in candidates if c["status"] == "completed" and c["val_score"] is not None]
    ensembles = {c["name"]: c for c in done if "members" in c["details"]}
    if not ensembles:
        return None
    sign = -1 if metric.greater_is_better else 1
    singles = sorted(
        (c for c in done if c["name"] not in ensembles and c["family"] != "dummy"),
        key=lambda c: sign * float(c["val_score"]),
    )
    best = singles[0] if singles else None
    out: dict[str, Any] = {
        "metric": metric.key,
        "ensembles": [_entry(c) for c in ensembles.values()],
        "best_single": _entry(best) if best else None,
    }
    both = ensembles.get("ensemble_all")
    if both is None or best is None:
        return out
    members = both["details"].get("members") or {}
    kinds = {c["name"]: c["kind"] for c in done}
    mixed = len({kinds.get(m) for m in members}) > 1
    gains = {"best_single": _gain(both["test_score"], best["test_score"], metric)}
    for name in ("ensemble_ml", "ensemble_dl"):
        if name in ensembles:
            gains[name] = _gain(both["test_score"], ensembles[name]["test_score"], metric)
    out["gains"] = gains
    out["mixed"] = mixed
    rivals = [g for g in gains.values() if g is not None]
    out["helps"] = bool(mixed and rivals and min(rivals) > 0)
    out["answer"] = _answer(both, best, ensembles, gains, mixed, metric)
    return out


def _answer(
    both: dict[str, Any],
    best: dict[str, Any],
    ensembles: dict[str, Any],
    gains: dict[str, float | None],
    mixed: bool,
    metric: Metric,
) -> str:
    def num(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    def gain(value: float | None) -> str:
        return "n/a" if value is None else f"{value:+.4f}"

    parts = [
        f"across both kinds, ensemble_all scored {num(both['test_score'])} test {metric.title} "
        f"against {num(best['test_score'])} for the best single model ({best['name']}, "
        f"gain {gain(gains['best_single'])})"
    ]
    for name in ("ensemble_ml", "ensemble_dl"):
        if name in ensembles:
            parts.append(
                f"{name} {num(ensembles[name]['test_score'])} (gain {gain(gains.get(name))})"
            )
    rivals = [g for g in gains.values() if g is not None]
    if not mixed:
        verdict = "No: the selection kept models of one kind only"
    elif rivals and min(rivals) > 0:
        verdict = "Yes"
    else:
        verdict = "No"
    return f"{verdict}: " + "; ".join(parts) + "."
