"""Report sections about the outcome: header, recommendation, leaderboard, learning curves, cost,
provenance. Each builder takes :class:`~mlvsdl.report.build.ReportData` and returns HTML."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlvsdl.report import plots
from mlvsdl.report.html import (
    badge,
    esc,
    figure,
    fmt_bytes,
    fmt_int,
    fmt_ms,
    fmt_num,
    fmt_s,
    para,
    section,
    table,
)

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["cost", "header", "leaderboard", "learning_curves", "provenance", "recommendation"]

KIND_NAMES = {"ml": "Classical machine learning", "dl": "Deep learning"}


def header(data: ReportData) -> str:
    run, settings = data.run, data.run["settings"]
    source = str(run["source"])
    status = "completed" if run["status"] == "completed" else f"{run['status']} (unfinished)"
    schema = data.schema
    if schema.target:
        goal, aim = ("Target", f"{schema.target} ({run['task']})"), schema.target
    elif schema.label:
        goal = ("Label", f"{schema.label}, for evaluation only ({run['task']})")
        aim = f"{run['task']} ({schema.label} = {schema.options.get('anomaly_value')!r})"
    else:
        goal, aim = ("Task", f"{run['task']}, no label"), str(run["task"])
    facts = [
        ("Data", os.path.basename(source) or source),
        goal,
        (
            "Rows",
            f"{run['n_rows']:,} ({settings.get('n_train', 0):,} train, "
            f"{settings.get('n_test', 0):,} test)",
        ),
        ("Ranked by", f"cross-validated {data.metric.title}"),
        ("Validation", _validation_text(settings.get("n_folds"))),
        ("Models", f"{len(data.done)} trained of {len(data.candidates)} tried"),
        ("Created", str(run["created_at"]).replace("T", " ")),
        ("Status", status),
    ]
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    return (
        '<header class="page"><h1>Machine learning versus deep learning, measured</h1>'
        f"<p>Run {esc(run['run_id'])}: which model to use for {esc(aim)}, and why.</p>"
        f"<dl>{items}</dl></header>"
    )


def recommendation(data: ReportData, anchor: str, title: str) -> str:
    rec = data.section("recommendation")
    if not rec:
        return section(anchor, title, para("No recommendation: no model finished training."))
    parts = [f"<h3>Use {esc(rec['title'])} {badge(rec['kind'])}</h3>"]
    parts += [para(r) for r in rec.get("reasons", [])]
    if rec.get("costs"):
        parts.append(f"<p><strong>What it costs.</strong> {esc(' '.join(rec['costs']))}</p>")
    if rec.get("changes"):
        items = "".join(f"<li>{esc(c)}</li>" for c in rec["changes"])
        parts.append(f"<p><strong>What would change it.</strong></p><ul>{items}</ul>")
    near = [data.title(n) for n in rec.get("within_noise", [])]
    if len(near) > 1:
        parts.append(para(f"Within the measured noise of the best: {', '.join(near)}.", "small"))
    body = f'<div class="callout">{"".join(parts)}</div>'
    return section(anchor, title, body)


def leaderboard(data: ReportData, anchor: str, title: str) -> str:
    costs = data.section("costs") or {}
    rec = (data.section("recommendation") or {}).get("model")
    rank = {c["name"]: i + 1 for i, c in enumerate(data.done)}
    parts = []
    for kind in ("ml", "dl"):
        rows = [c for c in _ordered(data) if c["kind"] == kind]
        if rows:
            body = "".join(_leader_row(data, c, rank, costs, rec) for c in rows)
            parts.append(
                f"<h3>{badge(kind)}{esc(KIND_NAMES[kind])}</h3>{_leader_table(data, body)}"
            )
    done = data.done
    if done:
        bars = [
            {
                "label": data.title(c["name"]),
                "kind": c["kind"],
                "score": c["val_score"],
                "std": c["val_std"],
                "test": c["test_score"],
            }
            for c in done
        ]
        best = done[0]
        desc = (
            f"Horizontal bars of cross-validated {data.metric.title} for {len(done)} models. "
            f"Best: {data.title(best['name'])} at {best['val_score']:.4f}; "
            f"worst: {data.title(done[-1]['name'])} at {done[-1]['val_score']:.4f}."
        )
        svg = plots.bar_scores(
            bars,
            data.metric.title,
            data.metric.greater_is_better,
            f"Cross-validated {data.metric.title} by model",
            desc,
        )
        parts.append(
            figure(
                svg,
                "Blue: classical ML; orange: deep learning. Whiskers are the "
                "standard deviation over folds; the black tick is the test score.",
            )
        )
    intro = (
        "Every model saw the same training rows and the same folds; the test rows were scored "
        "once, after ranking. The highlighted row is the recommended model."
    )
    return section(anchor, title, "".join(parts), intro)


def _ordered(data: ReportData) -> list[dict[str, Any]]:
    others = [c for c in data.candidates if c["status"] != "completed"]
    return data.done + others


_LEADER_HEAD = ("#", "model", "CV score", "test", "fit", "1-row p50", "size", "reading", "note")


def _leader_table(data: ReportData, body: str) -> str:
    head = "".join(
        f'<th scope="col"{" class=num" if i in (0, 2, 3, 4, 5, 6) else ""}>{esc(h)}</th>'
        for i, h in enumerate(_LEADER_HEAD)
    )
    return (
        f'<div class="scroll"><table><caption>{esc(data.metric.title)}: '
        f"{'higher' if data.metric.greater_is_better else 'lower'} is better</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _leader_row(
    data: ReportData, c: dict[str, Any], rank: dict[str, int], costs: dict[str, Any], rec: Any
) -> str:
    name = c["name"]
    if c["status"] != "completed":
        cells = [
            "–",
            esc(data.title(name)),
            "–",
            "–",
            "–",
            "–",
            "–",
            "",
            esc(f"{c['status']}: {c['reason']}"),
        ]
        return '<tr class="dim">' + "".join(_td(i, v) for i, v in enumerate(cells)) + "</tr>"
    std = f" ± {c['val_std']:.4f}" if c.get("val_std") is not None else ""
    reading = _reading(data.interpretable.get(name, False))
    cells = [
        str(rank[name]),
        esc(data.title(name)),
        f"{c['val_score']:.4f}{std}",
        fmt_num(c["test_score"]),
        fmt_s(c["fit_time_s"]),
        fmt_ms(costs.get(name, {}).get("latency_p50_ms")),
        fmt_bytes(c["model_bytes"]),
        reading,
        esc(c.get("reason") or ""),
    ]
    cls = ' class="chosen"' if name == rec else ""
    return f"<tr{cls}>" + "".join(_td(i, v) for i, v in enumerate(cells)) + "</tr>"


def _td(i: int, value: str) -> str:
    return f"<td{' class=num' if i in (0, 2, 3, 4, 5, 6) else ''}>{value}</td>"


def _reading(intrinsic: bool) -> str:
    if intrinsic:
        return '<span class="tag intrinsic">intrinsically interpretable</span>'
    return '<span class="tag">explained post hoc</span>'


def learning_curves(data: ReportData, anchor: str, title: str) -> str:
    curves = data.section("curves") or {}
    if curves.get("status") != "done":
        reason = curves.get("reason") or (data.analysis.get("errors") or {}).get("curves") or ""
        text = (
            "Learning curves were not computed for this run"
            + (f" ({reason})" if reason else "")
            + ". Run 'mlvsdl curves RUN' (needs the original data file) or compare with --curves."
        )
        return section(anchor, title, para(text))
    models = curves["models"]
    crossover = curves.get("crossover")
    desc = _curves_desc(data, curves)
    svg = plots.learning_curves(
        models,
        data.metric.title,
        curves["n_train"],
        crossover,
        f"Learning curves: {data.metric.title} versus training rows",
        desc,
    )
    parts = [
        figure(
            svg,
            "Points: measured (mean ± spread over seeds). Lines: fitted "
            "score(n) = a − b·n^(−c), extrapolated to 10x the data; shaded: 80% bootstrap "
            "band. Solid: classical ML; dashed: deep learning.",
        )
    ]
    if crossover and crossover.get("text"):
        parts.insert(0, f"<p><strong>{esc(crossover['text'])}</strong></p>")
    parts.append(_curves_table(curves))
    missed = [data.title(n) for n in curves.get("not_traced", [])]
    if missed:
        parts.append(para(f"Not traced (the time ran out first): {', '.join(missed)}.", "note"))
    intro = (
        f"Each model was retrained on growing, seeded, class-balanced subsets "
        f"({', '.join(f'{n:,}' for n in curves['sizes'])} rows) of one fold's training part and "
        f"scored on the same {curves['holdout_rows']:,} held-out rows (never the test rows)."
    )
    return section(anchor, title, "".join(parts), intro)


def _curves_table(curves: dict[str, Any]) -> str:
    rows = []
    for entry in curves["models"].values():
        fit = entry.get("fit") or {}
        band = entry.get("at_10x_band") or [None, None]
        rows.append(
            [
                f"{badge(entry['kind'])}{esc(entry['title'])}",
                fmt_num(entry.get("at_current")),
                fmt_num(entry.get("at_10x")),
                f"{fmt_num(band[0])} to {fmt_num(band[1])}" if band[0] is not None else "–",
                fmt_num(fit.get("c"), ".2f"),
                fmt_num(fit.get("rmse")),
                str(len({p["seed"] for p in entry["points"]})),
                str(len(entry["points"])),
            ]
        )
    head = [
        "model",
        f"at {curves['n_train']:,} rows",
        f"at {10 * curves['n_train']:,} rows",
        "80% band at 10x",
        "exponent c",
        "fit RMSE",
        "seeds",
        "points",
    ]
    return table(head, rows, raw=True, numeric=(1, 2, 3, 4, 5, 6, 7))


def _curves_desc(data: ReportData, curves: dict[str, Any]) -> str:
    parts = [f"Learning curves of {', '.join(e['title'] for e in curves['models'].values())}."]
    for entry in curves["models"].values():
        if entry.get("at_current") is not None:
            parts.append(
                f"{entry['title']} is predicted at {entry['at_current']:.4f} with "
                f"{curves['n_train']:,} rows."
            )
    crossover = curves.get("crossover")
    if crossover and crossover.get("text"):
        parts.append(crossover["text"])
    return " ".join(parts)


def cost(data: ReportData, anchor: str, title: str) -> str:
    costs = data.section("costs") or {}
    measured = [(c, costs[c["name"]]) for c in data.done if costs.get(c["name"])]
    if not measured:
        return section(anchor, title, para("No cost profile was measured for this run."))
    head = [
        "model",
        "fit time",
        "peak fit memory",
        "1 row p50",
        "1 row p95",
        "per 1,000 rows",
        "size on disk",
        "load time",
        "parameters",
        "fitted on",
    ]
    rows = [_cost_row(data, c, p) for c, p in measured]
    parts = [table(head, rows, raw=True, numeric=(1, 2, 3, 4, 5, 6, 7))]
    parts.append(_pareto_figure(data, [(c, p) for c, p in measured if c["family"] != "dummy"]))
    parts.append(para(_hardware_line(data), "note"))
    left_out = (data.section("skipped") or {}).get("costs")
    if left_out:
        names = ", ".join(data.title(name) for name in left_out)
        parts.append(para(f"Not profiled, to keep the time budget: {names}.", "note"))
    method = measured[0][1].get("memory_method", "")
    parts.append(
        para(
            f"Peak fit memory: {method}, over cross-validation and refit. Latency: single-row "
            f"calls on test rows after one warm-up call, {_latency_paths(data, measured)}",
            "note",
        )
    )
    return section(anchor, title, "".join(parts))


def _latency_paths(data: ReportData, measured: list[tuple[dict, dict]]) -> str:
    """Which way each model's single rows were timed (runs before this was recorded: pipeline)."""
    fast = [data.title(c["name"]) for c, p in measured if p.get("latency_path") == "fast path"]
    if not fast:
        return "through each model's pipeline on a one-row DataFrame."
    if len(fast) == len(measured):
        return "as 'mlvsdl serve' answers them: through the compiled numpy fast path (records in)."
    return (
        "as 'mlvsdl serve' answers them: through the compiled numpy fast path (records in) for "
        f"{', '.join(fast)}; through the pipeline on a one-row DataFrame for the others."
    )


