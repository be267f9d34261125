"""Explanations of text and images, drawn for the report (and the CLI's saliency PNG).

* words highlighted in place: inline ``<span>`` elements whose background shows the weight
  (orange: pushed the explained output up, blue: down; the strength is the weight relative to
  the largest in that text), each with a ``title`` giving the signed weight;
* saliency maps: the input image beside it overlaid with the map, as inline base64 PNG images
  made with Pillow (``<img src="data:...">``: nothing is fetched, the page stays offline), each
  with an ``alt`` text that names the strongest regions;
* the transformer's attention, labelled as not a faithful explanation on its own.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from mlvsdl.explain import Explanation, ImageView, TextView
from mlvsdl.report.html import badge, esc, fmt_num, para, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = [
    "attention",
    "examples",
    "highlighted",
    "native_views",
    "saliency_overlay",
    "saliency_png",
]

UP, DOWN, ATTEND = (217, 84, 30), (31, 111, 180), (42, 157, 85)
PIXELS = 168  # the longer side of a drawn image, in pixels (scaled up by whole factors)


def _rgba(weight: float, scale: float, signed: bool = True) -> str:
    strength = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    r, g, b = (UP if weight >= 0 else DOWN) if signed else ATTEND
    return f"rgba({r},{g},{b},{0.08 + 0.57 * strength:.2f})" if strength > 0.02 else ""


def highlighted(view: TextView, *, signed: bool = True, digits: int = 4) -> str:
    """Each text column of ``view`` with its words highlighted (spans with a ``title``)."""
    scale = max((abs(t.weight) for t in view.tokens if t.weight is not None), default=0.0)
    blocks = []
    for column, text in view.texts.items():
        parts, cursor = [], 0
        for token in sorted((t for t in view.tokens if t.column == column), key=lambda t: t.start):
            parts.append(esc(text[cursor : token.start]))
            word = esc(text[token.start : token.end])
            if token.weight is None:
                parts.append(f'<span class="tok" title="not seen by the model">{word}</span>')
            else:
                colour = _rgba(token.weight, scale, signed)
                style = f' style="background:{colour}"' if colour else ""
                value = f"{token.weight:+.{digits}f}" if signed else f"{token.weight:.3f}"
                parts.append(f'<span class="tok"{style} title="{esc(value)}">{word}</span>')
            cursor = token.end
        parts.append(esc(text[cursor:]))
        label = f'<span class="small">{esc(column)}: </span>' if len(view.texts) > 1 else ""
        body = "".join(parts) or '<span class="small">(empty)</span>'
        blocks.append(f'<p class="tokens">{label}{body}</p>')
    return "".join(blocks)


def _top_words(view: TextView, k: int = 5) -> str:
    top = view.top(k)
    scale = max((abs(t.weight or 0.0) for t in top), default=0.0)
    shown = [t for t in top if scale and abs(t.weight or 0.0) >= 0.05 * scale]
    return ", ".join(f"{t.token} ({t.weight:+.3f})" for t in shown)


def native_views(data: ReportData) -> dict[str, str]:
    """Per model of a text or image run: the per-row view of the report's examples (and the
    transformer's attention), for the transparency table."""
    ex = data.section("examples") or {}
    out = {}
    if ex.get("modality") in ("text", "image"):
        unit = "word" if ex["modality"] == "text" else "pixel"
        for name, entry in ex.get("models", {}).items():
            if entry.get("explanations"):
                out[name] = f"per {unit}: {entry['explanations'][0]['method']}"
    for name in data.section("attention") or {}:
        out[name] = "; ".join(
            [*filter(None, [out.get(name)]), "attention weights (not a faithful explanation)"]
        )
    return out


# --- images --------------------------------------------------------------------------------------


