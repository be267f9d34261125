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
