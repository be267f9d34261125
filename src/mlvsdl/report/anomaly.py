"""Report sections of an anomaly-detection run: how each detector scores the held-out rows, the
rows it finds most unusual and why, and what labels would add (from the analysis's ``anomaly``,
``flagged`` and ``supervised`` sections)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlvsdl.report import plots
from mlvsdl.report.html import badge, esc, figure, fmt_num, fmt_s, para, section, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["detectors", "flagged", "labels"]


def detectors(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("anomaly")
    if not found:
        return section(anchor, title, para("No detector finished, so there is nothing to show."))
    models = found["models"]
    parts = []
    if found["labelled"]:
        share = found["n_anomalies"] / max(found["n_rows"], 1)
        curves = {n: m["pr"] | {"kind": m["kind"]} for n, m in models.items() if "pr" in m}
        parts.append(
            figure(
                plots.pr_curves(
                    curves,
                    share,
                    "Precision-recall on the test rows",
                    "Precision against recall for every detector; deep-learning detectors dashed; "
                    "the dotted line is the share of anomalies, what random scores reach.",
                ),
                f"The test rows hold {found['n_anomalies']} anomalies of {found['n_rows']} "
                f"({share:.2%}; label {found['label']!r} = {found['anomaly_value']!r}, read for "
                "evaluation only). Higher and further right is better.",
            )
        )
        rows = [
            [
                esc(data.title(n)),
                badge(m["kind"]),
                fmt_num(m.get("average_precision")),
                fmt_num(m.get("roc_auc")),
                str(m["flagged"]),
                esc(m["rule"]),
            ]
            for n, m in sorted(models.items(), key=lambda kv: -kv[1].get("average_precision", 0))
        ]
        header = ["Detector", "Kind", "Avg. precision", "ROC AUC", "Flagged", "Threshold"]
    else:
        rows = [
            [esc(data.title(n)), badge(m["kind"]), str(m["flagged"]), esc(m["rule"])]
            for n, m in models.items()
        ]
        header = ["Detector", "Kind", "Flagged", "Threshold"]
    numeric = {2, 3, 4} if found["labelled"] else {2}
    parts.append(table(header, rows, numeric=numeric, raw=True))
    parts.append(
        figure(
            plots.score_histograms(
                models,
                "Anomaly scores on the test rows",
                "Histograms of each detector's anomaly scores on the held-out rows (log count); "
                "anomalous rows in orange when the run has a label.",
            ),
            "A detector separates well when the orange (anomalous) rows sit to the right of the "
            "blue (normal) ones.",
        )
    )
    intro = "Every detector was fitted on the training rows without their labels; " + (
        "the label scores them here, on the held-out test rows."
        if found["labelled"]
        else "with no label, the models were ranked by stability: how much the rows each "
        "ranks most unusual agree across refits on different training folds."
    )
    return section(anchor, title, "".join(parts), intro)


def flagged(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("flagged")
    if not found or not found.get("rows"):
        return section(anchor, title, para("No detector was recommended, so no rows are shown."))
    rows = []
    for item in found["rows"]:
        columns = "; ".join(
            f"{c['feature']} = {_short(c['value'])} ({c['contribution']:+.3g})"
            for c in item.get("columns", [])
        )
        truth = "" if "anomaly" not in item else ("anomaly" if item["anomaly"] else "normal")
        rows.append(
            [
                str(item["row"]),
                fmt_num(item["score"]),
                "yes" if item["flagged"] else "no",
                esc(truth),
                esc(columns),
            ]
        )
    method = found.get("method") or "no per-column view for this detector"
    intro = (
        f"The held-out rows that {esc(data.title(found['model']))} finds most unusual, with the "
        f"columns that make them so ({esc(method)})."
    )
    header = ["Row", "Anomaly score", "Flagged", "Label", "Why (top columns)"]
    return section(anchor, title, table(header, rows, numeric={1}, raw=True), intro)


def labels(data: ReportData, anchor: str, title: str) -> str:
    found: dict[str, Any] | None = data.section("supervised")
    if not found:
        return section(
            anchor,
            title,
            para(
                "This run has no label column, so it cannot say what labels would add; run it "
                "again with --label COLUMN to measure it."
            ),
        )
    sup, det = found["supervised"], found.get("best_detector")
    rows = [
        [
            esc(sup["model"]),
            fmt_num(sup["average_precision"]),
            fmt_num(sup["roc_auc"]),
            fmt_s(sup["fit_time_s"]),
        ],
    ]
    if det:
        rows.append(
            [
                f"{esc(data.title(det['model']))} (best detector, no labels)",
                fmt_num(det["average_precision"]),
                fmt_num(det["roc_auc"]),
                fmt_s(det["fit_time_s"]),
            ]
        )
    gap = ""
    if det:
        diff = sup["average_precision"] - det["average_precision"]
        gap = para(
            f"Labels add {diff:+.3f} average precision on these test rows: "
            + (
                "the detectors leave much on the table; label data if you can."
                if diff > 0.05
                else "the unsupervised detector is close; labels buy little here."
            )
        )
    intro = (
        "Do I need labels? A supervised LightGBM classifier trained on the labelled training rows, "
        "scored on the same held-out rows as the detectors."
    )
    header = ["Model", "Avg. precision", "ROC AUC", "Fit time"]
    return section(anchor, title, table(header, rows, numeric={1, 2, 3}, raw=True) + gap, intro)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
