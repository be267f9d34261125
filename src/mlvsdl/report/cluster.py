"""Report sections of a clustering run: every clusterer's scores and rule, the profiles of the
best classical and deep clusterings, and the 2-D map (from the analysis's ``clusterers``,
``clusters`` and ``cluster_map`` sections and the stored metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from mlvsdl.report.html import badge, esc, figure, fmt_num, para, section, table
from mlvsdl.report.plots import to_svg

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["cluster_map", "clusterers", "clusters", "scatter_map"]

LABELLED = ("nmi", "ari", "cluster_accuracy")
INTERNAL = ("silhouette", "davies_bouldin", "calinski_harabasz", "stability")
TITLES = {
    "nmi": "NMI",
    "ari": "ARI",
    "cluster_accuracy": "Accuracy",
    "silhouette": "Silhouette",
    "davies_bouldin": "Davies-Bouldin ↓",
    "calinski_harabasz": "Calinski-Harabasz",
    "stability": "Stability",
}


def _test_metrics(data: ReportData) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in data.metrics:
        if row["split"] == "test":
            out.setdefault(row["candidate"], {})[row["metric"]] = row["value"]
        elif row["split"] == "cv" and row["metric"] == "stability":
            out.setdefault(row["candidate"], {}).setdefault("stability", row["value"])
    return out


def clusterers(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("clusterers") or {}
    models = found.get("models", {})
    if not data.done:
        return section(anchor, title, para("No clusterer finished, so there is nothing to show."))
    scores = _test_metrics(data)
    keys = [*LABELLED, *INTERNAL] if data.schema.label else list(INTERNAL)
    rows = []
    for cand in data.done:
        name = cand["name"]
        got = scores.get(name, {})
        entry = models.get(name, {})
        rows.append(
            [
                esc(data.title(name)),
                badge(cand["kind"]),
                *(fmt_num(got.get(k), ".3f") for k in keys),
                str(int(got["n_clusters"])) if "n_clusters" in got else "—",
                fmt_num(got.get("noise_share"), ".1%"),
                esc(entry.get("rule", "")),
            ]
        )
    header = ["Clusterer", "Kind", *(TITLES[k] for k in keys), "Clusters", "Noise", "k chosen"]
    numeric = set(range(2, 2 + len(keys) + 2))
    intro = (
        "Every model was fitted on the training rows alone; the held-out test rows were "
        "assigned by the fitted model, never refitted. "
        + (
            f"The label {data.schema.label!r} (read for evaluation only) scores them: normalized "
            "mutual information ranks them; accuracy matches clusters to classes one to one "
            "(Hungarian algorithm). "
            if data.schema.label
            else "With no label they are ranked by silhouette. "
        )
        + "Silhouette, Davies-Bouldin and Calinski-Harabasz are computed in one evaluation "
        "space shared by every model of the run (the encoded table, the pixels, or latent "
        "semantic analysis of the text), so they compare models that cluster in different "
        "spaces; stability is the mean adjusted Rand index between the fold models' "
        "assignments of the same training rows (validation, not test)."
    )
    return section(anchor, title, table(header, rows, numeric=numeric, raw=True), intro)


def clusters(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("clusters") or {}
    models = found.get("models", {})
    if not models:
        return section(anchor, title, para("No clusterer beyond the baseline finished."))
    parts = []
    for name, entry in models.items():
        rows = []
        for item in entry["clusters"]:
            rows.append(
                [
                    "noise" if item["cluster"] < 0 else str(item["cluster"]),
                    str(item["size"]),
                    f"{item['share']:.1%}",
                    _members(item) or esc(_apart(item)),
                    esc(_label(item)),
                ]
            )
        header = ["Cluster", "Rows", "Share", "What sets it apart", "Most common label"]
        parts.append(f"<h3>{esc(data.title(name))} {badge(data.kind(name))}</h3>")
        parts.append(table(header, rows, numeric={1, 2}, raw=True))
    intro = (
        "The held-out test rows as the best classical and the best deep clustering assign "
        "them. For tables: the numeric columns whose cluster mean lies furthest from the "
        "overall mean (z: in standard deviations) and the categories most over-represented; "
        "for text: the terms weighing most at the cluster's centre (LSA) and the texts nearest it; "
        "for images: the members nearest the centre."
    )
    return section(anchor, title, "".join(parts), intro)


def _apart(item: dict[str, Any]) -> str:
    if "terms" in item:
        texts = " / ".join(f"“{t}”" for t in item.get("texts", []))
        return f"terms: {', '.join(item['terms'])}" + (f" — nearest: {texts}" if texts else "")
    parts = []
    for c in item.get("columns", []):
        if "z" in c:
            parts.append(f"{c['column']}: mean {_num(c['cluster_mean'])} ({c['z']:+.2f} z)")
        else:
            parts.append(
                f"{c['column']} = {c['level']}: {c['cluster_share']:.0%} "
                f"(overall {c['overall_share']:.0%})"
            )
    return "; ".join(parts)


def _members(item: dict[str, Any]) -> str:
    if "members_png" not in item:
        return ""
    alt = f"the {item['members']} members nearest the centre of cluster {item['cluster']}"
    return (
        f'<img class="pixels" src="data:image/png;base64,{item["members_png"]}" alt="{esc(alt)}">'
    )


def _label(item: dict[str, Any]) -> str:
    if "label" not in item:
        return ""
    return f"{item['label']} ({item['label_share']:.0%})"


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def scatter_map(found: dict[str, Any], titles: dict[str, str], title: str, desc: str) -> str:
    """One panel per model (and the label): the 2-D points coloured by group."""
    panels = [(titles.get(n, n), v) for n, v in found["models"].items()]
    if "label" in found:
        panels.append(("label (evaluation only)", found["label"]))
    fig = Figure(figsize=(3.4 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    x, y = np.asarray(found["x"]), np.asarray(found["y"])
    for ax, (name, groups) in zip(axes, panels, strict=True):
        codes = {g: i for i, g in enumerate(sorted(set(map(str, groups))))}
        colours = np.asarray([codes[str(g)] for g in groups])
        noise = np.asarray([str(g) == "-1" for g in groups])
        ax.scatter(x[~noise], y[~noise], c=colours[~noise], cmap="tab10", s=6, linewidths=0)
        if noise.any():
            ax.scatter(x[noise], y[noise], c="#bbbbbb", s=4, linewidths=0)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return to_svg(fig, title, desc)


def cluster_map(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("cluster_map")
    if not found:
        return section(anchor, title, para("No map: no clusterer beyond the baseline finished."))
    svg = scatter_map(
        found,
        {n: data.title(n) for n in found["models"]},
        "The held-out rows in two dimensions",
        "Held-out test rows on the first two principal components of the evaluation space, "
        "coloured by each model's clusters (noise grey) and by the label when there is one.",
    )
    caption = (
        f"{len(found['x'])} held-out rows; {found['method']}. Colours are arbitrary per panel: "
        "compare the groupings, not the colours."
    )
    return section(anchor, title, figure(svg, caption))
