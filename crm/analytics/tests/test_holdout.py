import numpy as np
import pytest

from crm.analytics.stats import holdout


def test_cdnow_calibration_and_holdout(cdnow):
    customer, date, _amount = cdnow
    result = holdout.calibration_holdout(customer, date, calibration_end="1997-09-30",
                                         observation_end="1998-06-30", period="week")
    assert result.horizon == 39
    assert len(result.customer) == 2357
    assert round(result.fit.params.r, 3) == 0.243
    assert result.buckets["labels"] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(result.buckets["customers"]) == 2357
    # The model tracks the holdout well in aggregate (FHL 2005 report the same pattern): within 15 %.
    assert result.total_predicted == pytest.approx(result.total_actual, rel=0.15)
    means = np.array(result.buckets["mean_predicted"])
    assert np.all(np.diff(means) > 0)  # more past purchases, more expected future purchases


def test_by_frequency_by_hand():
    buckets = holdout.by_frequency([0, 0, 1, 9], np.array([0.1, 0.3, 1.0, 5.0]), np.array([0, 1, 2, 4]),
                                   max_bucket=2)
    assert buckets["labels"] == ["0", "1", "2+"]
    assert buckets["customers"] == [2, 1, 1]
    assert buckets["mean_predicted"] == pytest.approx([0.2, 1.0, 5.0])
    assert buckets["mean_actual"] == pytest.approx([0.5, 2.0, 4.0])
    assert holdout.by_frequency([0], np.array([1.0]), np.array([1]), max_bucket=1)["mean_actual"] == [1.0, None]


def test_with_amounts_only_purchase_occasions_count_in_both_periods():
    # Customer 1: purchases on days 0 and 3, a return on day 5; holdout: a purchase on day 12, a return on 14.
    # Customer 2: a purchase on day 1, a zero row on day 4; holdout: a zero row on day 11.
    customer = np.array([1, 1, 1, 1, 1, 2, 2, 2])
    days = np.array([0, 3, 5, 12, 14, 1, 4, 11])
    amount = np.array([10, 20, -5, 8, -8, 7, 0, 0])
    result = holdout.calibration_holdout(customer, days, calibration_end=10, observation_end=20, amount=amount)
    assert result.frequency.tolist() == [1, 0]
    assert result.actual.tolist() == [1, 0]
    every_day = holdout.calibration_holdout(customer, days, calibration_end=10, observation_end=20)
    assert every_day.frequency.tolist() == [2, 1]
    assert every_day.actual.tolist() == [2, 1]
