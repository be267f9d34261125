"""Report sections about how the models work: transparency, overfitting and errors on held-out
rows (feature engineering: :mod:`~mlvsdl.report.engineering`; text and image explanations:
:mod:`~mlvsdl.report.media`). Each builder takes :class:`~mlvsdl.report.build.ReportData`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlvsdl.report import media, plots
from mlvsdl.report.html import badge, esc, figure, fmt_num, para, section, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["errors", "overfitting", "transparency"]

TOP_FEATURES = 12


def transparency(data: ReportData, anchor: str, title: str) -> str:
    imp = data.section("importance") or {}
    models = {k: v for k, v in (imp.get("models") or {}).items() if data.kind(k) and k != "dummy"}
    if not models:
        return section(anchor, title, para("No importance was measured for this run."))
    names = [c["name"] for c in data.done if c["name"] in models]
    features = _top_features(models, names)
    perm = np.array(
        [[models[n]["permutation_mean"].get(f, np.nan) for f in features] for n in names]
    )
    labels = [data.title(n) for n in names]
    desc = _importance_desc(data, models, names)
    parts = [_labels_table(data, models, names)]
    svg = plots.heatmap(
        perm,
        labels,
        features,
        f"Permutation importance (drop in {data.metric.title})",
        desc,
        colorbar=f"{data.metric.title} lost",
        fmt=".3f",
        cmap="Blues",
        vmin=0,
    )
    parts.append(
        figure(
            svg,
            f"Model-agnostic and comparable across models: how much "
            f"{data.metric.title} each model loses on {_rows(models)} held-out rows "
            "when one column's values are shuffled (mean over repeats).",
        )
    )
    parts.append(_native_figure(data, models, names, features))
    parts.append(_agreement(data, imp.get("agreement")))
    parts.append(media.attention(data))
    parts.append(_examples(data))
    intro = (
        "Which inputs each model relies on, in one comparable format (permutation importance), "
        "beside each family's own view where it has one, and how far the families agree."
    )
    return section(anchor, title, "".join(p for p in parts if p), intro)


def _native_figure(
    data: ReportData, models: dict[str, Any], names: list[str], features: list[str]
) -> str:
    native = [n for n in names if models[n].get("native")]
    if not native:
        return ""
    matrix = np.array([[models[n]["native"].get(f, np.nan) for f in features] for n in native])
    desc = "Native importance shares: " + "; ".join(
        f"{data.title(n)} ({models[n]['native_method']}) ranks "
        f"{', '.join(_top(models[n]['native'], 3))} first"
        for n in native
    )
    svg = plots.heatmap(
        matrix,
        [data.title(n) for n in native],
        features,
        "Each family's own view (share of its total)",
        desc,
        colorbar="share of total",
        cmap="Greens",
        vmin=0,
    )
    methods = "; ".join(f"{data.title(n)}: {models[n]['native_method']}" for n in native)
    return figure(svg, f"Native views, normalized to shares of 1. {methods}.")


def _rows(models: dict[str, Any]) -> str:
    return f"{next(iter(models.values())).get('n_rows', 0):,}"


def _top_features(models: dict[str, Any], names: list[str]) -> list[str]:
    total: dict[str, float] = {}
    for n in names:
        values = models[n]["permutation_mean"]
        scale = max(max(values.values(), default=0.0), 1e-12)
        for f, v in values.items():
            total[f] = total.get(f, 0.0) + max(v, 0.0) / scale
    return sorted(total, key=lambda f: -total[f])[:TOP_FEATURES]


def _top(values: dict[str, float], k: int) -> list[str]:
    return [f for f, _ in sorted(values.items(), key=lambda item: -item[1])[:k]]


def _importance_desc(data: ReportData, models: dict[str, Any], names: list[str]) -> str:
    return (
        "Heatmap of permutation importance. "
        + "; ".join(
            f"{data.title(n)} relies most on {', '.join(_top(models[n]['permutation_mean'], 3))}"
            for n in names
        )
        + "."
    )


def _labels_table(data: ReportData, models: dict[str, Any], names: list[str]) -> str:
    rows, views = [], media.native_views(data)
    for n in names:
        intrinsic = data.interpretable.get(n, False)
        native = models[n].get("native_method") or views.get(n) or "permutation importance only"
        rows.append(
            [
                f"{badge(data.kind(n))}{esc(data.title(n))}",
                "intrinsically interpretable" if intrinsic else "explained post hoc",
                esc(native),
                esc(", ".join(_top(models[n]["permutation_mean"], 3))),
            ]
        )
    return table(["model", "reading", "native view", "top 3 columns (permutation)"], rows, raw=True)


def _agreement(data: ReportData, agree: dict[str, Any] | None) -> str:
    if not agree:
        return para("Too few models with signal to measure agreement.", "note")
    labels = [data.title(n) for n in agree["models"]]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in agree["spearman"]])
    mean = agree.get("mean_spearman")
    text = _agreement_text(data, agree)
    svg = plots.heatmap(
        matrix,
        labels,
        labels,
        "Agreement: Spearman correlation of importances",
        text,
        colorbar="Spearman ρ",
        cmap="RdBu",
        vmin=-1,
        vmax=1,
    )
    verdict = "" if mean is None else f"<p><strong>{esc(text)}</strong></p>"
    return verdict + figure(svg, "1 = same ranking of the columns, 0 = unrelated, -1 = reversed.")


def _agreement_text(data: ReportData, agree: dict[str, Any]) -> str:
    mean, mixed = agree.get("mean_spearman"), agree.get("mean_spearman_ml_dl")
    if mean is None:
        return "Agreement could not be measured."
    level = "largely agree" if mean >= 0.7 else "partly agree" if mean >= 0.4 else "disagree"
    text = f"The models {level} on what matters (mean pairwise Spearman correlation {mean:.2f}"
    text += f"; between ML and DL models {mixed:.2f})." if mixed is not None else ")."
    if agree.get("consensus_top"):
        text += f" Most put {_and(agree['consensus_top'])} in their top three."
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _examples(data: ReportData) -> str:
    ex = data.section("examples")
    if not ex or not ex.get("models"):
        reason = (ex or {}).get("reason")
        return para(f"Per-row explanations: {reason}.", "note") if reason else ""
    if ex.get("modality") in ("text", "image"):
        return media.examples(data, ex)
    blocks = []
    for name, e in ex["models"].items():
        rows = [
            [esc(c["feature"]), esc(c["value"]), _signed(c["contribution"])]
            for c in e["contributions"]
        ]
        caption = (
            f"{data.title(name)} predicts {e['prediction']}; contributions to "
            f"{e['explained']} ({e['unit']}), by {e['method']}"
        )
        blocks.append(
            table(
                ["column", "value", "contribution"], rows, caption=caption, raw=True, numeric=(2,)
            )
        )
    note = (
        f"Test row {ex['row']}, relative to a typical training row (medians and most frequent "
        "values). Explain any row with: mlvsdl explain RUN --row N."
    )
    head = f"<h3>One held-out row explained</h3>{para(note, 'note')}"
    return head + f'<div class="grid2">{"".join(blocks)}</div>'


def _signed(value: float) -> str:
    cls = "pos" if value > 0 else "neg"
    return f'<span class="{cls}">{value:+.4f}</span>'


def overfitting(data: ReportData, anchor: str, title: str) -> str:
    over = data.section("overfitting") or {}
    rows, plot_rows = [], []
    for c in data.done:
        o = over.get(c["name"])
        if not o or o.get("train") is None or o.get("cv") is None:
            continue
        plot_rows.append(
            {"label": data.title(c["name"]), "kind": c["kind"], "train": o["train"], "cv": o["cv"]}
        )
        rows.append(
            [
                f"{badge(c['kind'])}{esc(data.title(c['name']))}",
                fmt_num(o["train"]),
                fmt_num(o["cv"]),
                fmt_num(o["test"]),
                fmt_num(o["gap"]),
            ]
        )
    parts = []
    if rows:
        desc = "Train versus cross-validated score: " + "; ".join(
            f"{r['label']} {r['train']:.4f} vs {r['cv']:.4f}" for r in plot_rows
        )
        parts.append(
            figure(
                plots.dumbbell(
                    plot_rows, data.metric.title, "Training versus validation score", desc
                ),
                "A long line means the model fits its training rows much better than unseen rows.",
            )
        )
        parts.append(
            table(
                ["model", "on training rows", "cross-validated", "test", "gap (train − CV)"],
                rows,
                raw=True,
                numeric=(1, 2, 3, 4),
            )
        )
    parts.append(_histories(data))
    return section(anchor, title, "".join(parts) or para("No scores to compare."))


def _histories(data: ReportData) -> str:
    nets = {
        data.title(c["name"]): c["details"]
        for c in data.done
        if (c.get("details") or {}).get("history")
    }
    if not nets:
        return ""
    nets = dict(list(nets.items())[:3])
    desc = "Loss per epoch: " + "; ".join(
        f"{n} trained {len(d['history'])} epochs, kept epoch {d.get('best_epoch')}, stopped by "
        f"{d.get('stop_reason')}"
        for n, d in nets.items()
    )
    svg = plots.network_histories(nets, "Network training curves", desc)
    return "<h3>Network training curves</h3>" + figure(
        svg,
        "Refit on the whole training part; the networks early-stop on a validation part "
        "carved from their own training rows and keep the best epoch's weights.",
    )


def errors(data: ReportData, anchor: str, title: str) -> str:
    diag = data.section("diagnostics") or {}
    shown = _shown_models(data)
    if not diag or not shown:
        return section(anchor, title, para("No diagnostics were computed for this run."))
    if data.schema.task.is_classification:
        parts = [_confusion_figure(data, name, diag[name]) for name in shown if diag.get(name)]
        parts.append(_roc_figure(data, diag))
    else:
        parts = [_residual_figure(data, name, diag[name]) for name in shown if diag.get(name)]
    return section(
        anchor,
        title,
        f'<div class="grid2">{"".join(parts)}</div>',
        "The recommended model and the best model of the other kind, on the test rows.",
    )


def _confusion_figure(data: ReportData, name: str, d: dict[str, Any]) -> str:
    accuracy = np.trace(np.asarray(d["confusion"])) / max(d["n_rows"], 1)
    desc = (
        f"Confusion matrix of {data.title(name)} on {d['n_rows']:,} test rows, "
        f"{len(d['labels'])} classes; accuracy {accuracy:.3f}."
    )
    svg = plots.confusion(
        d["labels"], d["confusion"], f"Confusion matrix: {data.title(name)}", desc
    )
    return figure(svg, "Rows: true class; each row sums to 1.") + _confused_pairs(d)


def _confused_pairs(d: dict[str, Any], top: int = 6) -> str:
    """The most frequent mistakes, for matrices too large to read cell by cell."""
    counts = np.asarray(d["confusion"])
    if len(counts) <= 6:
        return ""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    rows = [
        [str(d["labels"][i]), str(d["labels"][j]), f"{int(off[i, j]):,}"]
        for i, j in zip(*np.unravel_index(order, off.shape), strict=True)
        if off[i, j] > 0
    ]
    head = ["true class", "predicted as", "test rows"]
    return table(head, rows, caption="Most frequent mistakes", numeric=(2,))


def _roc_figure(data: ReportData, diag: dict[str, Any]) -> str:
    roc = {
        data.title(c["name"]): diag[c["name"]]["roc"] | {"kind": c["kind"]}
        for c in data.done
        if "roc" in diag.get(c["name"], {}) and c["family"] != "dummy"
    }
    if not roc:
        return ""
    svg = plots.roc_curves(roc, "ROC curves on the test rows", f"ROC curves of {', '.join(roc)}.")
    return figure(svg, "Dashed: deep learning. Up and to the left is better.")


def _residual_figure(data: ReportData, name: str, d: dict[str, Any]) -> str:
    q = d["residual_quantiles"]
    desc = (
        f"{data.title(name)} on {d['n_rows']:,} test rows: median residual "
        f"{q['p50']:.4g}, 90% of residuals between {q['p5']:.4g} and {q['p95']:.4g}."
    )
    unit = f"{data.run['target']} units"
    svg = plots.regression_errors(d, unit, f"Residuals: {data.title(name)}", desc)
    return figure(svg, desc)


def _shown_models(data: ReportData) -> list[str]:
    rec = (data.section("recommendation") or {}).get("model")
    done = [c for c in data.done if c["family"] != "dummy"]
    if not done:
        return []
    first = rec or done[0]["name"]
    other = next((c["name"] for c in done if c["kind"] != data.kind(first)), None)
    return [first, *([other] if other else [])]
