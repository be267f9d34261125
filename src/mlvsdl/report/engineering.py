"""The report's feature-engineering section: classical models on hand-made features against
simpler or richer ones, beside networks on the raw input (see
:mod:`mlvsdl.evaluate.engineering` and :mod:`mlvsdl.evaluate.engineering_media`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvsdl.report.html import badge, esc, fmt_num, para, section, table

if TYPE_CHECKING:
    from mlvsdl.report.build import ReportData

__all__ = ["engineering"]


def _signed(value: float) -> str:
    cls = "pos" if value > 0 else "neg"
    return f'<span class="{cls}">{value:+.4f}</span>'


def engineering(data: ReportData, anchor: str, title: str) -> str:
    fe = data.section("engineering")
    modality = str(data.schema.modality)
    if not fe:
        why = (data.analysis.get("errors") or {}).get("engineering") or (
            f"engineered variants for {modality} data are not built yet"
            if modality not in _MEDIA and modality != "tabular"
            else "it refits models, so it runs with 'mlvsdl compare --curves' or 'mlvsdl curves "
            "RUN'"
            if "engineering" not in data.analysis
            else f"no {_REFIT.get(modality, 'linear or LightGBM')} model to refit, or no time left"
        )
        return section(anchor, title, para(f"Not measured for this run ({why})."))
    rows = []
    for r in fe["rows"]:
        delta = "" if r["delta"] is None else _signed(r["delta"])
        if r.get("delta_std") is not None:
            delta += f" <span class=small>± {r['delta_std']:.4f}</span>"
        rows.append(
            [
                f"{badge(r['kind'])}{esc(data.title(r['model']))}",
                esc(r["variant"]),
                fmt_num(r["score"]),
                str(r["folds"]),
                delta,
            ]
        )
    parts = [
        table(
            ["model", "input", f"CV {data.metric.title}", "folds", "change"],
            rows,
            raw=True,
            numeric=(2, 3, 4),
        )
    ]
    if modality in _MEDIA:
        parts.append(para(f"{_MEDIA[modality]} {fe.get('note', '')}", "note"))
    parts.append(
        para(
            "Variants are refitted on the same folds as the leaderboard; the change is the mean "
            "fold-by-fold difference from the leaderboard's features (± its standard "
            "deviation). Networks always take the raw input.",
            "note",
        )
    )
    return section(anchor, title, "".join(parts), _INTRO.get(modality, _INTRO["tabular"]))


_MEDIA = {
    "text": "Plain word counts: a CountVectorizer of words, with no IDF weighting, no "
    "character n-grams and no text statistics.",
    "image": "HOG only: histograms of oriented gradients, without the pixels; pixels only: "
    "the pixels (or their PCA) without HOG.",
}
_REFIT = {"text": "TF-IDF", "image": "pixels + HOG"}
_INTRO = {
    "tabular": "Does hand-made feature engineering help the classical models, and do networks "
    "on raw input match them?",
    "text": "How much do the classical models owe to TF-IDF weighting, character n-grams and "
    "text statistics over plain word counts, and does the best network on raw text match "
    "them?",
    "image": "How much do the classical models owe to HOG descriptors over raw pixels (and "
    "the reverse), and does the best network on raw pixels match them?",
}
