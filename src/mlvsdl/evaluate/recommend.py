"""The recommendation: which model to use, why, what it costs and what would change it.

The rule, in words: take the best model by the primary metric (cross-validated mean), unless a
more transparent or cheaper model is within the measured noise of it, in which case take that
one. The noise is one standard error of the best model's fold scores (its fold standard deviation
over the square root of the number of folds; the "one-standard-error rule" of Breiman et al.).
Among the models within the noise, intrinsically interpretable ones come first, then the cheapest
(geometric mean of fit time, single-row latency and size on disk). A model that does not beat
the dummy baseline is never recommended over one that does.

The result is data (:class:`Recommendation`, stored with the run) and text (``.text``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mlvsdl.evaluate.metrics import Metric

__all__ = ["Recommendation", "recommend"]


@dataclass(frozen=True)
class Recommendation:
    """Which model to use and why; ``text`` reads it out."""

    model: str
    title: str
    kind: str
    metric: str
    score: float
    best_model: str
    best_title: str
    best_score: float
    noise: float
    interpretable: bool
    within_noise: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"Use {self.title} ({self.model}): {self.reasons[0] if self.reasons else ''}"

    @property
    def text(self) -> str:
        parts = [f"Recommendation: use {self.title}.", *self.reasons]
        if self.costs:
            parts.append("What it costs: " + " ".join(self.costs))
        if self.changes:
            parts.append("What would change it: " + " ".join(self.changes))
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def _gain(value: float, metric: Metric) -> float:
    return value if metric.greater_is_better else -value


def _noise(candidate: dict[str, Any]) -> float:
    folds = (candidate.get("details") or {}).get("fold_scores") or []
    std = candidate.get("val_std")
    if std is None or not folds or (isinstance(std, float) and math.isnan(std)):
        return 0.0
    return float(std) / math.sqrt(len(folds))


def _cost(name: str, costs: dict[str, dict[str, Any]]) -> float:
    """Geometric mean of fit seconds, p50 single-row milliseconds and bytes on disk."""
    c = costs.get(name, {})
    values = [c.get("fit_time_s"), c.get("latency_p50_ms"), c.get("model_bytes")]
    logs = [math.log(max(float(v), 1e-9)) for v in values if v is not None]
    return math.exp(sum(logs) / len(logs)) if logs else math.inf


def recommend(
    candidates: list[dict[str, Any]],
    metric: Metric,
    *,
    costs: dict[str, dict[str, Any]],
    interpretable: dict[str, bool],
    titles: dict[str, str],
    crossover: dict[str, Any] | None = None,
    curves_status: str = "not run",
    curves_reason: str = "",
) -> Recommendation | None:
    """The recommendation for a run's candidates (store rows), or None when none completed."""
    done = [c for c in candidates if c["status"] == "completed" and c["val_score"] is not None]
    if not done:
        return None
    ranked = sorted(done, key=lambda c: -_gain(c["val_score"], metric))
    dummy = next((c for c in ranked if c["family"] == "dummy"), None)
    useful = [c for c in ranked if c["family"] != "dummy" and _beats(c, dummy, metric)]
    pool = useful or ranked
    best = pool[0]
    noise = _noise(best)
    near = [
        c for c in pool if _gain(best["val_score"], metric) - _gain(c["val_score"], metric) <= noise
    ]
    choice = min(
        near, key=lambda c: (not interpretable.get(c["name"], False), _cost(c["name"], costs))
    )
    ctx = _Context(metric, costs, interpretable, titles, best, choice, noise, useful, ranked)
    return Recommendation(
        model=choice["name"],
        title=titles.get(choice["name"], choice["name"]),
        kind=choice["kind"],
        metric=metric.key,
        score=float(choice["val_score"]),
        best_model=best["name"],
        best_title=titles.get(best["name"], best["name"]),
        best_score=float(best["val_score"]),
        noise=noise,
        interpretable=interpretable.get(choice["name"], False),
        within_noise=[c["name"] for c in near],
        reasons=_reasons(ctx, dummy),
        costs=_costs(ctx),
        changes=_changes(ctx, crossover, curves_status, curves_reason),
    )


def _beats(candidate: dict[str, Any], dummy: dict[str, Any] | None, metric: Metric) -> bool:
    if dummy is None:
        return True
    return _gain(candidate["val_score"], metric) > _gain(dummy["val_score"], metric)


@dataclass(frozen=True)
class _Context:
    metric: Metric
    costs: dict[str, dict[str, Any]]
    interpretable: dict[str, bool]
    titles: dict[str, str]
    best: dict[str, Any]
    choice: dict[str, Any]
    noise: float
    useful: list[dict[str, Any]]
    ranked: list[dict[str, Any]]

    def title(self, c: dict[str, Any]) -> str:
        return self.titles.get(c["name"], c["name"])

    def gap(self, c: dict[str, Any], to: dict[str, Any] | None = None) -> float:
        ref = to or self.best
        return _gain(ref["val_score"], self.metric) - _gain(c["val_score"], self.metric)

    def score(self, c: dict[str, Any]) -> str:
        std = c.get("val_std")
        n = len((c.get("details") or {}).get("fold_scores") or [])
        spread = f" ± {std:.4f} over {n} folds" if std is not None and n > 1 else ""
        return f"{c['val_score']:.4f}{spread}"


