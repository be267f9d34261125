"""Build a run's HTML report from the store alone.

The report reads the run's rows (``runs``, ``candidates``, ``metrics``) and its analysis document
(``runs/<run_id>/analysis.json``), never the data, so any stored run can be reported later, on
another machine. The page is one self-contained file: CSS inline, plots as inline SVG, no
JavaScript, no fonts or scripts from the network; it reads the same printed or offline.

    build_report(store, run_id) -> str        # the HTML
    write_report(store, run_id, path=None)    # -> Path (default runs/<run_id>/report.html)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.evaluate.metrics import METRICS, Metric
from mlvsdl.families.registry import all_families
from mlvsdl.report import (
    anomaly,
    cluster,
    embed,
    engineering,
    ensembles,
    insight,
    recsys,
    sections,
    synthesize,
)
from mlvsdl.report import forecast as forecast_report
from mlvsdl.report.html import esc
from mlvsdl.store import Store
from mlvsdl.store.artifacts import write_bytes_atomic
from mlvsdl.store.db import check_run_id
from mlvsdl.tasks import get_task
from mlvsdl.types import Schema

__all__ = ["REPORT_FILE", "ReportData", "build_report", "load_report_data", "write_report"]

logger = logging.getLogger(__name__)

REPORT_FILE = "report.html"


@dataclass
class ReportData:
    """Everything the report shows, as read from the store."""

    run: dict[str, Any]
    schema: Schema
    metric: Metric
    candidates: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    analysis: dict[str, Any]
    titles: dict[str, str] = field(default_factory=dict)
    interpretable: dict[str, bool] = field(default_factory=dict)

    @property
    def done(self) -> list[dict[str, Any]]:
        """Completed candidates, best cross-validated score first."""
        rows = [c for c in self.candidates if c["status"] == "completed"]
        sign = 1 if self.metric.greater_is_better else -1
        return sorted(rows, key=lambda c: -sign * float(c["val_score"]))

    def title(self, name: str) -> str:
        return self.titles.get(name, name)

    def kind(self, name: str) -> str:
        return next((c["kind"] for c in self.candidates if c["name"] == name), "")

    def section(self, key: str) -> Any:
        return self.analysis.get(key)


def load_report_data(store: Store, run_id: str) -> ReportData:
    run = store.db.run(check_run_id(run_id))
    candidates = store.db.candidates(run_id, refits=False, ensembles=False)
    families = {f.key: f for f in all_families()}
    return ReportData(
        run=run,
        schema=Schema.from_dict(run["schema"]),
        metric=METRICS[run["metric"]],
        candidates=candidates,
        metrics=store.db.metrics(run_id),
        analysis=load_analysis(store, run_id) or {},
        titles={
            c["name"]: getattr(families.get(c["family"]), "title", c["name"]) for c in candidates
        },
        interpretable={
            c["name"]: bool(getattr(families.get(c["family"]), "interpretable", False))
            for c in candidates
        },
    )


# Every section a report can have, by anchor; each task's spec (``TaskSpec.report_sections``)
# lists the ones its reports show, in order.
SECTIONS = {
    "recommendation": ("Recommendation", sections.recommendation),
    "leaderboard": ("Leaderboard by kind", sections.leaderboard),
    "curves": ("Learning curves", sections.learning_curves),
    "cost": ("Cost", sections.cost),
    "transparency": ("Transparency", insight.transparency),
    "engineering": ("Feature engineering, measured", engineering.engineering),
    "ensembles": ("Ensembles across families", ensembles.ensembles),
    "overfitting": ("Overfitting", insight.overfitting),
    "errors": ("Errors on held-out rows", insight.errors),
    "detectors": ("Detectors on held-out rows", anomaly.detectors),
    "flagged": ("The most unusual held-out rows", anomaly.flagged),
    "labels": ("What labels would add", anomaly.labels),
    "embeddings": ("Embeddings on held-out rows", embed.embeddings),
    "maps": ("Maps of the held-out rows", embed.maps),
    "clusterers": ("Clusterers on held-out rows", cluster.clusterers),
    "clusters": ("What sets each cluster apart", cluster.clusters),
    "cluster_map": ("The clusters in two dimensions", cluster.cluster_map),
    "backtest": ("The test window, forecast", forecast_report.backtest),
    "horizon_errors": ("Errors by step ahead", forecast_report.horizon_errors),
    "series_errors": ("Errors by series", forecast_report.series_errors),
    "recommenders": ("Recommenders on held-out interactions", recsys.recommenders),
    "activity": ("By user activity", recsys.activity),
    "rec_examples": ("Example recommendations", recsys.rec_examples),
    "synth_scores": ("Fidelity and utility on held-out rows", synthesize.synth_scores),
    "synth_marginals": ("Real and generated columns", synthesize.synth_marginals),
    "synth_associations": ("Associations, real and generated", synthesize.synth_associations),
    "synth_privacy": ("Privacy: how close to the training rows", synthesize.synth_privacy),
    "provenance": ("Method and provenance", sections.provenance),
}


def _sections(schema: Schema) -> list[tuple[str, str, Any]]:
    keys = get_task(schema.task).report_sections
    return [(key, *SECTIONS[key]) for key in keys]


def build_report(store: Store, run_id: str) -> str:
    """The report of ``run_id`` as one self-contained HTML page."""
    data = load_report_data(store, run_id)
    parts = []
    chosen = _sections(data.schema)
    for anchor, title, builder in chosen:
        try:
            parts.append(builder(data, anchor, title))
        except Exception as exc:  # a broken section is shown as such; the rest still renders
            logger.warning("report section %s failed: %s", anchor, exc, exc_info=True)
            parts.append(
                f'<section id="{anchor}"><h2>{esc(title)}</h2><p class="error">This section '
                f"could not be drawn: {esc(type(exc).__name__)}: {esc(exc)}</p></section>"
            )
    nav = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t, _ in chosen)
    template = Template(
        resources.files("mlvsdl.report").joinpath("templates/report.html").read_text()
    )
    return template.substitute(
        title=esc(f"mlvsdl report — {_source_name(data)} — run {run_id}"),
        header=sections.header(data),
        nav=nav,
        body="\n".join(parts),
        generated=esc(datetime.now(UTC).isoformat(timespec="seconds")),
    )


def _source_name(data: ReportData) -> str:
    source = str(data.run["source"])
    return os.path.basename(source) or source


def write_report(
    store: Store | str | os.PathLike[str] | None,
    run_id: str,
    path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the report atomically; default ``<store>/runs/<run_id>/report.html``."""
    db_store = store if isinstance(store, Store) else Store(store, create=False)
    target = Path(path) if path is not None else db_store.run_dir(run_id) / REPORT_FILE
    write_bytes_atomic(target, build_report(db_store, run_id).encode("utf-8"))
    logger.info("wrote report %s", target)
    return target
