"""Plots for the report: matplotlib figures rendered to inline, accessible SVG.

No pyplot (no global state, no GUI backend): each plot builds a ``Figure`` and :func:`to_svg`
turns it into an ``<svg role="img">`` element carrying a ``<title>`` and a ``<desc>`` (the alt
text), with its element ids prefixed so that many plots can share one page. Text stays text
(``svg.fonttype = none``), so the page is small, searchable and readable by screen readers.

Every function takes plain data (what the store holds) and returns an SVG string.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "bar_scores",
    "confusion",
    "dumbbell",
    "heatmap",
    "learning_curves",
    "network_histories",
    "pareto",
    "pr_curves",
    "regression_errors",
    "roc_curves",
    "score_histograms",
    "to_svg",
]

KIND_COLOURS = {"ml": "#1f6fb4", "dl": "#d9541e"}
PALETTE = ["#1f6fb4", "#d9541e", "#2a9d55", "#8e44ad", "#b8860b", "#17a2b8", "#c0392b", "#555"]
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "mlvsdl",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_counter = itertools.count(1)


def _figure(width: float = 7.0, height: float = 3.8, ncols: int = 1) -> tuple[Figure, Any]:
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def to_svg(fig: Figure, title: str, desc: str) -> str:
    """The figure as an inline ``<svg>`` with ``role="img"``, ``<title>`` and ``<desc>``."""
    buffer = io.StringIO()
    with mpl.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    prefix = f"p{next(_counter)}-"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    tid, did = f"{prefix}title", f"{prefix}desc"
    end = text.index(">") + 1
    attrs = text[len("<svg") : end - 1]
    return (
        f'<svg role="img" aria-labelledby="{tid} {did}" class="plot"{attrs}>'
        f'<title id="{tid}">{_esc(title)}</title><desc id="{did}">{_esc(desc)}</desc>' + text[end:]
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def bar_scores(
    rows: Sequence[dict[str, Any]], metric: str, higher_better: bool, title: str, desc: str
) -> str:
    """Horizontal bars of cross-validated score ± std per model, coloured by kind."""
    fig, (ax,) = _figure(7.0, 0.5 + 0.32 * max(len(rows), 2))
    labels = [r["label"] for r in rows][::-1]
    values = [r["score"] for r in rows][::-1]
    errors = [r.get("std") or 0.0 for r in rows][::-1]
    colours = [KIND_COLOURS.get(r["kind"], "#777") for r in rows][::-1]
    ax.barh(labels, values, xerr=errors, color=colours, alpha=0.85, capsize=3)
    tests = [r.get("test") for r in rows][::-1]
    ys = [i for i, t in enumerate(tests) if t is not None]
    ax.scatter([tests[i] for i in ys], ys, marker="|", s=200, color="#111", zorder=3, label="test")
    low = min([v for v in values if v is not None] + [t for t in tests if t is not None])
    high = max([v for v in values if v is not None] + [t for t in tests if t is not None])
    pad = (high - low) * 0.15 + 1e-3
    ax.set_xlim(low - pad, high + pad)
    direction = "higher is better" if higher_better else "lower is better"
    ax.set_xlabel(f"{metric} ({direction}); bars: cross-validated mean ± std, |: test")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    _kind_legend(ax, extra="test")
    return to_svg(fig, title, desc)


def _kind_legend(ax: Any, extra: str | None = None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(color=KIND_COLOURS["ml"], label="classical ML"),
        Patch(color=KIND_COLOURS["dl"], label="deep learning"),
    ]
    if extra:
        handles.append(Line2D([], [], marker="|", ls="", color="#111", markersize=12, label=extra))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def learning_curves(
    curves: dict[str, dict[str, Any]],
    metric: str,
    n_train: int,
    crossover: dict[str, Any] | None,
    title: str,
    desc: str,
) -> str:
    """Measured points (mean ± spread over seeds), fitted power laws with bands, the crossover."""
    fig, (ax,) = _figure(7.4, 4.4)
    for i, entry in enumerate(curves.values()):
        colour, dashed = _colour(i), entry["kind"] == "dl"
        n, mean, spread = _points(entry["points"])
        ax.errorbar(n, mean, yerr=spread, fmt="s" if dashed else "o", color=colour, ms=5, capsize=2)
        grid = entry.get("grid")
        if grid:
            ax.plot(
                grid["n"],
                grid["score"],
                ls="--" if dashed else "-",
                color=colour,
                label=f"{entry['title']} ({entry['kind'].upper()})",
            )
            ax.fill_between(grid["n"], grid["low"], grid["high"], color=colour, alpha=0.12, lw=0)
        else:
            ax.plot(n, mean, ls=":", color=colour, label=f"{entry['title']} (no fit)")
    ax.axvline(n_train, color="#444", lw=1, ls=":")
    ax.annotate(
        "this run's training rows",
        (n_train, 0.02),
        xycoords=("data", "axes fraction"),
        rotation=90,
        fontsize=8,
        ha="right",
        va="bottom",
        color="#444",
    )
    if crossover and crossover.get("n_estimate") and crossover.get("share_crossing", 0) >= 0.5:
        low = crossover.get("n_low") or crossover["n_estimate"]
        high = crossover.get("n_high") or crossover["n_end"]
        ax.axvspan(low, high, color="#f2c94c", alpha=0.25, lw=0, label="crossover (80% band)")
        ax.axvline(crossover["n_estimate"], color="#b8860b", lw=1.5)
    _log_axis(ax.xaxis)
    ax.set_xlabel("training rows (log scale)")
    ax.set_ylabel(f"{metric} on held-out rows")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.85)
    return to_svg(fig, title, desc)


def _log_axis(axis: Any) -> None:
    """Log scale with plain-number labels at 1, 2 and 5 of each decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.axes.set_xscale("log")
    low, high = axis.axes.get_xlim()
    if low > 0 and high / low < 5:  # widen a narrow range so that 1-2-5 ticks fall inside it
        middle = (low * high) ** 0.5
        axis.axes.set_xlim(middle / 2.5, middle * 2.5)
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _plain_number(v)))
    axis.set_minor_formatter(NullFormatter())


