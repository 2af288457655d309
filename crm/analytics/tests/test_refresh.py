"""The refresh pipeline on a small hand-built data set, every figure computed by hand.

As of 2026-06-30, look-back 365 days (window from 2025-07-01), model period: day.  Six customers with
revenue orders in the window (amount, margin):

    A  rep             2026-01-05 100+50 (two orders, one day), 03-05 100, 05-05 100; 40 % margin; 1 interaction
    B  rep             2026-06-01 1000 (margin 500); an order on 2025-01-01 is outside the window
    C  rep             2026-02-01 100, 04-01 100, both on promotion; margin 20 each
    D  other_team_rep  2026-01-10, 02-10, 03-10 100 each, margin 10 each; 5 interactions
    E  other_team_rep  2026-04-15 200, 06-15 200, margin 80 each; estimated annual need 400
    F  sh_rep          2026-03-20 200, 05-20 200, margin 80 each; estimated annual need 10,000

Plus orders that must not count: A's cancelled, returned and draft orders and one after the as-of date,
and G (rep) with cancelled orders only.
"""

import datetime
from decimal import Decimal

import numpy as np
import pytest

from crm.activities.models import Todo
from crm.activities.tests.factories import InteractionFactory
from crm.analytics import aggregation, queries, services
from crm.analytics.choices import VALUE_ALERT_TODO, RefreshStage, SnapshotStatus
from crm.analytics.models import AnalyticsSettings, CustomerMetrics, Segment, Snapshot
from crm.analytics.stats import bgnbd, clv, quality, rfm
from crm.customers.tests.factories import CustomerFactory
from crm.sales.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 6, 30)
D = datetime.date


def order(customer, day, amount, margin, *, status="confirmed", promo=False):
    return OrderFactory(customer=customer, order_date=day, status=status, is_promotion=promo,
                        total_amount=Decimal(amount), gross_margin=Decimal(margin),
                        total_cost=Decimal(amount) - Decimal(margin), list_amount=Decimal(amount))


@pytest.fixture(name="data")
def data_fixture(org):
    settings = AnalyticsSettings.load()
    settings.lookback_days = 365
    settings.period = "day"
    settings.holdout_months = 3
    settings.save()
    c = {name: CustomerFactory(owner=owner, name=f"客户{name}") for name, owner in [
        ("A", org.rep), ("B", org.rep), ("C", org.rep), ("D", org.other_team_rep), ("E", org.other_team_rep),
        ("F", org.sh_rep), ("G", org.rep)]}
    c["E"].estimated_annual_need = Decimal("400")
    c["E"].save()
    c["F"].estimated_annual_need = Decimal("10000")
    c["F"].save()
    order(c["A"], D(2026, 1, 5), "100", "40")
    order(c["A"], D(2026, 1, 5), "50", "20")
    order(c["A"], D(2026, 3, 5), "100", "40")
    order(c["A"], D(2026, 5, 5), "100", "40")
    order(c["A"], D(2026, 2, 1), "99999", "9999", status="cancelled")
    order(c["A"], D(2026, 2, 2), "99999", "9999", status="returned")
    order(c["A"], D(2026, 2, 3), "99999", "9999", status="draft")
    order(c["A"], D(2026, 7, 5), "99999", "9999")  # after the as-of date
    order(c["B"], D(2026, 6, 1), "1000", "500")
    order(c["B"], D(2025, 1, 1), "5000", "2500")  # before the window
    order(c["C"], D(2026, 2, 1), "100", "20", promo=True)
    order(c["C"], D(2026, 4, 1), "100", "20", promo=True)
    for month in (1, 2, 3):
        order(c["D"], D(2026, month, 10), "100", "10")
    order(c["E"], D(2026, 4, 15), "200", "80")
    order(c["E"], D(2026, 6, 15), "200", "80")
    order(c["F"], D(2026, 3, 20), "200", "80")
    order(c["F"], D(2026, 5, 20), "200", "80")
    order(c["G"], D(2026, 3, 1), "700", "300", status="cancelled")
    when = datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC)
    InteractionFactory(customer=c["A"], occurred_at=when)
    for _ in range(5):
        InteractionFactory(customer=c["D"], occurred_at=when)
    InteractionFactory(customer=c["E"], occurred_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))  # outside
    return c