def _decode(png: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(png))) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def _encode(pixels: np.ndarray) -> bytes:
    from PIL import Image

    height, width = pixels.shape[:2]
    factor = max(1, PIXELS // max(height, width))
    image = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8))
    image = image.resize((width * factor, height * factor), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def saliency_overlay(view: ImageView) -> np.ndarray:
    """The input, in light grey, under the map: orange where a pixel pushed the explained output
    up, blue where it pushed it down, stronger colour for a larger weight. ``(H, W, 3)``."""
    grey = _decode(view.image_png).mean(axis=2, keepdims=True)
    base = np.repeat(0.45 + 0.55 * grey, 3, axis=2)
    values = view.array
    scale = float(np.abs(values).max()) or 1.0
    alpha = (np.abs(values) / scale)[:, :, None] * 0.9
    colour = np.where(values[:, :, None] >= 0, np.array(UP), np.array(DOWN)) / 255.0
    return (1 - alpha) * base + alpha * colour


def saliency_png(view: ImageView, *, with_input: bool = True) -> bytes:
    """The saliency overlay as PNG bytes, the input image to its left when ``with_input``."""
    overlay = saliency_overlay(view)
    if with_input:
        gap = np.ones((overlay.shape[0], max(1, overlay.shape[1] // 8), 3))
        overlay = np.concatenate([_decode(view.image_png), gap, overlay], axis=1)
    return _encode(overlay)


def _img(png: bytes | str, alt: str) -> str:
    data = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    return f'<img class="pixels" src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def _regions_text(e: Explanation) -> str:
    return "; ".join(f"{c.feature} {c.contribution:+.3f}" for c in e.contributions[:3])


# --- report sections -----------------------------------------------------------------------------


def _reading(data: ReportData, name: str) -> str:
    return (
        "intrinsically interpretable"
        if data.interpretable.get(name, False)
        else "explained post hoc"
    )


def _caption(data: ReportData, name: str, e: Explanation, kind: str) -> str:
    return (
        f"<p>{badge(kind)}<strong>{esc(data.title(name))}</strong> "
        f'<span class="tag">{esc(_reading(data, name))}</span> predicts '
        f"<strong>{esc(e.prediction)}</strong>.</p>"
        f'<p class="small">Weights on {esc(e.explained)} ({esc(e.unit)}), by '
        f"{esc(e.method)}.</p>"
    )


def _text_block(data: ReportData, name: str, e: Explanation, kind: str) -> str:
    assert e.text is not None
    parts = [_caption(data, name, e, kind), highlighted(e.text)]
    top = _top_words(e.text)
    if top:
        parts.append(para(f"Largest weights: {top}.", "small"))
    if e.text.note:
        parts.append(para(e.text.note, "small"))
    if e.attention is not None:
        parts.append(
            '<p class="small"><strong>Attention weights (not a faithful explanation on their '
            "own)</strong>: the share of attention each word receives, mean over layers, heads "
            "and query words.</p>"
        )
        parts.append(highlighted(e.attention, signed=False))
    return f'<div class="explained">{"".join(parts)}</div>'


def _image_block(data: ReportData, name: str, e: Explanation, kind: str, position: int) -> str:
    assert e.image is not None
    alt = (
        f"Saliency map of {data.title(name)} for test row {position}, predicting "
        f"{e.prediction}: strongest regions {_regions_text(e)}."
    )
    return (
        f'<div class="explained">{_caption(data, name, e, kind)}'
        f"{_img(saliency_png(e.image, with_input=False), alt)}</div>"
    )


def examples(data: ReportData, ex: dict[str, Any]) -> str:
    """Held-out rows explained word by word (text) or pixel by pixel (images), best ML and best
    DL model side by side."""
    models = {
        name: [Explanation.from_dict(d) for d in entry["explanations"]]
        for name, entry in ex["models"].items()
    }
    kinds = {name: entry["kind"] for name, entry in ex["models"].items()}
    labels = ex.get("labels") or [None] * len(ex["rows"])
    what = "label" if data.schema.task.is_classification else "value"
    blocks = []
    for i, (position, label) in enumerate(zip(ex["rows"], labels, strict=False)):
        truth = f" (true {what}: {label})" if label is not None else ""
        cells = []
        if ex["modality"] == "image":
            view = next(iter(models.values()))[i].image
            assert view is not None
            alt = f"Test image {position}{truth}, as the models saw it."
            picture = _img(_encode(_decode(view.image_png)), alt)
            cells.append(f'<div class="explained"><p><strong>Input</strong></p>{picture}</div>')
        for name, found in models.items():
            if i >= len(found):
                continue
            if ex["modality"] == "text":
                cells.append(_text_block(data, name, found[i], kinds[name]))
            else:
                cells.append(_image_block(data, name, found[i], kinds[name], position))
        head = f"<h4>Test row {position}{esc(truth)}</h4>"
        row_class = "media-row images" if ex["modality"] == "image" else "media-row"
        blocks.append(head + f'<div class="{row_class}">{"".join(cells)}</div>')
    if ex["modality"] == "text":
        title = "Held-out texts explained, word by word"
        legend = (
            "Orange words pushed the model's output for its predicted class up, blue words "
            "pushed it down; the stronger the colour, the larger the weight (relative to the "
            "largest in that text). Hover a word to read its weight."
        )
    else:
        title = "Held-out images explained, pixel by pixel"
        legend = (
            "Each map is the image (grey) under its saliency: orange where the pixels pushed "
            f"the predicted class up, blue where they pushed it down, {ex.get('reference') or ''}."
        )
    note = legend + " Explain any row with: mlvsdl explain RUN --row N."
    return f"<h3>{esc(title)}</h3>{para(note, 'note')}" + "".join(blocks)


def attention(data: ReportData) -> str:
    """The transformer's global attention view (what it reads most), with its caveat."""
    found = data.section("attention") or {}
    parts = []
    for name, summary in found.items():
        rows = [
            [esc(t["token"]), fmt_num(t["relative"], ".2f"), f"{t['count']:,}"]
            for t in summary.get("tokens", [])
        ]
        if not rows:
            continue
        caption = (
            f"{data.title(name)}: words receiving the most attention over "
            f"{summary['rows']:,} test rows (1 = a uniform share of its text)"
        )
        parts.append(
            table(
                ["word", "attention received", "occurrences"],
                rows,
                caption=caption,
                raw=True,
                numeric=(1, 2),
            )
        )
    if not parts:
        return ""
    head = "<h3>Attention weights (not a faithful explanation on their own)</h3>" + para(
        "The transformer's native view: the attention each word receives, averaged over "
        "layers, heads and query words. It shows where the network looks, not what moved "
        "its output; read it beside the integrated-gradients weights below.",
        "note",
    )
    return head + "".join(parts)
