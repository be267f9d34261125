"""Take a model out of the store: one portable bundle file, or an ONNX graph.

* :mod:`mlvsdl.export.bundle`: ``write_bundle`` / ``load_model`` (core dependencies only);
* :mod:`mlvsdl.export.onnx`: ``export_onnx`` / ``export_run_onnx`` / ``onnx_feed`` (needs the
  ``export`` extra: ``pip install 'mlvsdl[export]'``); imported only when used.
"""

from __future__ import annotations

from mlvsdl.export.bundle import BundledModel, load_model, write_bundle

__all__ = ["BundledModel", "load_model", "write_bundle"]