def refresh(actor=None, as_of=AS_OF):
    snapshot, _created = services.start_refresh(actor=actor, as_of=as_of)
    return services.run_refresh(snapshot.pk)


def rows(snapshot, customers):
    by_id = {m.customer_id: m for m in CustomerMetrics.objects.filter(snapshot=snapshot)}
    return {name: by_id.get(c.pk) for name, c in customers.items()}


def test_aggregation_merges_days_and_excludes_other_orders(data):
    window = aggregation.Window.from_settings(AS_OF, AnalyticsSettings.load())
    assert window.start == D(2025, 7, 1) and window.calibration_end == D(2026, 3, 30)
    h = aggregation.customer_history(window)
    ids = h["customer"].astype(int).tolist()
    assert data["G"].pk not in ids and len(ids) == 6
    a = ids.index(data["A"].pk)
    assert h["days"][a] == 3  # two orders on 2026-01-05 are one transaction
    assert h["orders"][a] == 4
    assert h["revenue"][a] == 350 and h["margin"][a] == 140
    assert h["first_revenue"][a] == 150
    assert h["gap_sq"][a] == 59**2 + 61**2
    assert h["first_day"][a] == aggregation.day_number(D(2026, 1, 5))
    assert h["cal_days"][a] == 2 and h["cal_last"][a] == aggregation.day_number(D(2026, 3, 5))
    b = ids.index(data["B"].pk)
    assert h["revenue"][b] == 1000  # the 2025-01-01 order is outside the look-back window
    assert h["revenue_365"][b] == 1000
    e = ids.index(data["E"].pk)
    assert h["annual_need"][e] == 400
    c = ids.index(data["C"].pk)
    assert h["promo_orders"][c] == 2


