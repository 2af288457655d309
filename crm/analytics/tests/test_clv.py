import numpy as np
import pytest

from crm.analytics.stats import bgnbd, clv

CDNOW = (0.243, 4.414, 0.793, 2.426)


def test_discounting_by_hand_over_two_periods():
    x, t_x, T = np.array([2, 0]), np.array([30.43, 0.0]), np.array([38.86, 20.0])
    e1 = bgnbd.expected_purchases(CDNOW, 1, x, t_x, T)
    e2 = bgnbd.expected_purchases(CDNOW, 2, x, t_x, T)
    spend, d, m = np.array([40.0, 25.0]), 0.01, 0.3
    expected = m * spend * (e1 / 1.01 + (e2 - e1) / 1.01**2)
    got = clv.lifetime_value(CDNOW, spend, x, t_x, T, horizon=2, discount_rate=d, margin=m)
    assert got == pytest.approx(expected, rel=1e-12)


def test_without_discounting_clv_is_spend_times_expected_purchases():
    x, t_x, T = np.array([5, 1]), np.array([20.0, 3.0]), np.array([30.0, 30.0])
    got = clv.lifetime_value(CDNOW, np.array([10.0, 10.0]), x, t_x, T, horizon=52, discount_rate=0.0, step=4)
    assert got == pytest.approx(10 * bgnbd.expected_purchases(CDNOW, 52, x, t_x, T), rel=1e-10)


def test_discounting_lowers_value_and_a_longer_horizon_raises_it():
    x, t_x, T, spend = [3], [25.0], [30.0], [20.0]
    base = clv.lifetime_value(CDNOW, spend, x, t_x, T, horizon=52, discount_rate=0.002)[0]
    assert clv.lifetime_value(CDNOW, spend, x, t_x, T, horizon=52, discount_rate=0.01)[0] < base
    assert clv.lifetime_value(CDNOW, spend, x, t_x, T, horizon=104, discount_rate=0.002)[0] > base
    assert clv.per_period_rate(0.10, 52) == pytest.approx(1.10 ** (1 / 52) - 1)


def test_next_purchase_from_own_intervals_and_from_the_model():
    # Bought 4 times (x = 3) over 30 periods: a gap of 10; last purchase at 30, age 35 → due at 40, 5 ahead.
    assert clv.next_purchase([3], [30.0], [35.0], method="interval")[0] == pytest.approx(5.0)
    # Overdue: age 45 → 5 periods late.
    assert clv.next_purchase([3], [30.0], [45.0], method="interval")[0] == pytest.approx(-5.0)
    assert np.isnan(clv.next_purchase([0], [0.0], [10.0], method="interval")[0])
    r, alpha = CDNOW[0], CDNOW[1]
    median = clv.next_purchase([0], [0.0], [10.0], CDNOW, method="model")[0]
    assert median == pytest.approx((alpha + 10) * (2 ** (1 / r) - 1))
    # The median: P(no purchase in the next `median` periods | active) = 1/2.
    assert ((alpha + 10) / (alpha + 10 + median)) ** r == pytest.approx(0.5)
    auto = clv.next_purchase([3, 0], [30.0, 0.0], [35.0, 10.0], CDNOW)
    assert auto == pytest.approx([5.0, median])
