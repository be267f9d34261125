"""Report sections of a dimensionality-reduction run: every model's metrics on the held-out
rows, and 2-D maps of those rows for the best classical and the best deep embedding (from the
analysis's ``embeddings`` and ``maps`` sections)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from mlvsdl.report.html import badge, esc, figure, fmt_num, para, section, table
from mlvsdl.report.plots import KIND_COLOURS, PALETTE, to_svg

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["embeddings", "maps", "scatter_maps"]

COLUMNS = (
    ("knn_accuracy", "kNN accuracy"),
    ("trustworthiness", "Trustworthiness"),
    ("continuity", "Continuity"),
    ("reconstruction_error", "Reconstruction MSE"),
)
LEGEND_MAX = 12  # label values listed in a map's legend, at most


def embeddings(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("embeddings")
    if not found or not found.get("models"):
        return section(anchor, title, para("No model finished, so there is nothing to show."))
    shown = [(k, t) for k, t in COLUMNS if any(k in m["test"] for m in found["models"].values())]
    rows = []
    for name, m in found["models"].items():
        cells = [esc(data.title(name)), badge(m["kind"])]
        cells += [fmt_num(m["test"].get(k)) for k, _ in shown]
        cells.append(esc(m["input_space"]))
        rows.append(cells)
    header = ["Model", "Kind", *(t for _, t in shown), "Measured against"]
    label = found.get("label")
    intro = (
        f"Every model reduced the rows to {found['dims']} coordinates, fitted on the training "
        f"rows alone; the metrics are on the {found['n_test']} held-out test rows, in ranking "
        f"order ({esc(found['primary'])} on the validation folds). Trustworthiness: are rows "
        "near in the embedding near in the input (10 neighbours; 1 is perfect)? Continuity: "
        "are input neighbours kept? Reconstruction MSE: mean squared error per input feature "
        "of the inverse (only models that have one), lower is better."
    )
    if label:
        intro += (
            f" kNN accuracy: a 10-nearest-neighbour vote in the embedding predicting "
            f"{esc(label)!s} (read for evaluation only), what a downstream model would gain."
        )
    note = para(
        "Metrics are measured in each model's own input space: the encoding every family of "
        "this modality shares, except the MiniLM family (its sentence embedding), whose "
        "trustworthiness and reconstruction error are therefore not comparable with the others'."
    )
    body = table(header, rows, numeric=set(range(2, 2 + len(shown))), raw=True) + note
    return section(anchor, title, body, intro)


def maps(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("maps")
    if not found or not found.get("maps"):
        return section(anchor, title, para("No embedding besides the baseline finished."))
    svg = scatter_maps(
        found,
        {m["model"]: data.title(m["model"]) for m in found["maps"].values()},
        "Held-out rows in two dimensions",
        "Each point is a held-out row placed by the best classical and the best deep "
        "embedding" + (f", coloured by {found['label']}." if found.get("label") else "."),
    )
    hows = "; ".join(
        f"{esc(data.title(m['model']))}: {esc(m['how'])}" for m in found["maps"].values()
    )
    caption = (
        f"{found['n_rows']} held-out rows (a seeded sample) as placed by each embedding ({hows}). "
        "t-SNE only draws a map of coordinates it is given: it has no transform for new rows, "
        "so it is not a family."
    )
    return section(anchor, title, figure(svg, caption))


def scatter_maps(found: dict[str, Any], titles: dict[str, str], title: str, desc: str) -> str:
    """One panel per map (best ML, best DL), points coloured by label (else by kind)."""
    entries = list(found["maps"].items())
    labels = found.get("labels")
    values = sorted(set(labels)) if labels else []
    codes = np.array([values.index(v) for v in labels]) if labels else None
    with mpl.rc_context({"font.size": 9.0, "svg.fonttype": "none", "svg.hashsalt": "mlvsdl"}):
        fig = Figure(figsize=(3.6 * len(entries) + 1.2, 3.6), layout="constrained")
        axes = fig.subplots(1, len(entries), squeeze=False)[0]
        colour_of = _label_colours(len(values))
        for ax, (kind, entry) in zip(axes, entries, strict=True):
            if codes is None:
                colours: Any = KIND_COLOURS.get(kind, "#555")
            else:
                colours = [colour_of(c) for c in codes]
            ax.scatter(entry["x"], entry["y"], s=6, c=colours, alpha=0.7, rasterized=True)
            ax.set_title(f"{titles.get(entry['model'], entry['model'])} ({kind.upper()})")
            ax.set_xticks([])
            ax.set_yticks([])
        if codes is not None and len(values) <= LEGEND_MAX:
            from matplotlib.lines import Line2D

            handles = [
                Line2D([], [], marker="o", ls="", color=colour_of(i), label=v)
                for i, v in enumerate(values)
            ]
            axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.suptitle(title)
    return to_svg(fig, title, desc)


def _label_colours(n_values: int) -> Any:
    """One colour per label code, the same for the points and the legend: the report's palette
    for up to 8 values, else matplotlib's tab10 / tab20 (repeating beyond 20)."""
    if n_values <= len(PALETTE):
        return lambda code: PALETTE[code]
    cmap = mpl.colormaps["tab10" if n_values <= 10 else "tab20"]
    return lambda code: cmap(code % cmap.N)