def _reasons(ctx: _Context, dummy: dict[str, Any] | None) -> list[str]:
    m, best, choice = ctx.metric.title, ctx.best, ctx.choice
    if not ctx.useful:
        return [
            f"No model beats the dummy baseline on cross-validated {m}: the inputs carry no "
            "signal the models could find. Add informative columns before choosing a model."
        ]
    out = [f"{ctx.title(best)} has the best cross-validated {m} ({ctx.score(best)})."]
    if choice is not best:
        why = []
        if ctx.interpretable.get(choice["name"]) and not ctx.interpretable.get(best["name"]):
            why.append("can be read directly instead of being explained after the fact")
        ratio = _cost(best["name"], ctx.costs) / max(_cost(choice["name"], ctx.costs), 1e-12)
        if ratio > 1.2:
            why.append(f"is about {_times(ratio)} cheaper to train, store and run")
        out.append(
            f"{ctx.title(choice)} is only {ctx.gap(choice):.4f} behind, within the measured noise "
            f"(one standard error of the best model's folds is {ctx.noise:.4f}), and "
            + " and ".join(why or ["is no worse on cost or transparency"])
            + "; so it is the better choice."
        )
    elif len(ctx.ranked) > 1:
        out.append(_margin_sentence(ctx))
    if dummy is not None:
        lift = ctx.gap(dummy, to=choice)
        out.append(f"It beats the dummy baseline by {lift:.4f} {m}.")
    out.append(_kind_sentence(ctx))
    return [s for s in out if s]


def _margin_sentence(ctx: _Context) -> str:
    others = [c for c in ctx.useful if c is not ctx.best]
    if not others:
        return ""
    runner = others[0]
    return (
        f"The runner-up, {ctx.title(runner)}, is {ctx.gap(runner):.4f} behind — more than the "
        f"measured noise ({ctx.noise:.4f}) — and no more transparent or cheaper model comes "
        "within it."
        if ctx.gap(runner) > ctx.noise
        else f"{ctx.title(runner)} is within the noise but neither more transparent nor cheaper."
    )


def _kind_sentence(ctx: _Context) -> str:
    best_of = {k: next((c for c in ctx.useful if c["kind"] == k), None) for k in ("ml", "dl")}
    ml, dl = best_of["ml"], best_of["dl"]
    if ml is None or dl is None:
        return ""
    lead, trail = (ml, dl) if ctx.gap(ml) <= ctx.gap(dl) else (dl, ml)
    word = {"ml": "classical model", "dl": "network"}
    return (
        f"On this data the best {word[lead['kind']]} ({ctx.title(lead)}) leads the best "
        f"{word[trail['kind']]} ({ctx.title(trail)}) by {ctx.gap(trail, to=lead):.4f} "
        f"{ctx.metric.title}."
    )


def _costs(ctx: _Context) -> list[str]:
    c = ctx.costs.get(ctx.choice["name"], {})
    out = [
        f"{ctx.title(ctx.choice)} trains in {_seconds(c.get('fit_time_s'))}, answers one row in "
        f"{_ms(c.get('latency_p50_ms'))} (p95 {_ms(c.get('latency_p95_ms'))}) and takes "
        f"{_size(c.get('model_bytes'))} on disk."
    ]
    if ctx.choice is not ctx.best:
        out.append(
            f"Against {ctx.title(ctx.best)} it gives up {ctx.gap(ctx.choice):.4f} "
            f"{ctx.metric.title} (within the noise)."
        )
    return out


def _changes(
    ctx: _Context, crossover: dict[str, Any] | None, curves_status: str, curves_reason: str
) -> list[str]:
    out: list[str] = []
    if crossover is not None and crossover.get("text"):
        out.append(crossover["text"])
    elif curves_status == "skipped":
        out.append(f"Learning curves were asked for but skipped: {curves_reason}.")
    elif curves_status == "done":
        kinds = {c["kind"] for c in ctx.useful}
        missing = "network" if "dl" not in kinds else "classical model"
        if len(kinds) < 2:
            out.append(
                f"No {missing} finished within the time budget, so no ML-versus-DL crossover "
                "could be estimated; a larger --time-budget would let one run."
            )
        else:
            out.append(
                "The learning curves did not reach the best model of each kind in the time they "
                "had, so no ML-versus-DL crossover was estimated; run 'mlvsdl curves RUN' with a "
                "larger --time-budget."
            )
    else:
        out.append(
            "Learning curves were not run; run 'mlvsdl curves' (or compare with --curves) to "
            "see whether more data would change the ranking."
        )
    if ctx.choice is not ctx.best:
        out.append(
            f"If the last {ctx.gap(ctx.choice):.4f} {ctx.metric.title} matters more than "
            f"transparency and cost, take {ctx.title(ctx.best)}."
        )
    elif not ctx.interpretable.get(ctx.choice["name"]):
        readable = [c for c in ctx.useful if ctx.interpretable.get(c["name"])]
        if readable:
            alt = readable[0]
            out.append(
                f"If the model must be readable, {ctx.title(alt)} is {ctx.gap(alt):.4f} "
                f"{ctx.metric.title} behind."
            )
    return out


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _seconds(value: Any) -> str:
    if value is None:
        return "an unmeasured time"
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"


def _ms(value: Any) -> str:
    return "-" if value is None else (f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms")


def _size(value: Any) -> str:
    if value is None:
        return "an unmeasured size"
    size = float(value)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
