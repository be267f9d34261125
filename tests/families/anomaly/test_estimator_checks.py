"""scikit-learn's own estimator checks on the bare detectors (the pipeline's final step)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from mlvsdl.families.anomaly import (
    AutoencoderDetector,
    DeepSVDDDetector,
    ECODDetector,
    GaussianMixtureDetector,
    IsolationForestDetector,
    KNNDistanceDetector,
    LOFDetector,
    OneClassSVMDetector,
    PCADetector,
    VAEDetector,
)
from mlvsdl.families.ml.constant import ConstantDetector

TINY_NET = {"hidden_dim": 4, "max_epochs": 1, "batch_size": 256}
DETECTORS = [
    IsolationForestDetector(n_estimators=20),
    LOFDetector(),
    KNNDistanceDetector(),
    OneClassSVMDetector(),
    PCADetector(),
    GaussianMixtureDetector(n_components_grid=(1, 2)),
    ECODDetector(),
    AutoencoderDetector(**TINY_NET),
    VAEDetector(**TINY_NET),
    DeepSVDDDetector(**TINY_NET),
    ConstantDetector(),
]

LEAVE_ONE_OUT = (
    "the threshold is set on leave-one-out training scores (each row is not its own neighbour "
    "or support vector), which new rows see; predicting the training rows themselves counts "
    "each row once more, so fewer than `contamination` of them are flagged (scikit-learn "
    "exempts its LocalOutlierFactor from this check through `novelty`)"
)
FLOAT32_NETWORK = (
    "a float32 network: matrix products over a batch of another size differ in the last bits "
    "(1e-7 relative), so scores on a subset are equal only to float32 precision"
)


BASELINE = (
    "the baseline scores every row alike, so no threshold flags a `contamination` share of rows: "
    "it flags none (that is what it is for)"
)


def expected_failed_checks(detector) -> dict[str, str]:
    if isinstance(detector, ConstantDetector):
        return {"check_outliers_train": BASELINE, "check_outliers_fit_predict": BASELINE}
    if detector.leave_one_out:
        return {
            "check_outliers_train": LEAVE_ONE_OUT,
            "check_outliers_fit_predict": LEAVE_ONE_OUT,
        }
    if isinstance(detector, AutoencoderDetector | VAEDetector | DeepSVDDDetector):
        return {"check_methods_subset_invariance": FLOAT32_NETWORK}
    return {}


@parametrize_with_checks(DETECTORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_detector(estimator, check):
    check(estimator)
