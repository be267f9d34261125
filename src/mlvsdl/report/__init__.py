"""The HTML report of a run, built from the store alone (see :mod:`mlvsdl.report.build`)."""

from __future__ import annotations

from mlvsdl.report.build import REPORT_FILE, build_report, write_report

__all__ = ["REPORT_FILE", "build_report", "write_report"]
