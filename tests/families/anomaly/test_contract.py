"""One conformance suite over every registered anomaly family."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from mlvsdl.families.anomaly import BaseDetector
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.tasks import get_task
from mlvsdl.types import Kind, Modality, Task
from tests.families.anomaly.data import NUMERIC, anomaly_schema, make_anomaly_table

BASELINE = get_task(Task.ANOMALY).baseline  # the constant scorer; tests/tasks covers it
FAMILIES = [f for f in all_families() if Task.ANOMALY in f.tasks and f.key != BASELINE]
IDS = [f.key for f in FAMILIES]
EXPECTED = {
    "iforest", "lof", "ocsvm", "pca_recon", "gmm", "knn_dist", "ecod",
    "autoencoder", "vae", "deep_svdd",
}  # fmt: skip


def _fast(estimator):
    """Networks train briefly here; the behaviour under test is the contract."""
    if "model__max_epochs" in estimator.get_params():
        estimator.set_params(model__max_epochs=12, model__batch_size=64)
    return estimator


@pytest.fixture(scope="module")
def data():
    frame, flags = make_anomaly_table()
    fresh, fresh_flags = make_anomaly_table(seed=1)
    return frame, flags, fresh, fresh_flags, anomaly_schema(frame)


@pytest.fixture(scope="module")
def fitted(data):
    """Each family fitted once on the table's normal rows (the first fit of the determinism
    check); ``test_contamination_sets_the_share_flagged`` fits on the rows with anomalies."""
    frame, flags, _, _, schema = data
    return {f.key: _fast(f.build(schema, random_state=0)).fit(frame[~flags]) for f in FAMILIES}


def test_registry_has_every_anomaly_family_and_no_supervised_family_claims_the_task():
    assert {f.key for f in FAMILIES} == EXPECTED
    assert {f.kind for f in FAMILIES} == {Kind.ML, Kind.DL}
    for family in FAMILIES:
        assert family.tasks == frozenset({Task.ANOMALY})
        assert Modality.TABULAR in family.modalities


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_detector_contract(family, data, fitted, tmp_path):
    frame, flags, fresh, fresh_flags, schema = data
    estimator = _fast(family.build(schema, random_state=0))
    assert list(dict(estimator.steps)) == ["clean", "encode", "model"]
    assert isinstance(estimator[-1], BaseDetector)
    assert clone(estimator).get_params().keys() == estimator.get_params().keys()

    model = fitted[family.key]
    scores = model.score_samples(frame)
    assert scores.shape == (len(frame),) and np.all(np.isfinite(scores))
    assert roc_auc_score(flags, -scores) >= 0.8
    assert roc_auc_score(fresh_flags, -model.score_samples(fresh)) >= 0.8

    detector = model[-1]
    decision = model.decision_function(frame)
    np.testing.assert_allclose(decision, scores - detector.offset_)
    pred = model.predict(frame)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_array_equal(pred, np.where(decision < 0, -1, 1))
    assert detector.threshold_rule_.startswith("Tukey")
    assert isinstance(detector.contribution_method_, str) and detector.contribution_method_

    normal = frame[~flags]
    again = _fast(family.build(schema, random_state=0))
    assert again.fit(normal, flags[~flags]) is again  # y is ignored
    np.testing.assert_array_equal(again.score_samples(frame), scores)

    sha = save_estimator(model, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(loaded.score_samples(frame), scores)
    np.testing.assert_array_equal(loaded.predict(frame), pred)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_contamination_sets_the_share_flagged(family, data):
    frame, flags, fresh, fresh_flags, schema = data
    model = _fast(family.build(schema, random_state=0))
    model.set_params(model__contamination=0.1).fit(frame)  # anomalies among the training rows
    assert model[-1].threshold_rule_ == "top 10.0 % of training scores"
    assert roc_auc_score(flags, -model.score_samples(frame)) >= 0.8
    assert roc_auc_score(fresh_flags, -model.score_samples(fresh)) >= 0.8
    on_train = np.mean(model.predict(frame) == -1)
    on_fresh = np.mean(model.predict(fresh) == -1)
    if model[-1].leave_one_out:  # thresholded on leave-one-out scores: new rows get the share
        assert 0.0 <= on_train <= 0.12
    else:
        assert on_train == pytest.approx(0.1, abs=1 / len(frame))
    assert 0.05 <= on_fresh <= 0.17


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_the_extreme_column_contributes_most(family, data, fitted):
    # fitted on the normal rows: with anomalies among the training rows, PCA's kept subspace
    # turns toward them and its residuals spread over correlated columns
    frame, flags, _, _, _ = data
    model = fitted[family.key]
    names = list(model[:-1].get_feature_names_out())
    row = frame[~flags].median(numeric_only=True)
    probe = frame[~flags].iloc[[0]].copy()
    probe[list(NUMERIC)] = row[list(NUMERIC)].to_numpy()
    probe["b"] = row["b"]
    probe["c"] = row["c"] + 9.0  # only c is extreme
    contributions = model[-1].feature_contributions(model[:-1].transform(probe))
    assert contributions.shape == (1, len(names))
    assert names[int(np.argmax(contributions[0]))] == "num__c"


DEEP = [f for f in FAMILIES if f.kind is Kind.DL]


@pytest.mark.parametrize("family", DEEP, ids=[f.key for f in DEEP])
def test_networks_keep_to_their_time_allowance(family, data, fitted):
    frame, _, _, _, schema = data
    allowance_s = 0.5
    model = family.build(schema, random_state=0)
    model.set_params(model__max_time_s=allowance_s, model__max_epochs=100_000)
    model.set_params(model__patience=None, model__batch_size=8)
    start = time.perf_counter()
    model.fit(frame)
    assert time.perf_counter() - start <= 1.5 * allowance_s + 0.25
    detector = model[-1]
    assert detector.stop_reason_ == "time"
    assert detector.n_params_ > 0 and detector.history_ and detector.best_epoch_ >= 1
    trained = fitted[family.key][-1]
    assert trained.stop_reason_ in {"max_epochs", "early_stopping"}
