"""Report sections of a synthetic-data run: every model's fidelity and utility (beside
train-on-real), the marginals and associations of the best classical and deep models, and
privacy (from the analysis's ``synth_models``, ``synth_marginals`` and ``synth_associations``
sections and the stored test metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from mlvsdl.report.html import badge, esc, figure, fmt_int, fmt_num, para, section, table
from mlvsdl.report.plots import KIND_COLOURS, heatmap, to_svg

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["synth_associations", "synth_marginals", "synth_privacy", "synth_scores"]

SCORES = (
    ("quality", "Quality", ".3f"),
    ("fidelity", "Fidelity", ".3f"),
    ("column_distance", "Column distance ↓", ".3f"),
    ("association_difference", "Association diff. ↓", ".3f"),
    ("detection_auc", "Detection AUC ↓", ".3f"),
    ("utility_raw", "Utility (TSTR)", ".3f"),
    ("utility", "Utility, normalized", ".3f"),
)


def _test_metrics(data: ReportData) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in data.metrics:
        if row["split"] == "test":
            out.setdefault(row["candidate"], {})[row["metric"]] = row["value"]
    return out


def synth_scores(data: ReportData, anchor: str, title: str) -> str:
    if not data.done:
        return section(anchor, title, para("No synthesizer finished, so there is nothing to show."))
    scores = _test_metrics(data)
    rows = []
    for cand in data.done:
        got = scores.get(cand["name"], {})
        rows.append(
            [f"{badge(cand['kind'])}{esc(data.title(cand['name']))}"]
            + [fmt_num(got.get(key), fmt) for key, _, fmt in SCORES]
        )
    real = (data.section("synth_models") or {}).get("train_on_real") or {}
    if real:
        rows.append(
            ["<b>Real training rows</b> (train on real)"]
            + ["–"] * 5
            + [fmt_num(real.get("utility_raw"), ".3f"), "–"]
        )
    target = data.schema.options.get("target")
    on = (
        f"predicting {target!r}"
        if target
        else f"predicting each of the first columns in turn ({', '.join(real.get('targets', []))})"
    )
    intro = (
        "Each model generated as many rows as the held-out test set has and was judged against "
        "those real rows, never against the rows it was fitted on. Fidelity is the mean of three "
        "scores in [0, 1]: 1 − the mean per-column distance (Kolmogorov–Smirnov for numbers, "
        "total variation for categories), 1 − the mean difference of pairwise associations "
        "(|Spearman|, Cramér's V, correlation ratio), and 1 − 2·|AUC − 0.5| of a LightGBM "
        "classifier telling real from synthetic under 3-fold cross-validation (0.5: it cannot). "
        f"Utility is train-on-synthetic, test-on-real with LightGBM, {on} (ROC AUC for two "
        "classes, accuracy for more, R² for numbers), shown beside the same model trained on the "
        "real training rows; normalized, ROC AUC becomes 2·(AUC − 0.5). Quality, which ranks, is "
        "the mean of fidelity and normalized utility. Privacy is in its own section: utility "
        "alone rewards copying records."
    )
    header = ["Model", *(label for _, label, _ in SCORES)]
    body = table(header, rows, raw=True, numeric=range(1, len(SCORES) + 1))
    return section(anchor, title, body, intro)


def synth_privacy(data: ReportData, anchor: str, title: str) -> str:
    models = (data.section("synth_models") or {}).get("models") or {}
    if not models:
        return section(anchor, title, para("No privacy measure was computed for this run."))
    rows = []
    for name, entry in models.items():
        p = entry["privacy"]
        rows.append(
            [
                f"{badge(entry['kind'])}{esc(data.title(name))}",
                fmt_num(p["dcr_train_share"], ".3f"),
                fmt_num(p["dcr_median"], ".4f"),
                fmt_num(p["dcr_holdout_median"], ".4f"),
                fmt_num(p["nndr_median"], ".3f"),
                fmt_int(p["exact_copies"]),
            ]
        )
    header = [
        "Model",
        "Closer to training",
        "Median distance to closest training row",
        "… to closest held-out row",
        "Median NN distance ratio",
        "Exact copies",
    ]
    intro = (
        "Distances are Gower's (numbers scaled by their training range, categories 0/1, averaged "
        "over columns) from generated rows to the rows the model was fitted on and to the "
        "held-out test rows. 'Closer to training' is the share of generated rows nearer a "
        "training row than any held-out row, with as many training rows as held-out rows drawn: "
        "0.5 is what a model that never saw the training rows would score; far above 0.5 means "
        "it reproduces them. The nearest-neighbour distance ratio (closest over second-closest "
        "training row) near 0 flags rows that sit on one record. Exact copies count generated "
        "rows equal to a training row in every column."
    )
    body = table(header, rows, raw=True, numeric=range(1, 6))
    return section(anchor, title, body, intro)


def _marginals_figure(found: dict[str, Any], titles: dict[str, str]) -> str:
    columns = found["columns"]
    fig = Figure(figsize=(3.6 * len(columns), 3.2), layout="constrained")
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    kinds = found.get("kinds", {})
    colours = ["#555555", *(KIND_COLOURS.get(kinds.get(n, ""), "#2a9d55") for n in found["models"])]
    series = ["real", *found["models"]]
    for ax, (column, entry) in zip(axes, columns.items(), strict=True):
        if entry["kind"] == "numeric":
            edges = np.asarray(entry["edges"])
            centres = (edges[:-1] + edges[1:]) / 2
            for key, colour in zip(series, colours, strict=True):
                counts = np.asarray(entry["counts"][key], dtype=float)
                shares = counts / counts.sum() if counts.sum() else counts
                ax.step(centres, shares, where="mid", color=colour, label=titles.get(key, key))
        else:
            cats = entry["categories"]
            width = 0.8 / len(series)
            for i, (key, colour) in enumerate(zip(series, colours, strict=True)):
                x = np.arange(len(cats)) + (i - (len(series) - 1) / 2) * width
                ax.bar(x, entry["shares"][key], width, color=colour, label=titles.get(key, key))
            ax.set_xticks(range(len(cats)), labels=[c[:12] for c in cats], rotation=35, ha="right")
        ax.set_title(column, fontsize=9)
    axes[0].legend(fontsize=7)
    return to_svg(
        fig,
        "Real and generated distributions",
        "For the top columns, the share of held-out real rows and of generated rows per bin or "
        "category, for the best classical and the best deep model.",
    )


def synth_marginals(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("synth_marginals") or {}
    if not found.get("columns"):
        return section(anchor, title, para("No model beyond the baseline finished."))
    found = {**found, "kinds": {n: data.kind(n) for n in found["models"]}}
    titles = {n: data.title(n) for n in found["models"]} | {"real": "real (held-out)"}
    caption = (
        "Grey: the held-out real rows; blue: the best classical model; orange: the best deep "
        "model. The target first, then the columns most associated with the others."
    )
    return section(anchor, title, figure(_marginals_figure(found, titles), caption))


def synth_associations(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("synth_associations") or {}
    columns = found.get("columns") or []
    if not columns:
        return section(anchor, title, para("No model beyond the baseline finished."))
    parts = [
        figure(
            heatmap(
                np.asarray(found["real"]),
                columns,
                columns,
                "Associations in the held-out real rows",
                "Pairwise association in [0, 1] between the columns of the held-out rows.",
                colorbar="association",
                vmin=0,
                vmax=1,
            ),
            "|Spearman| between numbers, Cramér's V between categories, the correlation ratio "
            "between a number and a category.",
        )
    ]
    for name, diff in found["differences"].items():
        label = data.title(name)
        parts.append(
            figure(
                heatmap(
                    np.asarray(diff),
                    columns,
                    columns,
                    f"{label}: generated minus real",
                    f"Association in {label}'s generated rows minus the real one, per pair.",
                    colorbar="difference",
                    cmap="RdBu_r",
                    vmin=-1,
                    vmax=1,
                ),
                f"{label} ({data.kind(name).upper()}): red, a pair more associated than in the "
                "real rows; blue, less; white, as real.",
            )
        )
    return section(anchor, title, "".join(parts))