def test_refresh_computes_every_figure(data, org):
    snapshot = refresh()
    assert snapshot.status == SnapshotStatus.COMPLETE and snapshot.progress == 100
    assert snapshot.customers == 6
    m = rows(snapshot, data)
    assert m["G"] is None

    # history
    a = m["A"]
    assert (a.transactions, a.frequency, a.first_purchase, a.last_purchase) == (3, 2, D(2026, 1, 5), D(2026, 5, 5))
    assert a.revenue == Decimal("350.00") and a.gross_profit == Decimal("140.00")
    assert a.days_since_last == 56 and a.age == 176 and a.recency == 120
    assert a.avg_order_value == Decimal("87.50")

    # RFM (days since last 56, 29, 90, 112, 15, 41; purchase days 3, 1, 2, 3, 2, 2; revenue 350, 1000, 200, 300,
    # 400, 400): see the module docstring of stats.rfm for the rule.
    scores = {k: (v.r_score, v.f_score, v.m_score) for k, v in m.items() if v}
    assert scores == {"A": (2, 4, 2), "B": (4, 1, 5), "C": (1, 1, 1), "D": (1, 4, 1), "E": (5, 1, 3),
                      "F": (3, 1, 3)}
    assert {k: v.segment for k, v in m.items() if v} == {
        "A": "at_risk", "B": "promising", "C": "lost", "D": "at_risk", "E": "new", "F": "about_to_sleep"}

    # tiers by gross profit 140, 500, 40, 30, 160, 160 (total 1030)
    assert {k: v.tier for k, v in m.items() if v} == {
        "A": "high", "B": "high", "C": "general", "D": "small", "E": "high", "F": "high"}
    assert m["C"].profit_rank_share == pytest.approx(960 / 1030)
    tiers = snapshot.results["tiers"]
    assert sum(t["customer_share"] for t in tiers.values()) == pytest.approx(1.0)
    assert sum(t["profit_share"] for t in tiers.values()) == pytest.approx(1.0)
    assert tiers["high"]["customers"] == 4
    assert snapshot.results["customers_for_80"] == pytest.approx(4 / 6)
    assert len(snapshot.results["lorenz"]) <= 200

    # value-chain classes and cost to serve
    assert {k: v.value_class for k, v in m.items() if v} == {
        "A": "quasi_cash_flow", "B": "unclassified", "C": "transaction", "D": "low_yield", "E": "cash_flow",
        "F": "quasi_cash_flow"}
    assert a.cost_to_serve == Decimal("30.00") and m["D"].cost_to_serve == Decimal("150.00")
    assert m["E"].cost_to_serve == 0  # its interaction is outside the window
    assert m["E"].share_of_wallet == pytest.approx(1.0)
    assert m["F"].share_of_wallet == pytest.approx(0.04)
    # A has no estimated need: proxy = 350 / benchmark; fewer than 10 industry peers, so the whole base:
    # the top decile of 6 buyers is the largest one (1000).
    assert a.share_of_wallet == pytest.approx(0.35)
    assert a.loyalty_components["wallet_estimated"] is True
    assert m["C"].promo_share == 1.0

    # loyalty of A
    comp = a.loyalty_components
    assert comp["repeat"] == pytest.approx(4 / 6, abs=1e-4)  # B, C, E, F have fewer repeat purchases
    assert comp["regularity"] == pytest.approx(60 / 61, abs=1e-4)  # gaps 59 and 61: CV = 1/60
    assert comp["share_of_wallet"] == pytest.approx(0.35)
    assert comp["price_insensitivity"] == 1.0
    assert comp["tenure"] == pytest.approx(176 / 1095, abs=1e-4)
    expected = 100 * (0.30 * 4 / 6 + 0.15 * 60 / 61 + 0.20 * 0.35 + 0.15 * 1 + 0.20 * 176 / 1095)
    assert a.loyalty == pytest.approx(expected, abs=0.01)
    assert comp["interactions"] == 1

    # Kotler by tier (for comparison): the high-value tier holds 4 of 6 customers (many), 240 profit per
    # customer against an average of 171.67 (ratio 1.40: medium margin) → reactive.
    tier_cells = {c["key"]: c for c in snapshot.results["kotler"]["tiers"]}
    assert (tier_cells["high"]["count_level"], tier_cells["high"]["margin_level"]) == ("many", "medium")
    assert tier_cells["high"]["recommended"] == "reactive"
    # Kotler by class, loyalty band first (high from 66.7, low under 33.3), tier second. Loyalty:
    # A 59.97 (above); B 0 + 0 + 20·1 + 15 + 20·29/1095 = 35.5; C 30/6 + 0 + 20·0.2 + 0 + 20·149/1095 = 11.7;
    # D 30·4/6 + 15/(1 + 1.5/29.5) + 20·0.3 + 15 + 20·171/1095 = 58.4; E 30/6 + 0 + 20·1 + 15 + 20·76/1095 =
    # 41.4; F 30/6 + 0 + 20·0.04 + 15 + 20·102/1095 = 22.7.  Tiers: A, B, E, F high-value; C general; D small.
    assert [round(m[k].loyalty, 1) for k in "ABCDEF"] == [60.0, 35.5, 11.7, 58.4, 41.4, 22.7]
    classes = {c["key"]: c for c in snapshot.results["kotler"]["classes"]}
    assert len(classes) == 9 and sum(c["customers"] for c in classes.values()) == 6
    # medium|high = A, B, E: 3 of 6 (many), (140 + 500 + 160) / 3 = 266.67 per customer (ratio 1.55: high)
    assert (classes["medium|high"]["customers"], classes["medium|high"]["count_level"],
            classes["medium|high"]["margin_level"], classes["medium|high"]["recommended"]) == (
        3, "many", "high", "accountable")
    assert classes["medium|high"]["profit_per_customer"] == pytest.approx(800 / 3)
    # low|high = F (1 of 6: medium; 160: ratio 0.93, medium) → accountable; low|general = C (40: ratio 0.23,
    # low) → reactive; medium|small = D (30: low) → reactive; high|… empty.
    assert {k: c["recommended"] for k, c in classes.items() if c["customers"]} == {
        "medium|high": "accountable", "low|high": "accountable", "low|general": "reactive",
        "medium|small": "reactive"}
    assert classes["high|high"]["customers"] == 0 and classes["high|high"]["recommended"] is None
    # every customer gets its class's level, not its tier's
    assert {k: m[k].recommended_level for k in "ABCDEF"} == {
        "A": "accountable", "B": "accountable", "E": "accountable", "F": "accountable", "C": "reactive",
        "D": "reactive"}

    # models: the pipeline's figures are the stats functions' figures with the fitted parameters
    models = snapshot.results["models"]
    assert snapshot.results["timings"].keys() >= {"aggregate", "models", "write", "publish"}
    if models["bgnbd"] is not None:
        params = bgnbd.BGNBDParams(*(models["bgnbd"][k] for k in ("r", "alpha", "a", "b")))
        assert a.p_alive == pytest.approx(float(bgnbd.p_alive(params, [2], [120], [176])[0]))
        assert a.at_risk == (a.p_alive < AnalyticsSettings.load().churn_threshold)
        assert a.next_purchase_on == AS_OF + datetime.timedelta(days=round(120 + 60 - 176))
        if models["gamma_gamma"] is not None and a.expected_spend is not None:
            margin = snapshot.results["margin_rate"]
            expected_clv = clv.lifetime_value(params, [a.expected_spend], [2], [120], [176],
                                              horizon=models["horizon_periods"],
                                              discount_rate=models["discount_rate_per_period"], margin=margin,
                                              step=7)[0]
            assert a.clv == pytest.approx(expected_clv, rel=1e-3, abs=0.01)


