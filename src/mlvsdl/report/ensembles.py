"""The report's ``ensembles`` section: the ensembles built from the run's models (greedy
ensemble selection, ``search/ensemble.py``), their members and weights, and whether mixing
classical and deep models helped (the analysis's ``ensembles`` section)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvsdl.report.html import esc, fmt_num, para, section, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["ensembles"]


def ensembles(data: ReportData, anchor: str, title: str) -> str:
    summary = data.section("ensembles") or {}
    entries = summary.get("ensembles") or []
    if not entries:
        return section(
            anchor,
            title,
            para(
                "No ensemble was built: each needs two models or more with validation "
                "predictions on every fold (across both kinds, one of each)."
            ),
        )
    rows = []
    best = summary.get("best_single")
    for entry in [*entries, *([best] if best else [])]:
        members = entry.get("members") or {}
        weights = ", ".join(f"{name} {w:.2f}" for name, w in members.items())
        label = entry["model"] if members else f"{entry['model']} (best single model)"
        rows.append(
            [
                esc(label),
                esc(str(entry["kind"]).upper()),
                esc(weights or "—"),
                fmt_num(entry["val_score"]),
                fmt_num(entry["test_score"]),
            ]
        )
    body = table(
        ["model", "kind", "members and weights", f"CV {data.metric.title}", "test"],
        rows,
        numeric=(3, 4),
        raw=True,
    )
    answer = summary.get("answer")
    parts = [para(f"Does mixing classical and deep models help on this data? {answer}")] * bool(
        answer
    )
    intro = (
        "Greedy ensemble selection (Caruana et al. 2004, with replacement) over the models' "
        "out-of-fold validation predictions. An ensemble's CV score is in-sample (its weights "
        "were chosen on those predictions); its test score is not."
    )
    return section(anchor, title, "".join([*parts, body]), intro)
