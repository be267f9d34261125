"""Rich rendering for the CLI: live progress, leaderboards, schemas, run lists."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mlvsdl.compare import Event
from mlvsdl.families.base import Family
from mlvsdl.result import CompareResult
from mlvsdl.types import Schema

__all__ = [
    "Progress",
    "curves",
    "explanation",
    "families",
    "leaderboard",
    "recommendation",
    "runs",
    "schema",
]


def _num(value: Any, fmt: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return "-"


def _bytes(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "-"


class Progress:
    """Live view of a comparison: finished candidates, the one training, elapsed and budget."""

    def __init__(self, console: Console, time_budget: float | None) -> None:
        self.console = console
        self.budget = time_budget
        self.rows: list[dict[str, Any]] = []
        self.running: list[str] = []  # families training now (several with --jobs/--ray)
        self.start = time.monotonic()
        self.doing = "preparing"
        self.live = Live(self, console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.console.is_terminal:
            self.live.stop()

    def update(self, event: Event) -> None:
        if event.kind == "start":
            schema(self.console, event.info["schema"])
            self.console.print(
                f"Run [bold]{event.info['run_id']}[/]: {event.info['n_folds']}-fold CV on the "
                f"training part, ranked by [bold]{event.info['metric']}[/]; families: "
                f"{', '.join(event.info['families'])}",
                soft_wrap=True,
            )
        elif event.kind == "trial_start":
            self.running.append(str(event.family))
            if not self.console.is_terminal:
                self.console.print(f"  training {event.family} ...")
        elif event.kind == "trial_end":
            if event.family in self.running:
                self.running.remove(event.family)
            self.rows.append(event.info)
            if not self.console.is_terminal:
                self.console.print("  " + _event_line(event.info))
        elif event.kind == "analysis":
            curves = ", learning curves" if event.info.get("curves") else ""
            self.doing = f"analysing (cost, importance, errors{curves}) and writing the report"
            if not self.console.is_terminal:
                self.console.print(f"  {self.doing} ...")

    def __rich__(self) -> Group:
        elapsed = time.monotonic() - self.start
        lines = [Text("  " + _event_line(r)) for r in self.rows]
        left = (
            "" if self.budget is None else f", {max(self.budget - elapsed, 0):.0f}s of budget left"
        )
        doing = f"training [bold]{', '.join(self.running)}[/]" if self.running else self.doing
        lines.append(Text.from_markup(f"  {doing} … {elapsed:.0f}s elapsed{left}"))
        return Group(*lines)


def _event_line(row: dict[str, Any]) -> str:
    if row["status"] == "completed":
        return (
            f"{row['name']:<14} {row['kind']}  val {_num(row['val_score'])}  "
            f"test {_num(row['test_score'])}  fit {_num(row['fit_time_s'], '.2f')}s"
        )
    return f"{row['name']:<14} {row['kind']}  {row['status']}: {row['reason']}"


def leaderboard(console: Console, result: CompareResult) -> None:
    columns = [
        _Col("#", justify="right"),
        _Col("model", keep=True),
        _Col("family", drop=1),
        _Col("kind"),
        _Col(f"val {result.metric}", justify="right"),
        _Col(f"test {result.metric}", justify="right"),
        _Col("fit s", justify="right", drop=3),
        _Col("predict ms/1k", justify="right", drop=4),
        _Col("size", justify="right", drop=2),
        _Col("note"),
    ]
    rows, styles = [], []
    for row in result.leaderboard.to_dict("records"):
        val = _num(row["val_score"])
        if row["val_std"] is not None and not _isnan(row["val_std"]):
            val += f" ± {_num(row['val_std'])}"
        predict_ms = _num(
            row["predict_time_s_per_1k"] * 1000 if _present(row["predict_time_s_per_1k"]) else None,
            ".1f",
        )
        rows.append(
            [
                "-" if row["rank"] is None or row["rank"] is _NA else str(row["rank"]),
                str(row["model"]),
                row["title"],
                str(row["kind"]).upper(),
                val,
                _num(row["test_score"]),
                _num(row["fit_time_s"], ".2f"),
                predict_ms,
                _bytes(row["model_bytes"]),
                _note(row),
            ]
        )
        styles.append("dim" if row["status"] != "completed" else None)
    title = (
        f"Leaderboard — run {result.run_id} ({result.schema.task}, "
        f"ranked by validation {result.metric})"
    )
    console.print(_fitted_table(console, title, columns, rows, styles))
    if (result.leaderboard["status"] == "completed").any() and result.schema.task == "synthesize":
        console.print(
            f"Best: [bold]{result.best_model_name}[/]. Generate rows with: "
            f"mlvsdl sample {result.run_id} --rows 1000 -o synthetic.csv",
            soft_wrap=True,
        )
    elif (result.leaderboard["status"] == "completed").any():
        new = {"image": "NEW_IMAGES/", "audio": "NEW_CLIPS/"}.get(str(result.schema.modality))
        console.print(
            f"Best: [bold]{result.best_model_name}[/]. Predict with: "
            f"mlvsdl predict {result.run_id} {new or 'NEW.csv'} -o predictions.csv",
            soft_wrap=True,  # a command to copy: never broken by inserted newlines
        )


@dataclass(frozen=True)
class _Col:
    """A column of a table that must fit the terminal without cutting a value a user copies.

    ``keep``: never wrapped nor cut (run ids, model names). Other columns wrap (``fold``), never
    end in an ellipsis. ``drop``: when the narrowest layout is still too wide, columns with the
    highest ``drop`` are left out first (0: never left out).
    """

    header: str
    justify: str = "left"
    keep: bool = False
    drop: int = 0


# A column that wraps is given its longest word, up to this many characters (longer words fold).
_MIN_WRAPPED = 12


def _fitted_table(
    console: Console,
    title: str,
    columns: list[_Col],
    rows: list[list[str]],
    styles: list[str | None] | None = None,
) -> Table:
    """A rich table for ``console.width``: kept columns whole, the others wrapped, and
    low-value columns (``_Col.drop``) left out, highest first, until it fits; a caption says
    which were left out."""
    widths = []
    for j, col in enumerate(columns):
        if col.keep:
            widths.append(max([len(col.header), *(len(r[j]) for r in rows)]))
            continue
        words = [w for text in (col.header, *(r[j] for r in rows)) for w in text.split()]
        widths.append(min(max(map(len, words), default=1), _MIN_WRAPPED))
    shown = list(range(len(columns)))
    for level in sorted({c.drop for c in columns if c.drop}, reverse=True):
        if sum(widths[j] + 3 for j in shown) + 1 <= console.width:
            break
        shown = [j for j in shown if columns[j].drop != level]
    hidden = [columns[j].header for j in range(len(columns)) if j not in shown]
    caption = f"not shown at this width: {', '.join(hidden)} (--json has all)" if hidden else None
    table = Table(title=title, caption=caption)
    for j in shown:
        col = columns[j]
        table.add_column(
            col.header,
            justify=col.justify,  # type: ignore[arg-type]
            no_wrap=col.keep,
            min_width=widths[j] if col.keep else None,
            overflow="fold",
        )
    for i, row in enumerate(rows):
        table.add_row(*(row[j] for j in shown), style=styles[i] if styles else None)
    return table


def _note(row: dict[str, Any]) -> str:
    note = row["note"] if isinstance(row["note"], str) else ""
    if row["status"] != "completed":
        return f"{row['status']}: {note}"
    return note


try:
    import pandas as _pd

    _NA: Any = _pd.NA
except ImportError:  # pragma: no cover
    _NA = None


def _isnan(value: Any) -> bool:
    return value is _NA or (isinstance(value, float) and math.isnan(value))


def _present(value: Any) -> bool:
    return value is not None and not _isnan(value)


def schema(console: Console, value: Schema) -> None:
    if value.target is not None:
        goal = f"target '{value.target}'"
    elif value.label is not None:
        goal = f"no target, label '{value.label}' for evaluation only"
    else:
        goal = "no target, no label"
    table = Table(
        title=f"Schema: {value.modality} data, {value.n_rows} rows, {goal} "
        f"({value.task}" + (f", {value.n_classes} classes" if value.classes else "") + ")"
    )
    for col in ("column", "kind", "why"):
        table.add_column(col)
    for col in value.columns:
        table.add_row(col.name, str(col.kind), col.reason, style="dim" if not col.used else None)
    console.print(table)
    for note in value.notes:
        console.print(f"[yellow]warning:[/] {note}", highlight=False)


def runs(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No runs in this store yet.")
        return
    columns = [
        _Col("run", keep=True),
        _Col("status"),
        _Col("target"),
        _Col("task"),
        _Col("metric"),
        _Col("models", justify="right", drop=1),
        _Col("created", drop=2),  # the run id starts with it (UTC)
        _Col("source", drop=3),
    ]
    table_rows = [
        [
            r["run_id"],
            r["status"] if r["status"] != "running" else "unfinished",
            r["target"],
            r["task"],
            r["metric"],
            str(r["n_completed"]),
            str(r["created_at"])[:16].replace("T", " "),
            r["source"],
        ]
        for r in rows
    ]
    console.print(_fitted_table(console, "Runs (newest first)", columns, table_rows))


def families(console: Console, items: list[Family]) -> None:
    columns = [
        _Col("key", keep=True),
        _Col("kind"),
        _Col("tasks"),
        _Col("modalities", drop=2),
        _Col("interpretable", drop=3),
        _Col("description", drop=1),
    ]
    rows = [
        [
            f.key,
            str(f.kind).upper(),
            ", ".join(sorted(map(str, f.tasks))),
            ", ".join(sorted(map(str, f.modalities))),
            "yes" if f.interpretable else "post hoc",
            f.description,
        ]
        for f in items
    ]
    console.print(_fitted_table(console, "Model families", columns, rows))


# --- analysis: recommendation, learning curves, explanations ---


def recommendation(console: Console, found: Any, report_path: Any = None) -> None:
    """The recommendation (a ``Recommendation`` or None) as text, then where the report is."""
    if found is not None:
        console.print(f"\n[bold green]Recommendation:[/] use [bold]{found.title}[/].")
        for reason in found.reasons:
            console.print(f"  {reason}", highlight=False)
        if found.costs:
            console.print(f"  [bold]What it costs:[/] {' '.join(found.costs)}", highlight=False)
        for change in found.changes:
            console.print(f"  [bold]What would change it:[/] {change}", highlight=False)
    if report_path is not None:
        console.print(f"Report: {report_path}", highlight=False, soft_wrap=True)


def curves(console: Console, section: dict[str, Any]) -> None:
    """A table of the traced learning curves and the crossover sentence."""
    if section.get("status") != "done":
        console.print(
            f"Learning curves: {section.get('status', 'not run')} ({section.get('reason', '')})",
            highlight=False,
        )
        return
    table = Table(title=f"Learning curves (sizes {', '.join(map(str, section['sizes']))})")
    for col in ("model", "kind", "points", f"fit at {section['n_train']:,} rows", "fit RMSE"):
        table.add_column(col)
    for entry in section["models"].values():
        table.add_row(
            entry["title"],
            entry["kind"].upper(),
            str(len(entry["points"])),
            _num(entry.get("at_current")),
            _num((entry.get("fit") or {}).get("rmse")),
        )
    console.print(table)
    crossover = section.get("crossover") or {}
    if crossover.get("text"):
        console.print(crossover["text"], highlight=False)


def explanation(console: Console, found: Any, row: int, image_path: Any = None) -> None:
    """One explained prediction: the columns (words, image regions) that moved it most."""
    if found.text is not None:
        _text_explanation(console, found, row)
        return
    what = "regions" if found.image is not None else "columns"
    table = Table(
        title=f"Row {row}: {found.model} predicts {found.prediction!r} — contributions to "
        f"{found.explained} ({found.unit}, {found.method})"
    )
    first = "region" if found.image is not None else "column"
    second = "pixels" if found.image is not None else "value"
    for col, justify in ((first, "left"), (second, "left"), ("contribution", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for item in found.contributions:
        colour = "red" if item.contribution > 0 else "blue"
        table.add_row(item.feature, item.value, f"[{colour}]{item.contribution:+.4f}[/]")
    console.print(table)
    if found.image is not None:
        console.print(
            f"Saliency map ({found.image.note}; orange: pushed {found.explained} up, blue: "
            f"down) written to {image_path}. Top {what} of a 3 x 3 grid above.",
            highlight=False,
            soft_wrap=True,
        )


def _highlighted(view: Any, top: int, signed: bool = True) -> list[Text]:
    """Each text column with its ``top`` words (by absolute weight) coloured."""
    chosen = {id(t) for t in view.top(top)}
    scale = max((abs(t.weight) for t in view.tokens if t.weight is not None), default=0.0) or 1.0
    lines = []
    for column, text in view.texts.items():
        line = Text(f"{column}: " if len(view.texts) > 1 else "")
        cursor = 0
        for token in sorted((t for t in view.tokens if t.column == column), key=lambda t: t.start):
            line.append(text[cursor : token.start])
            strong = token.weight is not None and abs(token.weight) >= scale / 2
            if id(token) not in chosen or not token.weight:
                style = ""
            elif not signed:
                style = "bold black on green3" if strong else "green"
            elif token.weight > 0:
                style = "bold white on red3" if strong else "bold red"
            else:
                style = "bold white on blue3" if strong else "bold blue"
            line.append(text[token.start : token.end], style=style)
            cursor = token.end
        line.append(text[cursor:])
        lines.append(line)
    return lines


def _text_explanation(console: Console, found: Any, row: int) -> None:
    view = found.text
    console.print(
        f"Row {row}: {found.model} predicts {found.prediction!r} — word weights on "
        f"{found.explained} ({found.unit}), by {found.method}",
        highlight=False,
    )
    for line in _highlighted(view, len(found.contributions)):
        console.print(line)
    table = Table(title="Top words (red: pushed it up, blue: pushed it down)")
    for col, justify in (("word", "left"), ("where", "left"), ("weight", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for item in found.contributions:
        colour = "red" if item.contribution > 0 else "blue"
        table.add_row(item.feature, item.value, f"[{colour}]{item.contribution:+.4f}[/]")
    console.print(table)
    if view.note:
        console.print(view.note, style="dim", highlight=False)
    if found.attention is not None:
        console.print(
            "Attention weights (not a faithful explanation on their own): the share of "
            "attention each word receives, mean over layers, heads and query words.",
            highlight=False,
        )
        for line in _highlighted(found.attention, 5, signed=False):
            console.print(line)
        top = ", ".join(f"{t.token} {t.weight:.3f}" for t in found.attention.top(5))
        console.print(f"Most attended: {top}", highlight=False)