def test_clv_in_a_simple_case_matches_the_formula(simulated):
    """Revenue basis, no discounting: CLV = expected spend per purchase × expected purchases over the
    horizon, and P(alive), expected purchases and the at-risk flag are the model's."""
    snapshot = refresh()
    models = snapshot.results["models"]
    assert models["bgnbd"] is not None and models["gamma_gamma"] is not None, models["errors"]
    params = bgnbd.BGNBDParams(*(models["bgnbd"][k] for k in ("r", "alpha", "a", "b")))
    model = quality.MODELS[models["model"]]  # the purchase model the backtest chose
    rule = snapshot.results["churn"]
    metrics = list(CustomerMetrics.objects.filter(snapshot=snapshot))
    assert len(metrics) == 400
    for m in metrics:
        assert m.clv == pytest.approx(m.expected_spend * m.expected_purchases_horizon, rel=1e-4, abs=0.02)
        assert m.p_alive == pytest.approx(float(model.p_alive(params, [m.frequency], [m.recency], [m.age])[0]))
        if rule["rule"] == "model":
            assert m.at_risk == (m.p_alive <= rule["threshold"])
        else:
            assert m.at_risk == (m.days_since_last >= rule["recency_days"])
    assert snapshot.results["holdout"]["buckets"]["labels"][0] == "0"
    assert snapshot.results["at_risk"] == sum(m.at_risk for m in metrics)


def test_segment_table_comes_from_the_database_and_is_validated(data):
    Segment.objects.filter(key="lost").update(key="gone", label="Gone")
    snapshot = refresh()
    assert CustomerMetrics.objects.get(snapshot=snapshot, customer=data["C"]).segment == "gone"
    Segment.objects.filter(key="gone").update(cells=[[1, 1], [5, 5]])  # (5, 5) is Champions' too
    with pytest.raises(ValueError, match="both"):
        refresh(as_of=AS_OF + datetime.timedelta(days=1))
    assert queries.current_snapshot() == snapshot


def test_default_segment_table_is_seeded_and_covers_every_cell_once(db):
    table = services.segment_table()
    rfm.validate_segment_table(table)
    assert [k for k, _label, _cells in table] == [k for k, _label, _cells in rfm.DEFAULT_SEGMENTS]


