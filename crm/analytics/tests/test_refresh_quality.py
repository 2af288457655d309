"""The refresh's trustworthy predictions: purchases that are not purchases, refused fits, the backtest,
and how it chooses the at-risk rule and the timing method.  Figures computed by hand."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest

from crm.analytics import aggregation
from crm.analytics.models import AnalyticsSettings, CustomerMetrics
from crm.analytics.services.compute import churn_rule_for, flag_at_risk
from crm.customers.tests.factories import CustomerFactory

from .test_refresh import AS_OF, D, order, refresh, rows

pytestmark = pytest.mark.django_db


@pytest.fixture(name="small")
def small_fixture(org):
    settings = AnalyticsSettings.load()
    settings.lookback_days = 365
    settings.period = "day"
    settings.holdout_months = 3
    settings.save()
    c = {name: CustomerFactory(owner=org.rep, name=f"客户{name}") for name in "AZR"}
    order(c["A"], D(2026, 1, 5), "100", "40")
    order(c["A"], D(2026, 3, 5), "0", "-30")  # free goods: its cost lowers the margin, but it is no purchase
    order(c["A"], D(2026, 4, 6), "0", "0")
    order(c["Z"], D(2026, 2, 1), "0", "-10")  # only free goods: not a customer who bought
    order(c["R"], D(2026, 2, 1), "300", "100")
    order(c["R"], D(2026, 2, 20), "300", "100", status="returned")  # never revenue, reported
    order(c["R"], D(2026, 5, 1), "200", "50")
    return c


def test_zero_amount_days_are_not_purchase_occasions(small):
    window = aggregation.Window.from_settings(AS_OF, AnalyticsSettings.load())
    h = aggregation.customer_history(window)
    ids = h["customer"].astype(int).tolist()
    a, r = ids.index(small["A"].pk), ids.index(small["R"].pk)
    assert small["Z"].pk not in ids and h.without_purchase == 1 and h.without_purchase_orders == 1
    assert h["days"][a] == 1 and h["orders"][a] == 1 and h["zero_orders"][a] == 2
    assert h["revenue"][a] == 100 and h["margin"][a] == 10  # 40 − 30: returns and free goods net
    assert h["first_day"][a] == h["last_day"][a] == aggregation.day_number(D(2026, 1, 5))
    assert h["days"][r] == 2 and h["revenue"][r] == 500
    # the calibration end is 2026-03-30: R's May purchase is the first after it
    assert h["cal_days"][r] == 1 and h["hold_first"][r] == aggregation.day_number(D(2026, 5, 1))
    assert h["hold_revenue"][r] == 200 and h["hold_first"][a] > aggregation.day_number(AS_OF)  # none
    assert aggregation.returned_orders(window) == (1, 300.0)


def test_the_refresh_leaves_out_non_purchases_and_reports_them(small):
    snapshot = refresh()
    got = rows(snapshot, small)
    assert got["Z"] is None  # bought nothing
    assert got["A"].frequency == 0 and got["A"].transactions == 1 and got["A"].gross_profit == Decimal("10.00")
    assert got["A"].next_purchase_on is None  # a one-time buyer has no pattern yet
    assert snapshot.results["exclusions"] == {"zero_amount_orders": 3, "returned_orders": 1,
                                              "returned_amount": 300.0, "customers_without_purchase": 1}
    # Two customers cannot support a purchase model: refused with the reason, the other figures stand.
    refusals = snapshot.results["models"]["refusals"]
    assert refusals["purchase"]["code"] in {"too_few_customers", "too_few_repeaters", "no_repeaters"}
    assert snapshot.results["models"]["bgnbd"] is None
    assert got["R"].p_alive is None and got["R"].clv is None and got["R"].r_score is not None
    assert not CustomerMetrics.objects.filter(snapshot=snapshot, at_risk=True).exists()


def _analysis(fitted=True):
    return SimpleNamespace(bgnbd=object() if fitted else None, model="mbgnbd")


def _settings(threshold=None):
    return SimpleNamespace(churn_threshold=threshold)


BACKTEST_MODEL = {"churn": {"winner": "model", "threshold": 0.42, "baseline_threshold_days": 120}}
BACKTEST_BASELINE = {"churn": {"winner": "baseline", "threshold": 0.42, "baseline_threshold_days": 120}}


def test_the_at_risk_rule_comes_from_the_settings_then_the_backtest_then_the_default():
    rule = churn_rule_for(_analysis(), _settings(0.2), BACKTEST_MODEL)
    assert (rule["rule"], rule["threshold"], rule["threshold_source"]) == ("model", 0.2, "settings")
    rule = churn_rule_for(_analysis(), _settings(), BACKTEST_MODEL)
    assert (rule["rule"], rule["threshold"], rule["threshold_source"]) == ("model", 0.42, "backtest")
    # The model did not beat the recency rule: the lists use the recency rule.
    rule = churn_rule_for(_analysis(), _settings(), BACKTEST_BASELINE)
    assert (rule["rule"], rule["recency_days"], rule["threshold_source"]) == ("recency", 120, "backtest")
    rule = churn_rule_for(_analysis(), _settings(), None)
    assert (rule["rule"], rule["threshold"], rule["threshold_source"]) == ("model", 0.30, "default")
    # No usable model: only the recency rule can flag, and without a backtest nobody is flagged.
    rule = churn_rule_for(_analysis(fitted=False), _settings(0.2), BACKTEST_MODEL)
    assert (rule["rule"], rule["recency_days"]) == ("recency", 120)
    assert churn_rule_for(_analysis(fitted=False), _settings(), None)["rule"] is None


def test_flag_at_risk_by_rule():
    p_alive = np.array([0.1, 0.5, np.nan])
    days = np.array([200, 10, 130])
    model = {"rule": "model", "threshold": 0.5, "threshold_source": "settings"}
    assert flag_at_risk(model, p_alive, days).tolist() == [True, False, False]
    # A backtest's threshold flags the scores at it too: the flag it measured.
    model["threshold_source"] = "backtest"
    assert flag_at_risk(model, p_alive, days).tolist() == [True, True, False]
    assert flag_at_risk({"rule": "recency", "recency_days": 130}, p_alive, days).tolist() == [
        True, False, True]
    assert flag_at_risk({"rule": None}, p_alive, days).tolist() == [False, False, False]


def test_backtest_on_simulated_customers_chooses_and_explains(simulated):
    settings = AnalyticsSettings.load()
    settings.holdout_months = 6
    settings.save()
    snapshot = refresh()
    bt = snapshot.results["backtest"]
    assert bt["error"] is None, bt
    assert bt["split"] == "2025-12-30" and bt["holdout_days"] == (AS_OF - datetime.date(2025, 12, 30)).days
    assert {m["model"] for m in bt["churn"]["models"]} == {"bgnbd", "mbgnbd"}
    assert bt["churn"]["model"] in {"bgnbd", "mbgnbd"}
    assert bt["timing"]["chosen"] in {"rhythm", "model", "median_gap"}
    assert set(bt["verdicts"]) == {"churn", "timing", "purchases", "value"}
    rule = snapshot.results["churn"]
    assert rule["threshold_source"] == "backtest"
    metrics = list(CustomerMetrics.objects.filter(snapshot=snapshot).select_related(None))
    if rule["rule"] == "model":
        assert all(m.at_risk == (m.p_alive <= rule["threshold"]) for m in metrics)
    else:
        assert all(m.at_risk == (m.days_since_last >= rule["recency_days"]) for m in metrics)
    assert snapshot.results["models"]["model"] == bt["churn"]["model"]
    assert snapshot.results["timing"]["method"] == bt["timing"]["chosen"]
    # One-time buyers never get a date; repeat buyers always do.
    assert all((m.next_purchase_on is None) == (m.frequency == 0) for m in metrics)


def test_the_quality_page_reads_a_real_refresh(simulated, client, org):
    """The page renders what a refresh stores (not only hand-made results): a verdict per section."""
    import re

    from django.urls import reverse

    settings = AnalyticsSettings.load()
    settings.holdout_months = 6
    settings.save()
    snapshot = refresh()
    client.force_login(org.ceo)
    html = client.get(reverse("analytics:quality")).content.decode()
    verdicts = dict(re.findall(r'data-testid="verdict-(\w+)" data-verdict="(\w+)"', html))
    assert verdicts == snapshot.results["backtest"]["verdicts"]
    dashboard = client.get(reverse("analytics:dashboard")).content.decode()
    assert 'data-testid="churn-rule"' in dashboard and 'data-testid="timing-rule"' in dashboard