def _plain_number(value: float) -> str:
    """Tick labels without exponents: 2,000 / 11.2 / 0.05."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.2g}"


def _points(points: list[dict[str, Any]]) -> tuple[list[float], list[float], list[float]]:
    by_n: dict[int, list[float]] = {}
    for p in points:
        by_n.setdefault(int(p["n"]), []).append(float(p["score"]))
    sizes = sorted(by_n)
    return (
        sizes,
        [float(np.mean(by_n[n])) for n in sizes],
        [float(np.std(by_n[n])) for n in sizes],
    )


def pareto(
    rows: Sequence[dict[str, Any]], metric: str, higher_better: bool, title: str, desc: str
) -> str:
    """Score versus single-row latency and versus fit time, Pareto front highlighted."""
    fig, axes = _figure(8.6, 3.9, ncols=2)
    for ax, key, label in (
        (axes[0], "latency_ms", "prediction latency for one row, p50 (ms, log scale)"),
        (axes[1], "fit_time_s", "fit time on the training part (s, log scale)"),
    ):
        usable = [r for r in rows if r.get(key) and r.get("score") is not None]
        for r in usable:
            ax.scatter(
                r[key],
                r["score"],
                color=KIND_COLOURS.get(r["kind"], "#777"),
                s=36,
                marker="s" if r["kind"] == "dl" else "o",
                zorder=3,
            )
            ax.annotate(
                r["label"],
                (r[key], r["score"]),
                fontsize=7.5,
                xytext=(4, 3),
                textcoords="offset points",
            )
        front = _front([(r[key], r["score"]) for r in usable], higher_better)
        if len(front) > 1:
            ax.step(
                *zip(*front, strict=True),
                where="post",
                color="#2a9d55",
                lw=1.2,
                label="Pareto front",
            )
            ax.legend(fontsize=8, loc="best")
        _log_axis(ax.xaxis)
        ax.set_xlabel(label)
        ax.set_ylabel(f"cross-validated {metric}")
    fig.suptitle(title, fontsize=11)
    return to_svg(fig, title, desc)


def _front(points: list[tuple[float, float]], higher_better: bool) -> list[tuple[float, float]]:
    """Points no other point beats on both cost (lower) and score, sorted by cost."""
    sign = 1 if higher_better else -1
    front, best = [], -np.inf
    for cost, score in sorted(points):
        if sign * score > best:
            front.append((cost, score))
            best = sign * score
    return front


def heatmap(
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    title: str,
    desc: str,
    *,
    colorbar: str,
    fmt: str = ".2f",
    cmap: str = "Blues",
    vmin: float | None = None,
    vmax: float | None = None,
    xlabel: str = "",
    ylabel: str = "",
    notes: np.ndarray | None = None,
) -> str:
    """A labelled heatmap; cells annotated when the matrix is small enough to read (with
    ``notes[i, j]`` as a second line where given)."""
    width = min(max(5.5, 2.2 + 0.55 * len(cols)), 9.0)
    fig, (ax,) = _figure(width, min(max(2.6, 1.4 + 0.34 * len(rows)), 9.0))
    data = np.ma.masked_invalid(np.asarray(matrix, dtype=float))
    image = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.grid(False)
    if len(cols) <= 30:
        ax.set_xticks(range(len(cols)), labels=cols, rotation=35, ha="right", fontsize=8)
    if len(rows) <= 40:
        ax.set_yticks(range(len(rows)), labels=rows, fontsize=8)
    if len(rows) * len(cols) <= 160:
        limit = np.nanmax(np.abs(data)) if data.count() else 1.0
        for (i, j), value in np.ndenumerate(np.asarray(matrix, dtype=float)):
            if np.isfinite(value):
                dark = abs(value) > 0.6 * limit
                note = f"\n({notes[i, j]})" if notes is not None else ""
                ax.text(
                    j,
                    i,
                    format(value, fmt) + note,
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if dark else "#111",
                )
    fig.colorbar(image, ax=ax, label=colorbar, shrink=0.9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return to_svg(fig, title, desc)


def dumbbell(rows: Sequence[dict[str, Any]], metric: str, title: str, desc: str) -> str:
    """Training versus cross-validated score per model, joined by a line (the gap)."""
    fig, (ax,) = _figure(7.0, 0.7 + 0.34 * max(len(rows), 2))
    for i, r in enumerate(rows[::-1]):
        colour = KIND_COLOURS.get(r["kind"], "#777")
        ax.plot([r["cv"], r["train"]], [i, i], color=colour, lw=2, alpha=0.6)
        ax.scatter([r["cv"]], [i], color=colour, s=40, zorder=3, marker="o")
        ax.scatter([r["train"]], [i], color="white", edgecolor=colour, s=40, zorder=3)
    ax.set_yticks(range(len(rows)), labels=[r["label"] for r in rows[::-1]])
    ax.set_xlabel(f"{metric} — filled: cross-validated, hollow: on the training rows")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return to_svg(fig, title, desc)


def network_histories(histories: dict[str, dict[str, Any]], title: str, desc: str) -> str:
    """Training and validation loss per epoch for each network, best epoch marked."""
    fig, axes = _figure(min(3.8 * len(histories), 9.0) + 0.4, 3.4, ncols=len(histories))
    for ax, (label, entry) in zip(axes, histories.items(), strict=True):
        epochs = [h["epoch"] for h in entry["history"]]
        ax.plot(
            epochs,
            [h["train_loss"] for h in entry["history"]],
            label="training loss",
            color=KIND_COLOURS["ml"],
        )
        val = [h.get("val_loss") for h in entry["history"]]
        if any(v is not None for v in val):
            ax.plot(
                epochs,
                [np.nan if v is None else v for v in val],
                label="validation loss",
                color=KIND_COLOURS["dl"],
            )
        if entry.get("best_epoch"):
            ax.axvline(entry["best_epoch"], color="#444", ls=":", lw=1, label="best epoch (kept)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (nats; MSE for regression)")
        reason = str(entry.get("stop_reason", "?")).replace("_", " ")
        ax.set_title(f"{label}: stopped by {reason}", fontsize=9.5)
        ax.legend(fontsize=7.5)
    fig.suptitle(title, fontsize=11)
    return to_svg(fig, title, desc)


def confusion(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str, desc: str) -> str:
    """Row-normalized confusion matrix (recall per true class); counts annotated when small."""
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return heatmap(
        share,
        [str(x) for x in labels],
        [str(x) for x in labels],
        title,
        desc,
        colorbar="share of the true class's rows",
        fmt=".2f",
        notes=counts.astype(int) if len(labels) <= 6 else None,
        vmin=0,
        vmax=1,
        xlabel="predicted class",
        ylabel="true class",
    )


def roc_curves(curves: dict[str, dict[str, Any]], title: str, desc: str) -> str:
    """ROC curves of every model on the test rows."""
    fig, (ax,) = _figure(5.2, 4.2)
    for i, (label, entry) in enumerate(curves.items()):
        dashed = entry["kind"] == "dl"
        ax.plot(
            entry["fpr"],
            entry["tpr"],
            color=_colour(i),
            ls="--" if dashed else "-",
            label=label,
            lw=1.4,
        )
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls=":")
    ax.set_xlabel("false positive rate (share of negatives flagged)")
    ax.set_ylabel("true positive rate (share of positives found)")
    ax.set_title(title)
    ax.legend(fontsize=7.5, loc="lower right")
    return to_svg(fig, title, desc)


def pr_curves(curves: dict[str, dict[str, Any]], base_rate: float, title: str, desc: str) -> str:
    """Precision-recall curves of every detector on the test rows (DL dashed), with the share of
    anomalies (what scoring at random gives) as a dotted line."""
    fig, (ax,) = _figure(5.2, 4.2)
    for i, (label, entry) in enumerate(curves.items()):
        ax.plot(
            entry["recall"],
            entry["precision"],
            color=_colour(i),
            ls="--" if entry["kind"] == "dl" else "-",
            label=label,
            lw=1.4,
            drawstyle="steps-post",
        )
    ax.axhline(base_rate, color="#999", lw=0.8, ls=":")
    ax.set_xlabel("recall (share of anomalies found)")
    ax.set_ylabel("precision (share of flagged rows that are anomalies)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=7.5, loc="upper right")
    return to_svg(fig, title, desc)


def score_histograms(
    models: dict[str, dict[str, Any]], title: str, desc: str, ncols: int = 2
) -> str:
    """Per detector, its anomaly scores on the test rows: normal and anomalous rows apart when
    labelled (anomalous in orange), else all rows."""
    names = list(models)
    nrows = (len(names) + ncols - 1) // ncols
    fig = Figure(figsize=(7.0, 2.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        entry = models[name]
        edges = np.asarray(entry["bins"])
        width = np.diff(edges)
        if "normal" in entry:
            ax.bar(edges[:-1], entry["normal"], width, align="edge", color="#1f6fb4", alpha=0.6)
            ax.bar(edges[:-1], entry["anomalous"], width, align="edge", color="#d9541e", alpha=0.7)
        else:
            ax.bar(edges[:-1], entry["all"], width, align="edge", color="#555", alpha=0.7)
        ax.set_yscale("symlog", linthresh=1)
        ax.set_title(f"{name} ({entry['kind'].upper()})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title, desc)


def regression_errors(entry: dict[str, Any], unit: str, title: str, desc: str) -> str:
    """Predicted versus true (2-D histogram) and the residual histogram."""
    fig, axes = _figure(8.6, 3.8, ncols=2)
    edges = np.asarray(entry["edges"])
    counts = np.asarray(entry["counts"], dtype=float).T  # rows: predicted, cols: true
    axes[0].pcolormesh(edges, edges, np.ma.masked_equal(counts, 0), cmap="Blues")
    axes[0].plot([edges[0], edges[-1]], [edges[0], edges[-1]], color="#d9541e", lw=1, ls="--")
    axes[0].set_xlabel(f"true value ({unit})")
    axes[0].set_ylabel(f"predicted value ({unit})")
    axes[0].set_title("predicted vs true (test rows)", fontsize=9.5)
    r_edges = np.asarray(entry["residual_edges"])
    axes[1].stairs(entry["residual_counts"], r_edges, fill=True, color="#1f6fb4", alpha=0.8)
    axes[1].axvline(0, color="#d9541e", lw=1, ls="--")
    axes[1].set_xlabel(f"residual = predicted - true ({unit})")
    axes[1].set_ylabel("test rows")
    axes[1].set_title("residuals", fontsize=9.5)
    fig.suptitle(title, fontsize=11)
    return to_svg(fig, title, desc)
