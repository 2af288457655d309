import numpy as np
import pytest

from crm.analytics.stats.summary import holdout_counts, summarize, to_days


def d(text):
    return np.datetime64(text, "D")


def test_same_day_purchases_are_one_transaction_and_amounts_add_up():
    s = summarize(
        ["a", "a", "a", "a", "b"],
        np.array(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15", "2024-01-10"], dtype="datetime64[D]"),
        [10, 5, 20, 40, 7],
        as_of="2024-01-29",
    )
    assert s.customer.tolist() == ["a", "b"]
    assert s.transactions.tolist() == [3, 1]
    assert s.frequency.tolist() == [2, 0]
    assert s.recency.tolist() == [14, 0]
    assert s.T.tolist() == [28, 19]
    # Mean value of the repeat transactions: (20 + 40) / 2; the first day (10 + 5) is left out.
    assert s.monetary.tolist() == [30, 0]
    assert s.revenue.tolist() == [75, 7]
    assert s.days_since_last.tolist() == [14, 19]


def test_as_of_ignores_later_transactions_and_measures_age_to_that_date():
    days = [0, 7, 14, 30]
    s = summarize([1, 1, 1, 2], days, [1, 2, 3, 4], as_of=10)
    assert s.customer.tolist() == [1]  # customer 2 starts after the as-of date
    assert s.frequency.tolist() == [1]
    assert s.recency.tolist() == [7]
    assert s.T.tolist() == [10]
    assert s.monetary.tolist() == [2]


def test_weeks_are_days_divided_by_seven():
    s = summarize([1, 1], [0, 213], [1, 1], as_of=272, period="week")
    assert s.recency[0] == pytest.approx(30.43, abs=0.005)
    assert s.T[0] == pytest.approx(38.86, abs=0.005)


def test_default_as_of_is_the_latest_date_and_rows_may_come_in_any_order():
    s = summarize([2, 1, 1], [5, 3, 0], [1, 1, 1])
    assert s.as_of_day == 5
    assert s.frequency.tolist() == [1, 0]
    assert s.T.tolist() == [5, 0]


def test_costs_give_gross_profit():
    s = summarize([1, 1, 2], [0, 1, 1], [100, 50, 30], [60, 20, 40])
    assert s.gross_profit.tolist() == [70, -10]


def test_dates_as_datetime_with_times_and_as_integer_days_agree():
    stamps = np.array(["2024-03-01T09:00", "2024-03-01T18:00", "2024-03-05T00:00"], dtype="datetime64[m]")
    assert to_days(stamps).tolist() == to_days(np.array(["2024-03-01", "2024-03-01", "2024-03-05"],
                                                         dtype="datetime64[D]")).tolist()
    with pytest.raises(TypeError):
        to_days(np.array(["x"]))
    with pytest.raises(ValueError):
        summarize([1], [0], [1], period="month")


def test_holdout_counts_distinct_days_after_the_calibration_end():
    ids = np.array([1, 2, 3])
    counts = holdout_counts([1, 1, 1, 2, 4, 1], [5, 11, 11, 12, 12, 30], ids=ids, calibration_end=10,
                            observation_end=20)
    assert counts.tolist() == [1, 1, 0]  # customer 1: day 11 twice is one; day 30 is after the end; 4 unknown
