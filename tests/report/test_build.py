"""The HTML report: every section, self-contained, accessible plots, built from the store alone."""

from __future__ import annotations

import re

import pytest

from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.report import build_report, write_report
from mlvsdl.store import Store

SECTIONS = (
    "recommendation", "leaderboard", "curves", "cost", "transparency", "engineering",
    "ensembles", "overfitting", "errors", "provenance",
)  # fmt: skip


@pytest.fixture(scope="module")
def page(reported_run):
    result, _ = reported_run
    return result.report_path.read_text(encoding="utf-8")


def test_compare_writes_the_report_and_the_recommendation(reported_run):
    result, _ = reported_run
    assert result.report_path == result.store / "runs" / result.run_id / "report.html"
    rec = result.recommendation
    assert rec is not None and rec.model in set(result.leaderboard["model"])
    assert rec.text.startswith(f"Recommendation: use {rec.title}.")
    assert rec.changes, "says what would change the choice"


def test_every_section_is_there_with_real_figures(page, reported_run):
    result, _ = reported_run
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page
        assert f'href="#{anchor}"' in page
    assert "could not be drawn" not in page and "failed:" not in page
    assert result.recommendation.title in page
    assert "Learning curves were not computed" not in page
    assert "Permutation importance" in page and "integrated gradients" in page
    assert "coefficient x input" in page and "Confusion matrix" in page
    assert "Network training curves" in page and "ROC curves" in page
    assert re.search(r"\d+\.\d+ ms", page)  # latency figures


def test_the_page_is_self_contained_and_needs_no_script(page):
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page


def test_every_plot_has_a_title_and_alt_text(page):
    plots = re.findall(r'<svg role="img" aria-labelledby="([^"]+)"[^>]*>(.*?)</svg>', page, re.S)
    assert len(plots) >= 10
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids are unique across plots"
    for labelled, body in plots:
        title_id, desc_id = labelled.split()
        title = re.search(rf'<title id="{title_id}">([^<]+)</title>', body)
        desc = re.search(rf'<desc id="{desc_id}">([^<]+)</desc>', body)
        assert title and desc and len(desc.group(1)) > 20


def test_plots_label_their_axes_with_units(page):
    for label in ("training rows (log scale)", "(ms, log scale)", "(s, log scale)", "epoch"):
        assert label in page


def test_the_report_reads_only_the_store(reported_run, tmp_path, monkeypatch):
    import mlvsdl.data
    import mlvsdl.data.load
    import mlvsdl.data.media

    def no_data(*args, **kwargs):
        raise AssertionError("the report must not read the data")

    for module, name in ((mlvsdl.data, "read_table"), (mlvsdl.data.load, "read_table"),
                         (mlvsdl.data.media, "read_inputs")):  # fmt: skip
        monkeypatch.setattr(module, name, no_data)
    result, _ = reported_run
    out = write_report(Store(result.store), result.run_id, tmp_path / "copy.html")
    assert out.read_text(encoding="utf-8").count("<section") == len(SECTIONS)


def test_a_run_without_analysis_still_reports(reported_run, tmp_path):
    import shutil

    result, _ = reported_run
    copy = tmp_path / "store"
    shutil.copytree(result.store, copy)
    (copy / "runs" / result.run_id / "analysis.json").unlink()
    assert load_analysis(Store(copy), result.run_id) is None
    page = build_report(Store(copy), result.run_id)
    assert "Learning curves were not computed" in page and "No recommendation" in page
    assert "Leaderboard by kind" in page
