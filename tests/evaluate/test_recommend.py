"""The recommendation rule: best by the metric unless a cheaper or more transparent model is
within the measured noise; what the choice costs; what would change it."""

from __future__ import annotations

import pytest

from mlvsdl.evaluate.metrics import METRICS
from mlvsdl.evaluate.recommend import Recommendation, recommend

ROC = METRICS["roc_auc"]


def _cand(name, kind, score, std=0.01, folds=5, family=None):
    return {
        "name": name, "family": family or name, "kind": kind, "status": "completed",
        "val_score": score, "val_std": std, "details": {"fold_scores": [score] * folds},
    }  # fmt: skip


COSTS = {
    "dummy": {"fit_time_s": 0.01, "latency_p50_ms": 0.5, "model_bytes": 1_000},
    "linear": {"fit_time_s": 0.2, "latency_p50_ms": 1.0, "model_bytes": 20_000},
    "lgbm": {"fit_time_s": 2.0, "latency_p50_ms": 3.0, "model_bytes": 900_000},
    "mlp": {"fit_time_s": 30.0, "latency_p50_ms": 2.0, "model_bytes": 800_000},
}
READABLE = {"dummy": True, "linear": True, "lgbm": False, "mlp": False}
TITLES = {"dummy": "Dummy", "linear": "Linear", "lgbm": "LightGBM", "mlp": "MLP"}


def _rec(cands, metric=ROC, **kwargs):
    return recommend(cands, metric, costs=COSTS, interpretable=READABLE, titles=TITLES, **kwargs)


def test_a_transparent_model_within_the_noise_wins():
    found = _rec([_cand("dummy", "ml", 0.5), _cand("lgbm", "ml", 0.850, std=0.02),
                  _cand("linear", "ml", 0.845), _cand("mlp", "dl", 0.80)])  # fmt: skip
    assert found.model == "linear" and found.best_model == "lgbm"
    assert found.noise == pytest.approx(0.02 / 5**0.5)
    assert set(found.within_noise) == {"lgbm", "linear"}
    assert "within the measured noise" in found.reasons[1]
    assert "read directly" in found.reasons[1] and "cheaper" in found.reasons[1]
    assert any("take LightGBM" in c for c in found.changes)
    assert "gives up 0.0050" in " ".join(found.costs)
    assert found.text.startswith("Recommendation: use Linear.")


def test_the_best_model_stands_when_nothing_comes_within_the_noise():
    found = _rec([_cand("dummy", "ml", 0.5), _cand("lgbm", "ml", 0.90, std=0.005),
                  _cand("linear", "ml", 0.85), _cand("mlp", "dl", 0.88)])  # fmt: skip
    assert found.model == "lgbm" and found.within_noise == ["lgbm"]
    assert "more than the measured noise" in found.reasons[1]
    assert "beats the dummy baseline by 0.4000" in found.reasons[2]
    assert (
        "best classical model (LightGBM) leads the best network (MLP) by 0.0200"
        in (found.reasons[3])
    )
    assert any("must be readable, Linear is 0.0500" in c for c in found.changes)
    assert any("Learning curves were not run" in c for c in found.changes)


def test_the_crossover_is_what_would_change_it():
    crossover = {"text": "With about 41,000 training rows, MLP is expected to overtake."}
    found = _rec([_cand("linear", "ml", 0.85), _cand("mlp", "dl", 0.80)],
                 crossover=crossover, curves_status="done")  # fmt: skip
    assert found.changes[0] == crossover["text"]
    skipped = _rec([_cand("linear", "ml", 0.85)], curves_status="skipped", curves_reason="no time")
    assert skipped.changes[0] == "Learning curves were asked for but skipped: no time."


def test_lower_is_better_metrics_rank_the_other_way():
    rmse = METRICS["rmse"]
    found = _rec([_cand("dummy", "ml", 9.0), _cand("lgbm", "ml", 3.0, std=0.1),
                  _cand("linear", "ml", 4.0, std=0.1)], metric=rmse)  # fmt: skip
    assert found.model == "lgbm"


def test_no_signal_says_so():
    found = _rec([_cand("dummy", "ml", 0.5, std=0.0), _cand("linear", "ml", 0.49)])
    assert "No model beats the dummy baseline" in found.reasons[0]


def test_nothing_finished_gives_none_and_the_record_round_trips():
    assert _rec([{**_cand("lgbm", "ml", 0.9), "status": "failed", "val_score": None}]) is None
    found = _rec([_cand("linear", "ml", 0.85), _cand("mlp", "dl", 0.80)])
    assert Recommendation.from_dict(found.to_dict()) == found
    assert found.summary.startswith("Use Linear (linear)")
