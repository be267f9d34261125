"""A trial's wall-clock allowance: shared among its fits, predictions held back."""

from __future__ import annotations

import pytest

from mlvsdl.search.trial import MIN_FIT_S, PREDICT_SHARE, _Allowance


def test_no_allowance_means_no_limit():
    assert _Allowance(None, rows_to_predict=1000).next_fit_s(3) is None


def test_before_any_prediction_a_share_is_held_back_for_predicting():
    allowance = _Allowance(100.0, rows_to_predict=1000)
    assert allowance.next_fit_s(4) == pytest.approx((1 - PREDICT_SHARE) * 100 / 4, abs=0.5)


def test_measured_prediction_rate_sets_what_is_held_back():
    allowance = _Allowance(100.0, rows_to_predict=1000)
    allowance.predicted(100, 2.0)  # 0.02 s a row; 900 rows to go: 18 s held back
    assert allowance.rows_left == 900
    assert allowance.next_fit_s(2) == pytest.approx((100 - 18) / 2, abs=0.5)


def test_an_allowance_used_up_still_lets_a_network_train():
    allowance = _Allowance(10.0, rows_to_predict=1000)
    allowance.predicted(10, 5.0)  # predicting everything would take far longer than is left
    assert allowance.next_fit_s(1) == MIN_FIT_S


def test_a_classical_trial_cuts_its_folds_to_keep_its_time():
    """A family that cannot stop itself stops between folds when the rest would overrun: with
    no time at all it keeps its first fold (its score, a bootstrap spread) and is not refitted."""
    from mlvsdl.data import infer_schema, make_splits
    from mlvsdl.search.trial import TrialSpec, run_trial
    from tests.conftest import make_table

    frame, schema = infer_schema(make_table(n=200), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    splits = make_splits(y, schema.task, n_folds=5, random_state=0)
    cut = run_trial(TrialSpec("linear", schema, X, y, splits, "roc_auc", 0, max_time_s=0.0))
    assert cut.status == "completed"
    assert len(cut.fold_scores) == 1
    assert cut.notes == ["validated on 1 of 5 folds and not refitted, to keep the budget"]
    assert cut.val_std is not None and cut.val_std > 0  # the bootstrap spread of one fold
    assert cut.n_train_rows < len(splits.train)  # the fold's model is the one kept
    full = run_trial(TrialSpec("linear", schema, X, y, splits, "roc_auc", 0))
    assert len(full.fold_scores) == 5 and full.notes == []
    assert full.fold_scores[0] == cut.fold_scores[0]
    assert full.n_train_rows == len(splits.train)
    network = run_trial(TrialSpec("mlp", schema, X, y, splits, "roc_auc", 0, max_time_s=1000.0))
    assert len(network.fold_scores) == 5  # a network with time obeys its own clock instead


def test_a_network_stopped_by_its_clock_with_little_left_keeps_its_fold_model(monkeypatch):
    """A network its clock stopped on a fold, with under ``MIN_NETWORK_FIT_S`` left for each
    remaining fit, keeps that fold's model (no more folds, no refit)."""
    from mlvsdl.data import infer_schema, make_splits
    from mlvsdl.search import trial
    from mlvsdl.search.trial import TrialSpec, run_trial
    from tests.conftest import make_table

    monkeypatch.setattr(trial, "MIN_FIT_S", 1e-3)  # a few milliseconds a fit: the clock stops it
    frame, schema = infer_schema(make_table(n=400), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    splits = make_splits(y, schema.task, n_folds=3, random_state=0)
    result = run_trial(TrialSpec("mlp", schema, X, y, splits, "roc_auc", 0, max_time_s=0.01))
    assert result.status == "completed" and len(result.fold_scores) == 1
    assert result.notes == ["validated on 1 of 3 folds and not refitted, to keep the budget"]
    assert result.n_train_rows == len(splits.folds[0][0])  # the fold's model is the one kept


def test_a_network_whose_allowance_is_too_small_for_every_fold_runs_fewer_longer_fits(
    monkeypatch,
):
    """Planned up front: 60 s over 3 folds and a refit is under ``MIN_NETWORK_FIT_S`` a fit, so
    the network runs one fold per ``STARVED_FIT_S`` (here one), given the whole allowance less
    what predicting is held back for, and keeps that fold's model; with time for every fit it
    runs them all."""
    from mlvsdl.data import infer_schema, make_splits
    from mlvsdl.search import trial
    from mlvsdl.search.trial import STARVED_FIT_S, TrialSpec, run_trial
    from tests.conftest import make_table

    given: list[float | None] = []
    original = trial._fit_rows

    def recording(spec, template, rows, limit, seed, per_fit_s):
        given.append(per_fit_s)
        return original(spec, template, rows, limit, seed, per_fit_s)

    monkeypatch.setattr(trial, "_fit_rows", recording)
    frame, schema = infer_schema(make_table(n=300), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    splits = make_splits(y, schema.task, n_folds=3, random_state=0)
    allowance = 60.0
    assert allowance / 4 < trial.MIN_NETWORK_FIT_S and allowance < 2 * STARVED_FIT_S
    result = run_trial(TrialSpec("mlp", schema, X, y, splits, "roc_auc", 0, max_time_s=allowance))
    assert result.status == "completed" and len(result.fold_scores) == 1
    assert result.notes == ["validated on 1 of 3 folds and not refitted, to keep the budget"]
    assert len(given) == 1 and given[0] == pytest.approx((1 - PREDICT_SHARE) * allowance, abs=1)
    assert result.n_train_rows == len(splits.folds[0][0])
    given.clear()
    roomy = run_trial(TrialSpec("mlp", schema, X, y, splits, "roc_auc", 0, max_time_s=400.0))
    assert len(roomy.fold_scores) == 3 and len(given) == 4  # three folds and the refit
    classical = run_trial(TrialSpec("linear", schema, X, y, splits, "roc_auc", 0, max_time_s=60.0))
    assert len(classical.fold_scores) == 3  # only self-limiting families plan fewer folds
