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
