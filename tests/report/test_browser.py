"""The report in real headless Chromium: loads without console errors, every plot is visible,
and a full-page screenshot is kept as a test artifact.

Needs Debian's ``chromium`` package (skipped when no Chromium is installed) and
``websocket-client`` (the test extra). The screenshot is written under pytest's tmp dir and copied
to ``$MLVSDL_TEST_ARTIFACTS`` (default: ``<system tmp>/mlvsdl-test-artifacts``); the path is
printed.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest

from tests.report.browser import find_chromium, open_page

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_report_renders_in_headless_chromium(reported_run, tmp_path, capsys):
    pytest.importorskip("websocket", reason="websocket-client is in the test extra")
    result, _ = reported_run
    shot = tmp_path / "report.png"
    page = open_page(CHROMIUM, result.report_path, shot)
    assert page.errors == [], f"console errors: {page.errors}"
    assert len(page.plots) >= 10
    for plot in page.plots:
        assert plot["display"] != "none" and plot["visibility"] == "visible", plot["title"]
        assert float(plot["opacity"]) > 0.9, plot["title"]
        assert plot["width"] > 200 and plot["height"] > 100, plot["title"]
        assert plot["title"] and len(plot["desc"]) > 20 and plot["labelledby"]
        assert plot["shapes"] > 5, f"{plot['title']} draws nothing"
    width, height = _png_size(shot)
    assert width == 1280 and height == page.height > 3000
    keep = Path(
        os.environ.get(
            "MLVSDL_TEST_ARTIFACTS", Path(tempfile.gettempdir()) / "mlvsdl-test-artifacts"
        )
    )
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "report.png")
    with capsys.disabled():
        print(f"\nreport screenshot: {keep / 'report.png'} ({width}x{height})")
