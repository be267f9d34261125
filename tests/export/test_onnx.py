"""ONNX export: ONNX Runtime gives the native model's predictions (probabilities within 1e-5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("skl2onnx", reason="needs the export extra: pip install 'mlvsdl[export]'")
ort = pytest.importorskip("onnxruntime")

from mlvsdl.errors import ConfigError  # noqa: E402
from mlvsdl.export.onnx import export_onnx, onnx_feed  # noqa: E402
from tests.export.conftest import fitted_pipeline  # noqa: E402

CASES = [
    ("binary", "linear"),
    ("binary", "lgbm"),
    ("binary", "mlp"),
    ("multiclass", "linear"),
    ("multiclass", "lgbm"),
    ("regression", "linear"),
    ("regression", "lgbm"),
    ("regression", "mlp"),
]


def _run(path, estimator, frame) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_feed(estimator, frame)), strict=True))


@pytest.mark.parametrize(("task", "family"), CASES)
def test_onnx_runtime_matches_the_native_model(tmp_path, task, family):
    estimator, schema, frame = fitted_pipeline(task, family)
    done = export_onnx(estimator, schema, tmp_path / "m.onnx", run_id="r1", model_name=family)
    out = _run(done.path, estimator, frame)
    if schema.task.is_classification:
        assert done.outputs == ["label", "probabilities"]
        np.testing.assert_allclose(
            out["probabilities"], estimator.predict_proba(frame), rtol=0, atol=1e-5
        )
        assert out["label"].tolist() == estimator.predict(frame).tolist()
    else:
        assert done.outputs == ["prediction"]
        expected = estimator.predict(frame)
        np.testing.assert_allclose(out["prediction"][:, 0], expected, rtol=1e-5, atol=1e-4)
    one = _run(done.path, estimator, frame.iloc[:1])  # a batch of one row works too
    assert len(one[done.outputs[-1]]) == 1


def test_inputs_are_the_cleaned_columns_and_metadata_says_what_is_left_out(tmp_path):
    import onnx

    estimator, schema, _ = fitted_pipeline("binary", "linear")
    done = export_onnx(estimator, schema, tmp_path / "m.onnx", run_id="r1", model_name="linear")
    cleaned = list(estimator.named_steps["clean"].get_feature_names_out())
    assert [name for name, _ in done.inputs] == cleaned
    assert dict(done.inputs)["colour"] == "string" and dict(done.inputs)["x1"] == "float32"
    meta = {p.key: p.value for p in onnx.load(str(done.path)).metadata_props}
    assert meta["mlvsdl.run_id"] == "r1" and meta["mlvsdl.model"] == "linear"
    assert json.loads(meta["mlvsdl.classes"]) == ["no", "yes"]
    assert "TableCleaner" in meta["mlvsdl.not_included"]


@pytest.mark.parametrize(
    ("family", "message"),
    [
        ("dummy", "DummyClassifier is not exported to ONNX: skl2onnx has no converter"),
        ("knn", "KNeighborsClassifier is not exported to ONNX"),
        ("decision_tree", "DecisionTreeClassifier is not exported to ONNX"),
    ],
)
def test_models_without_an_exact_conversion_are_refused(tmp_path, family, message):
    estimator, schema, _ = fitted_pipeline("binary", family)
    with pytest.raises(ConfigError, match=message):
        export_onnx(estimator, schema, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(ConfigError, match="clean -> encode -> model"):
        export_onnx(estimator.named_steps["model"], schema, tmp_path / "m.onnx")


def test_a_graph_that_disagrees_on_the_probe_rows_is_not_written(tmp_path, monkeypatch):
    from mlvsdl.export import onnx as export_module

    estimator, schema, frame = fitted_pipeline("binary", "decision_tree")
    monkeypatch.setattr(export_module, "EXPORTABLE", {"DecisionTreeClassifier"})
    with pytest.raises(ConfigError, match="disagrees with the model"):
        export_onnx(estimator, schema, tmp_path / "m.onnx", probe=frame.head(5))  # NaN in row 1
    assert not (tmp_path / "m.onnx").exists()


def test_probe_rows_cover_missing_and_unseen_values():
    from mlvsdl.export.onnx import probe_rows

    _, schema, _ = fitted_pipeline("binary", "linear")
    reference = {"x1": 0.1, "x2": 0.0, "colour": "red", "flag": True, "when": "2024-01-01"}
    rows = probe_rows(schema, reference)
    assert len(rows) == 1 + len(schema.feature_names) + 1
    assert rows.iloc[0].tolist() == list(reference.values())
    assert rows["colour"].iloc[-1] == "__never_seen__"


def test_rare_and_unseen_levels_match_scikit_learn(tmp_path):
    from mlvsdl.data import infer_schema
    from mlvsdl.families.registry import get_family
    from tests.conftest import make_table

    frame = make_table(n=240, seed=3)
    rare = ["r1", "r1", "r2", "r2", "r3", "r4", "r5", "r6"]
    frame["shop"] = ["main"] * 120 + ["side"] * 112 + rare
    cleaned, schema = infer_schema(frame, "y")
    estimator = get_family("linear").build(schema, random_state=0)
    estimator.fit(cleaned.drop(columns=["y"]), cleaned["y"].to_numpy())
    encoder = estimator.named_steps["encode"].named_transformers_["cat"]
    assert encoder.infrequent_categories_[-1] is not None  # the rare shops are pooled
    rows = frame.drop(columns=["y"]).iloc[[0, 130, 233, 235, 238, 1]].copy()
    rows.iloc[-1, rows.columns.get_loc("shop")] = "never seen"
    done = export_onnx(estimator, schema, tmp_path / "m.onnx")
    out = _run(done.path, estimator, rows)
    np.testing.assert_allclose(out["probabilities"], estimator.predict_proba(rows), atol=1e-5)