def _cost_row(data: ReportData, c: dict[str, Any], p: dict[str, Any]) -> list[str]:
    return [
        f"{badge(c['kind'])}{esc(data.title(c['name']))}",
        fmt_s(p["fit_time_s"]),
        fmt_bytes(p["peak_fit_memory_bytes"]),
        fmt_ms(p["latency_p50_ms"]),
        fmt_ms(p["latency_p95_ms"]),
        fmt_ms(p["predict_ms_per_1k"]),
        fmt_bytes(p["model_bytes"]),
        fmt_s(p["load_time_s"]),
        f"{fmt_int(p['n_params'])} <span class=small>{esc(p['params_counted'])}</span>",
        esc(p.get("device") or "cpu"),
    ]


def _pareto_figure(data: ReportData, measured: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """Score versus latency and fit time (the dummy baseline left out: it squashes the axis)."""
    points = [
        {
            "label": c["name"],
            "kind": c["kind"],
            "score": c["val_score"],
            "latency_ms": p["latency_p50_ms"],
            "fit_time_s": p["fit_time_s"],
        }
        for c, p in measured
    ]
    desc = "Two scatter plots of cross-validated score against cost: " + "; ".join(
        f"{p['label']} {p['score']:.4f} at {p['latency_ms']:.2f} ms per row and "
        f"{p['fit_time_s']:.2f} s to fit"
        for p in points
    )
    svg = plots.pareto(
        points, data.metric.title, data.metric.greater_is_better, "Score versus cost", desc
    )
    return figure(
        svg,
        "Circles: classical ML; squares: deep learning (the dummy baseline is left out). The "
        "green step line joins the models that no other model beats on both score and cost.",
    )


def _hardware_line(data: ReportData) -> str:
    hw = data.run["settings"].get("hardware") or {}
    gpu = hw.get("cuda") or "no GPU"
    return (
        f"Measured on {hw.get('processor', '?')} ({hw.get('cpu_count', '?')} CPU cores, "
        f"{hw.get('torch_threads', '?')} torch threads, {gpu}), Python {hw.get('python', '?')}."
    )


def provenance(data: ReportData, anchor: str, title: str) -> str:
    run, settings = data.run, data.run["settings"]
    versions = settings.get("versions") or {}
    rows = [
        ["source", esc(run["source"])],
        ["data fingerprint (SHA-256)", f"<code>{esc(run['fingerprint'])}</code>"],
        ["seed", esc(run["seed"])],
        ["time budget", esc(f"{settings.get('time_budget_s')} s")],
        ["library versions", esc(", ".join(f"{k} {v}" for k, v in versions.items()))],
        [
            "analysis timings",
            esc(
                ", ".join(
                    f"{k} {v:.1f}s" for k, v in (data.analysis.get("timings_s") or {}).items()
                )
            ),
        ],
    ]
    parts = [table(["", ""], rows, raw=True)]
    for warning in settings.get("warnings") or []:
        parts.append(para(f"Data warning: {warning}", "note"))
    for name, error in (data.analysis.get("errors") or {}).items():
        parts.append(f'<p class="error">Analysis step "{esc(name)}" failed: {esc(error)}</p>')
    intro = (
        "Protocol: a seeded, stratified test split held out from everything; K-fold "
        "cross-validation inside the training part ranks the models; each model is refitted on "
        "the whole training part (the stored model) and scored once on the test rows."
    )
    return section(anchor, title, "".join(parts), intro)


def _validation_text(n_folds: Any) -> str:
    if n_folds == 1:
        return "one holdout fifth of the training part"
    return f"{n_folds if n_folds is not None else '?'}-fold CV inside the training part"
