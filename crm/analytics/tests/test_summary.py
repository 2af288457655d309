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


def test_a_purchase_and_two_later_returns_is_one_purchase_not_a_loyal_customer():
    s = summarize(["a", "a", "a", "b"], [0, 5, 10, 3], [100, -100, -100, 20], as_of=20)
    assert s.customer.tolist() == ["a", "b"]
    assert s.transactions.tolist() == [1, 1]
    assert s.frequency.tolist() == [0, 0]
    assert s.last_day.tolist() == [0, 3]
    assert s.T.tolist() == [20, 17]
    assert s.revenue.tolist() == [-100, 20]  # net of the returns
    assert s.monetary.tolist() == [0, 0]
    assert s.report == {"rows": 4, "return_rows": 2, "returned_amount": 200.0, "zero_rows": 0,
                        "non_purchase_days": 2, "customers_without_purchase": 0, "without_purchase_amount": 0.0}


def test_zero_amount_rows_and_a_lone_refund_are_not_purchases():
    s = summarize(["z", "z", "z", "z", "r", "p"], [0, 3, 6, 9, 4, 2], [0, 0, 0, 0, -50, 10], [0, 0, 0, 0, -30, 4])
    assert s.customer.tolist() == ["p"]  # four zero days and a refund: never bought, no CLV or RFM
    assert s.report["zero_rows"] == 4 and s.report["return_rows"] == 1 and s.report["returned_amount"] == 50
    assert s.report["non_purchase_days"] == 5
    assert s.report["customers_without_purchase"] == 2 and s.report["without_purchase_amount"] == -50


def test_a_return_on_the_same_day_nets_into_one_purchase_with_its_cost():
    s = summarize([1, 1], [4, 4], [100, -30], [60, -18])
    assert s.transactions.tolist() == [1] and s.frequency.tolist() == [0]
    assert s.revenue.tolist() == [70] and s.cost.tolist() == [42]
    assert s.report["return_rows"] == 1 and s.report["non_purchase_days"] == 0


def test_a_return_on_a_later_day_lowers_revenue_and_the_repeat_mean_but_not_frequency():
    # Purchases on days 0 and 10, a return of 30 on day 20; a return before the first purchase on day -5.
    s = summarize([1, 1, 1, 1], [-5, 0, 10, 20], [-20, 100, 60, -30], as_of=30)
    assert s.frequency.tolist() == [1]
    assert s.first_day.tolist() == [0] and s.last_day.tolist() == [10]
    assert s.recency.tolist() == [10] and s.T.tolist() == [30]
    assert s.revenue.tolist() == [110]  # -20 + 100 + 60 - 30
    assert s.monetary.tolist() == [30]  # (60 - 30) / 1: days after the first purchase only


def test_the_repeat_mean_is_clipped_at_zero():
    s = summarize([1, 1, 1], [0, 5, 8], [100, 20, -50])
    assert s.frequency.tolist() == [1] and s.monetary.tolist() == [0]


def test_only_returns_give_an_empty_summary_with_a_report():
    s = summarize([1, 2, 2], [0, 1, 2], [-5, -1, -2])
    assert s.n == 0
    assert s.report["customers_without_purchase"] == 2 and s.report["without_purchase_amount"] == -8
    assert s.report["returned_amount"] == 8 and s.report["rows"] == 3


def test_count_zero_days_counts_free_goods_but_not_a_day_netted_to_zero_by_a_return():
    s = summarize([1, 1, 1], [0, 2, 2], [0, 10, -10], count_zero_days=True)
    assert s.transactions.tolist() == [1] and s.first_day.tolist() == [0]


def test_holdout_counts_with_amounts_count_days_with_a_positive_net_amount_only():
    ids = np.array([1, 2])
    customer, days, amount = [1, 1, 1, 2, 2], [11, 11, 12, 13, 14], [10, -10, 5, 0, -3]
    assert holdout_counts(customer, days, ids=ids, calibration_end=10, observation_end=20).tolist() == [2, 2]
    assert holdout_counts(customer, days, ids=ids, calibration_end=10, observation_end=20,
                          amount=amount).tolist() == [1, 0]