def test_refresh_twice_is_safe_and_only_complete_snapshots_are_current(data, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.request_refresh(actor=org.ceo)
        again = services.request_refresh(actor=org.ceo)
    assert first == again and len(callbacks) == 1  # one snapshot, one task
    assert queries.current_snapshot() is None and queries.running_snapshot() == first
    services.run_refresh(first.pk)
    services.run_refresh(first.pk)  # a second run of a finished snapshot does nothing
    assert CustomerMetrics.objects.filter(snapshot=first).count() == 6
    assert queries.current_snapshot() == first and queries.running_snapshot() is None


def test_refresh_needs_manage_settings(data, org):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.request_refresh(actor=org.bj_branch_mgr)
    assert not Snapshot.objects.exists()


def test_a_failure_midway_keeps_the_previous_snapshot_current(data, monkeypatch):
    first = refresh()

    def explode(previous, snapshot):
        assert CustomerMetrics.objects.filter(snapshot=snapshot).count() == 6  # rows written, not published
        assert queries.current_snapshot() == first
        raise RuntimeError("disk full")

    monkeypatch.setattr("crm.analytics.services.refresh.create_value_alerts", explode)  # where run_refresh looks it up
    second, _created = services.start_refresh(as_of=AS_OF)
    with pytest.raises(RuntimeError):
        services.run_refresh(second.pk)
    second.refresh_from_db()
    assert second.status == SnapshotStatus.FAILED and "disk full" in second.error
    assert not CustomerMetrics.objects.filter(snapshot=second).exists()
    assert queries.current_snapshot() == first
    assert queries.metrics_for(data["A"].owner, data["A"]).snapshot == first


def test_value_alert_once_when_a_customer_drops_from_high_value(data, org):
    refresh()
    assert not Todo.objects.filter(kind=VALUE_ALERT_TODO).exists()
    data["B"].orders.filter(order_date=D(2026, 6, 1)).update(status="returned")  # B leaves the analysis
    second = refresh()
    alerts = Todo.objects.filter(kind=VALUE_ALERT_TODO)
    assert [(t.customer_id, t.owner_id) for t in alerts] == [(data["B"].pk, org.rep.pk)]
    assert second.results["value_alerts"] == 1
    third = refresh()
    assert third.results["value_alerts"] == 0 and alerts.count() == 1


def test_pruning_keeps_the_newest_snapshots(data):
    settings = AnalyticsSettings.load()
    settings.keep_snapshots = 2
    settings.save()
    made = [refresh() for _ in range(3)]
    assert list(Snapshot.objects.order_by("id")) == made[1:]
    assert not CustomerMetrics.objects.filter(snapshot=made[0]).exists()


def test_scoped_summary_of_a_branch_manager_counts_only_their_customers(data, org):
    snapshot = refresh()
    branch = queries.scoped_summary(org.bj_branch_mgr)  # A–E (Beijing teams), not F (Shanghai)
    assert branch["customers"] == 5
    assert sum(s["customers"] for s in branch["segments"]) == 5
    assert int(np.sum(branch["grid"])) == 5
    # gross profit 140, 500, 40, 30, 160 = 870: 500 + 160 + 140 = 800 ≥ 0.8 × 870 → 3 of 5 customers
    assert branch["customers_for_80"] == pytest.approx(3 / 5)
    assert branch["gross_profit"] == pytest.approx(870)
    assert branch["classes"]["low_yield"]["customers"] == 1
    assert branch["classes"]["quasi_cash_flow"]["customers"] == 1  # A (F is in Shanghai)
    shanghai = queries.scoped_summary(org.sh_rep)
    assert shanghai["customers"] == 1 and shanghai["classes"]["quasi_cash_flow"]["customers"] == 1
    everyone = queries.scoped_summary(org.ceo)
    assert everyone["customers"] == 6 and everyone["customers_for_80"] == pytest.approx(4 / 6)
    assert everyone["scope"] == "all" and everyone["snapshot"]["id"] == snapshot.pk
    assert queries.scoped_summary(org.no_role)["customers"] == 0


def test_metrics_for_follows_visibility(data, org):
    refresh()
    assert queries.metrics_for(org.rep, data["A"]).customer_id == data["A"].pk
    assert queries.metrics_for(org.rep, data["F"]) is None
    assert queries.metrics_for(org.ceo, data["G"]) is None  # not analysed
    assert queries.metrics_queryset(org.rep).count() == 3


def test_transition_matrix_and_due_to_buy(data, org):
    first = refresh()
    data["B"].orders.filter(order_date=D(2026, 6, 1)).update(status="returned")
    second = refresh()
    matrix = queries.transition_matrix(org.rep, first, second, "tier")
    cells = {(c["from"], c["to"]): c["customers"] for c in matrix["cells"]}
    assert cells[("high", "")] == 1  # B
    assert sum(cells.values()) == 3  # the rep's A, B, C
    scoped = queries.transition_matrix(org.sh_rep, first, second, "segment")
    assert sum(c["customers"] for c in scoped["cells"]) == 1
    a = CustomerMetrics.objects.get(snapshot=second, customer=data["A"])
    if a.next_purchase_on and not a.at_risk:
        assert a in queries.due_to_buy(org.rep, a.next_purchase_on)
        assert a not in queries.due_to_buy(org.sh_rep, a.next_purchase_on)


def test_product_analyses(data):
    from crm.sales.models import StockMovement
    from crm.sales.tests.factories import OrderLineFactory, ProductFactory

    p = ProductFactory(standard_cost=Decimal("60"))
    q = ProductFactory(standard_cost=Decimal("10"), category=p.category)
    o = data["A"].orders.filter(order_date=D(2026, 3, 5)).first()
    OrderLineFactory(order=o, product=p, amount=Decimal("100"), cost=Decimal("60"), margin=Decimal("40"))
    OrderLineFactory(order=o, product=q, amount=Decimal("300"), cost=Decimal("150"), margin=Decimal("150"))
    cancelled = data["A"].orders.filter(status="cancelled").first()
    OrderLineFactory(order=cancelled, product=p, amount=Decimal("9999"), cost=Decimal("1"), margin=Decimal("9998"))
    # p: 10 units on hand all year → average stock at cost 600
    StockMovement.objects.create(product=p, occurred_on=D(2025, 1, 1), kind="opening", quantity=Decimal("10"))
    snapshot = refresh()
    result = queries.product_analyses(snapshot)
    rows = {r["product"]: r for r in result["products"]}
    assert rows[p.pk]["revenue"] == 100 and rows[q.pk]["revenue"] == 300
    assert rows[p.pk]["sales_share"] == pytest.approx(0.25)
    assert rows[p.pk]["margin_rate"] == pytest.approx(0.4)
    assert rows[p.pk]["average_stock_value"] == pytest.approx(600)
    assert rows[p.pk]["turnover"] == pytest.approx(60 / 600)  # a 365-day window: annual = window
    assert rows[p.pk]["cross_ratio"] == pytest.approx(0.4 * 0.1)
    assert rows[p.pk]["contribution_ratio"] == pytest.approx(0.4 * 0.1 * 0.25)
    assert rows[q.pk]["turnover"] is None and rows[q.pk]["cross_ratio"] is None  # no stock data
    # The category holds both; only p's stock is known, so its turnover is p's cost over p's stock (not the
    # cost of both over p's stock, which would overstate it 3.5 times).
    category = next(c for c in result["categories"] if c["category"] == p.category_id)
    assert category["cost"] == 210 and category["cost_with_stock"] == 60
    assert category["turnover"] == pytest.approx(60 / 600)


def test_composition(data):
    snapshot = refresh()
    comp = snapshot.results["composition"]
    assert sum(r["customers"] for r in comp["type"]) == 7  # every customer, G included
    assert sum(r["analysed"] for r in comp["branch"]) == 6
    assert {r["key"]: r["analysed"] for r in comp["tier"]} == {"high": 4, "general": 1, "small": 1}


@pytest.mark.django_db
def test_a_queued_refresh_has_a_stage_the_choices_and_the_schema_know():
    """The API documents ``stage`` as the choices: a refresh that has not started yet must be one of them."""
    snapshot, _created = services.start_refresh(as_of=AS_OF)
    assert snapshot.stage == RefreshStage.QUEUED
    assert snapshot.get_stage_display() == "queued"
    snapshot.full_clean()
