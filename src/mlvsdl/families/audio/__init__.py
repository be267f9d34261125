"""Audio families, classical and deep. Importing this package registers them.

Classical, on MFCC statistics (20 MFCCs and deltas, mean/std/min/max over time):
``mfcc_svm`` (RBF SVM), ``mfcc_logreg`` and ``mfcc_lgbm``. Network: ``audio_cnn``, the CNN of
the image families on log-mel spectrograms, augmented by random shifts in time only.
"""

from __future__ import annotations

from functools import partial

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlvsdl.families.base import Family
from mlvsdl.families.image import lgbm_model, logreg_model, svm_model
from mlvsdl.families.image.dl import ConvNetClassifier, ConvNetRegressor
from mlvsdl.families.registry import register
from mlvsdl.features.audio import LogMel, MFCCStats, waveforms
from mlvsdl.types import SUPERVISED, Kind, Modality, Schema

__all__ = ["AUDIO_FAMILIES", "build_audio_cnn"]

ALL_TASKS = SUPERVISED  # the prediction tasks; other tasks have families of their own
AUDIO = frozenset({Modality.AUDIO})


def _ml(schema: Schema, seed: int, *, model: str) -> Pipeline:
    builders = {"logreg": logreg_model, "svm": svm_model, "lgbm": lgbm_model}
    load = waveforms(schema)
    return Pipeline(
        [
            ("load", load),
            ("mfcc", MFCCStats(sample_rate=load.sample_rate)),
            ("scale", StandardScaler()),
            ("model", builders[model](schema, seed)),
        ]
    )


def build_audio_cnn(schema: Schema, random_state: int) -> Pipeline:
    """Unfitted ``load -> log-mel -> CNN`` pipeline; shifts of up to 8 frames (80 ms) in time.

    Widths 16 -> 32 -> 64: a spectrogram of 1 s has ~100 x 40 cells, and wider stages cost more
    CPU time per epoch than they return in accuracy here."""
    load = waveforms(schema)
    model_class = ConvNetClassifier if schema.task.is_classification else ConvNetRegressor
    model = model_class(
        arch="cnn", width=16, n_stages=3, shift_h=0, shift_w=8, random_state=random_state
    )
    return Pipeline(
        [("load", load), ("melspec", LogMel(sample_rate=load.sample_rate)), ("model", model)]
    )


AUDIO_FAMILIES = tuple(
    register(family)
    for family in (
        Family(
            "mfcc_logreg",
            "MFCC stats, logistic regression",
            Kind.ML,
            ALL_TASKS,
            AUDIO,
            partial(_ml, model="logreg"),
            relative_cost=2.0,
            interpretable=True,
            description="Logistic regression (ridge) on MFCC and delta statistics.",
        ),
        Family(
            "mfcc_svm",
            "MFCC stats, RBF SVM",
            Kind.ML,
            ALL_TASKS,
            AUDIO,
            partial(_ml, model="svm"),
            relative_cost=3.0,
            max_train_rows=20_000,
            description="RBF-kernel SVM on MFCC and delta statistics.",
        ),
        Family(
            "mfcc_lgbm",
            "MFCC stats, LightGBM",
            Kind.ML,
            ALL_TASKS,
            AUDIO,
            partial(_ml, model="lgbm"),
            relative_cost=5.0,
            self_limiting=True,  # stops boosting at its allowance (families/ml/lgbm.py)
            description="Gradient-boosted trees on MFCC and delta statistics.",
        ),
        Family(
            "audio_cnn",
            "CNN on log-mel spectrograms",
            Kind.DL,
            ALL_TASKS,
            AUDIO,
            build_audio_cnn,
            relative_cost=40.0,
            max_train_rows=200_000,
            description="CNN on 40-band log-mel spectrograms, random time-shift augmentation.",
            self_limiting=True,
        ),
    )
)
