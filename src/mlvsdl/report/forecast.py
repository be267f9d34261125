"""Report sections of a forecasting run: the test window drawn per series (actuals, the best
classical model's and the best network's forecasts with their 80 % intervals, the seasonal naive
baseline), the errors by step ahead and by series (from the analysis's ``backtest``,
``horizon_errors`` and ``series_errors`` sections)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlvsdl.report.html import badge, esc, figure, fmt_num, para, section, table
from mlvsdl.report.plots import KIND_COLOURS, _figure, to_svg

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["backtest", "horizon_errors", "series_errors"]

BASELINE_COLOUR = "#777"


def _colour(entry: dict[str, Any], baseline: bool) -> str:
    return BASELINE_COLOUR if baseline else KIND_COLOURS.get(entry.get("kind", "ml"), "#333")


def _series_plot(data: ReportData, entry: dict[str, Any], baseline: str | None) -> str:
    fig, axes = _figure(7.0, 3.2)
    ax = axes[0]
    n_hist = len(entry["history"])
    xs_hist = list(range(n_hist))
    xs = list(range(n_hist, n_hist + len(entry["actual"])))
    ax.plot(xs_hist + xs, entry["history"] + entry["actual"], color="#111", lw=1.4, label="actual")
    for name, fc in entry["forecasts"].items():
        is_base = name == baseline
        colour = _colour(fc, is_base)
        label = f"{data.title(name)} ({'baseline' if is_base else fc['kind'].upper()})"
        ax.plot(xs, fc["forecast"], color=colour, lw=1.4, ls="--" if is_base else "-", label=label)
        if not is_base:
            ax.fill_between(xs, fc["lower_80"], fc["upper_80"], color=colour, alpha=0.15, lw=0)
    ax.axvline(n_hist - 0.5, color="#999", lw=0.8, ls=":")
    ticks = [0, n_hist, n_hist + len(xs) - 1]
    labels = [entry["history_time"][0] if n_hist else "", entry["time"][0], entry["time"][-1]]
    ax.set_xticks(ticks[: len(labels)], [str(t)[:10] for t in labels])
    ax.set_title(f"series {entry['series']}" if entry["series"] else "the series")
    ax.legend(fontsize=7, loc="best")
    return to_svg(
        fig,
        f"Test window of series {entry['series']}",
        "Actual values before and in the test window, with each shown model's forecast and its "
        "80 % interval (shaded), and the seasonal naive baseline (dashed).",
    )


def backtest(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("backtest")
    if not found or not found.get("series"):
        return section(anchor, title, para("No forecast of the test window was analysed."))
    parts = [
        figure(
            _series_plot(data, entry, found.get("baseline")),
            f"Series {esc(entry['series'])}: the last points before the test window and the "
            "window itself; each model was fitted on every point before the dotted line.",
        )
        for entry in found["series"]
    ]
    intro = (
        f"The last {found['horizon']} points of every series are the test window, forecast once "
        "by each kept model after the models were ranked on the earlier windows. Shown: the best "
        "classical model (blue), the best network (orange), their 80 % intervals, and the "
        "seasonal naive baseline (grey, dashed)."
    )
    return section(anchor, title, "".join(parts), intro)


def horizon_errors(data: ReportData, anchor: str, title: str) -> str:
    found = (data.section("horizon_errors") or {}).get("models", {})
    if not found:
        return section(anchor, title, para("No errors by step were analysed."))
    steps = sorted({int(h) for m in found.values() for h in m["steps"]})
    fig, axes = _figure(7.0, 3.2)
    ax = axes[0]
    rows = []
    for name, entry in found.items():
        values = [entry["steps"].get(str(h), entry["steps"].get(h, {})).get("mase") for h in steps]
        baseline = name == "dummy"
        colour = BASELINE_COLOUR if baseline else KIND_COLOURS.get(entry["kind"], "#333")
        ax.plot(steps, values, color=colour, lw=1.0, ls="--" if baseline else "-", alpha=0.8)
        rows.append(
            [esc(data.title(name)), badge(entry["kind"]), *(fmt_num(v, ".2f") for v in values)]
        )
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MASE")
    svg = to_svg(
        fig,
        "MASE by step ahead",
        "Each model's MASE on the test window by step ahead; classical models blue, networks "
        "orange, the baseline dashed.",
    )
    head = ["Model", "Kind", *(str(h) for h in steps)]
    return section(
        anchor,
        title,
        figure(svg, "MASE on the test window by step ahead.") + table(head, rows),
        "Errors usually grow with the step; a model that wins on the first steps may lose later.",
    )


def series_errors(data: ReportData, anchor: str, title: str) -> str:
    found = data.section("series_errors") or {}
    if not found.get("series"):
        return section(anchor, title, para("No errors by series were analysed."))
    names = list(found["mase"])
    head = ["Series", *(esc(data.title(n)) for n in names)]
    rows = [
        [esc(sid), *(fmt_num(found["mase"][n].get(sid), ".2f") for n in names)]
        for sid in found["series"]
    ]
    best = found.get("best")
    intro = (
        f"MASE on the test window per series ({found['n_series']} series; listed: the "
        f"{len(found['series'])} where {esc(data.title(best)) if best else 'the best model'} "
        "does worst). Below 1, a model beats the in-sample seasonal naive error."
    )
    return section(anchor, title, table(head, rows), intro)
