import numpy as np
import pytest

from crm.analytics.stats import bgnbd, clv, quality

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


def test_next_purchase_from_own_rhythm_the_company_gap_and_the_model():
    # Bought 4 times (x = 3) over 30 weeks (a gap of 10 weeks), last on day 100: due on day 170.  A one-time
    # buyer has no rhythm: no date ("no pattern yet"), whatever the method.
    params = bgnbd.BGNBDParams(*CDNOW)
    kw = {"x": np.array([3, 0]), "t_x": np.array([30.0, 0.0]), "T": np.array([35.0, 10.0]),
          "last_day": np.array([100, 65]), "as_of_day": 135, "period_days": 7, "params": params,
          "median_gap_periods": 4.0}
    rhythm = quality.timing_days("rhythm", **kw)
    assert rhythm[0] == 170 and np.isnan(rhythm[1])
    # The company's median gap of 4 weeks instead of the customer's own: day 128, a week overdue at day 135.
    gap = quality.timing_days("median_gap", **kw)
    assert gap[0] == 128 and np.isnan(gap[1])
    r, alpha = CDNOW[0], CDNOW[1]
    model = quality.timing_days("model", **kw)
    median = (alpha + 35) * (2 ** (1 / (r + 3)) - 1)  # periods after the as-of date
    assert model[0] == round(135 + 7 * median) and np.isnan(model[1])
    # The median: P(no purchase in the next `median` periods | active) = 1/2.
    assert ((alpha + 35) / (alpha + 35 + median)) ** (r + 3) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        quality.timing_days("tomorrow", **kw)
