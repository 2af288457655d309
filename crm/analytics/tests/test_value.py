import numpy as np
import pytest

from crm.analytics.stats import value


def test_tiers_by_hand():
    # Total 100.  Shares made by strictly larger profits: 50 → 0, 30 → 0.5, 10 → 0.8, 5 → 0.9, 5 → 0.9, 0 → 1.
    profit = [50, 30, 10, 5, 5, 0]
    assert value.share_before(profit).tolist() == pytest.approx([0, 0.5, 0.8, 0.9, 0.9, 1.0])
    assert value.tiers(profit).tolist() == [0, 0, 1, 1, 1, 2]


def test_equal_profits_get_equal_tiers_whatever_the_order():
    rng = np.random.default_rng(5)
    profit = rng.choice([1.0, 2.0, 5.0, 10.0, 100.0], 1000)
    tier = value.tiers(profit)
    for g in np.unique(profit):
        assert len(set(tier[profit == g].tolist())) == 1
    perm = rng.permutation(1000)
    assert np.array_equal(value.tiers(profit[perm]), tier[perm])


def test_tier_shares_add_up_to_one():
    rng = np.random.default_rng(6)
    profit = rng.lognormal(3, 1.5, 10000) - 5  # some loss-making customers
    summary = value.tier_summary(profit, value.tiers(profit))
    assert sum(summary.customer_shares.values()) == pytest.approx(1)
    assert sum(summary.profit_shares.values()) == pytest.approx(1)
    assert sum(summary.counts.values()) == 10000
    assert summary.profit_shares["high_value"] >= 0.80


def test_loss_making_customers_are_small_and_count_as_zero():
    profit = [100, -50, 0]
    assert value.tiers(profit).tolist() == [0, 2, 2]
    assert value.gini(profit) == pytest.approx(value.gini([100, 0, 0]))
    assert value.tiers([-1, -2]).tolist() == [2, 2]
    assert value.customers_for_share([-1, -2]) is None


def test_a_loss_is_profit_below_zero_everywhere():
    from crm.analytics import scoring

    profit = np.array([100.0, -50.0, 0.0, -0.01])
    assert value.loss_making(profit) == 2  # zero profit is not a loss
    assert scoring.value_figures(profit)["loss_making"] == 2


def test_gini_of_equal_profits_is_zero_and_of_one_customer_with_all_is_almost_one():
    assert value.gini(np.full(1000, 7.0)) == pytest.approx(0, abs=1e-12)
    one = np.zeros(1000)
    one[3] = 50
    assert value.gini(one) == pytest.approx(999 / 1000)
    # Hand case: [1, 2, 3] → Σ(2i − n − 1)g = (−2)(1) + 0(2) + 2(3) = 4; 4 / (3·6) = 2/9.
    assert value.gini([3, 1, 2]) == pytest.approx(2 / 9)


def test_customers_for_80_percent():
    # 20 of 100 customers hold 80 % of the profit exactly.
    profit = np.r_[np.full(20, 4.0), np.full(80, 0.25)]
    assert value.customers_for_share(profit, 0.80) == pytest.approx(0.20)
    assert value.customers_for_share([10, 10, 10, 10, 10], 0.80) == pytest.approx(0.80)


def test_lorenz_curve_runs_from_origin_to_one_and_is_convex():
    x, y = value.lorenz_curve([5, 1, 4, 0, 10], points=None)
    assert x.tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert y.tolist() == pytest.approx([0, 0, 0.05, 0.25, 0.5, 1.0])
    xs, ys = value.lorenz_curve(np.random.default_rng(1).gamma(1, 1, 10000), points=11)
    assert len(xs) == 11 and ys[0] == 0 and ys[-1] == pytest.approx(1)
    assert np.all(np.diff(ys, 2) >= -1e-12)
