"""Small HTML builders and number formats shared by the report's sections (no templates engine:
every value passes through :func:`esc`)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "badge",
    "esc",
    "figure",
    "fmt_bytes",
    "fmt_int",
    "fmt_ms",
    "fmt_num",
    "fmt_s",
    "para",
    "section",
    "table",
]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_num(value: Any, fmt: str = ".4f") -> str:
    return "–" if missing(value) else format(float(value), fmt)


def fmt_int(value: Any) -> str:
    return "–" if missing(value) else f"{int(value):,}"


def fmt_s(value: Any) -> str:
    if missing(value):
        return "–"
    value = float(value)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"


def fmt_ms(value: Any) -> str:
    if missing(value):
        return "–"
    value = float(value)
    return (
        f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    )


def fmt_bytes(value: Any) -> str:
    if missing(value):
        return "–"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "–"


def badge(kind: str) -> str:
    label = {"ml": "ML", "dl": "DL"}.get(kind, kind.upper())
    return f'<span class="badge {esc(kind)}">{esc(label)}</span>'


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    caption: str | None = None,
    numeric: Sequence[int] = (),
    raw: bool = False,
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they must be built with ``esc``)."""
    cell = (lambda v: str(v)) if raw else esc
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>{cell(v)}</td>" for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def para(text: str, cls: str | None = None) -> str:
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<p{attr}>{esc(text)}</p>"


def section(anchor: str, title: str, body: str, intro: str | None = None) -> str:
    lead = para(intro, "lead") if intro else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{lead}{body}</section>'
