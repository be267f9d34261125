"""The records explanations are returned and stored as (plain data: JSON round trips exactly).

* :class:`Attribution`: per-row, per-raw-column contributions (tables);
* :class:`Explanation`: one prediction of one model explained, for the CLI, the API and the
  report. Tables fill ``contributions`` (columns); text adds a :class:`TextView` (a weight per
  word, and for the transformer its attention as a second view); images add an
  :class:`ImageView` (a saliency map over the pixels) and list the strongest regions as
  ``contributions``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Attribution", "Contribution", "Explanation", "ImageView", "TextView", "TokenWeight"]


@dataclass(frozen=True)
class Attribution:
    """Per-row, per-raw-column contributions to one output of a model."""

    values: np.ndarray  # (n_rows, n_columns)
    columns: list[str]  # raw input columns, schema order
    method: str
    unit: str
    targets: list[str]  # per row: what output was explained ("P(Yes)", "prediction")


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: str  # the raw input value, as text
    contribution: float


@dataclass(frozen=True)
class TokenWeight:
    """One word of a text column and its weight (None: the model never saw it, cut off)."""

    column: str
    token: str
    start: int  # character offsets in ``TextView.texts[column]``
    end: int
    weight: float | None


@dataclass(frozen=True)
class TextView:
    """A weight per word of each text column, to draw the text with its words highlighted."""

    texts: dict[str, str]  # column -> the text as the model read it
    tokens: list[TokenWeight]
    method: str
    unit: str
    note: str = ""

    def top(self, k: int) -> list[TokenWeight]:
        """The ``k`` words with the largest absolute weight."""
        seen = [t for t in self.tokens if t.weight is not None]
        return sorted(seen, key=lambda t: -abs(t.weight or 0.0))[:k]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextView:
        tokens = [TokenWeight(**t) for t in data.get("tokens", [])]
        return cls(**{**data, "tokens": tokens})


@dataclass(frozen=True)
class ImageView:
    """A signed saliency map ``(H, W)`` over the input image, as the model saw it."""

    saliency: list[list[float]]
    image_png: str  # base64 PNG of the input at the model's size (channels as the model saw)
    method: str
    unit: str
    note: str = ""

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.saliency, dtype=np.float64)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageView:
        return cls(**data)


@dataclass(frozen=True)
class Explanation:
    """One prediction of one model, explained (for the CLI and the report)."""

    model: str
    prediction: str
    explained: str
    method: str
    unit: str
    contributions: list[Contribution] = field(default_factory=list)
    text: TextView | None = None
    attention: TextView | None = None  # the transformer's attention weights, a second view
    image: ImageView | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        items = [Contribution(**c) for c in data.get("contributions", [])]
        views = {
            key: (builder(data[key]) if data.get(key) else None)
            for key, builder in (
                ("text", TextView.from_dict),
                ("attention", TextView.from_dict),
                ("image", ImageView.from_dict),
            )
        }
        return cls(**{**data, "contributions": items, **views})
