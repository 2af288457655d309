"""Analytics pages: the dashboard with and without a snapshot, scoped figures, refresh and progress, the
settings pages, the customer value panel of the 360° page, and the customer list filtered and sorted by
the figures.  Snapshots and metrics are written directly here, as a refresh would leave them."""

import datetime
import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.analytics.choices import RefreshStage, SnapshotStatus
from crm.analytics.models import CustomerMetrics, Segment, Snapshot
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LOYALTY_WEIGHTS = {"repeat": 0.30, "regularity": 0.15, "share_of_wallet": 0.20, "price_insensitivity": 0.15,
                   "tenure": 0.20}


def snapshot_results(**overrides):
    """Company-wide results as a refresh stores them."""
    results = {
        "window": {"start": "2022-01-01", "end": "2025-01-01", "calibration_end": "2024-07-01"},
        "period": "week",
        "models": {
            "errors": {},
            "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "log_likelihood": -9582.43,
                      "customers": 2357, "converged": True},
            "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44, "log_likelihood": -4000.5, "customers": 946,
                            "converged": True},
        },
        "holdout": {"calibration_end": "2024-07-01", "customers": 100, "total_predicted": 80.5, "total_actual": 78,
                    "buckets": {"labels": ["0", "1", "2", "3+"], "customers": [50, 30, 15, 5],
                                "mean_predicted": [0.2, 0.8, 1.5, 3.1], "mean_actual": [0.22, 0.75, 1.6, 2.9]}},
        "loyalty": {"weights": LOYALTY_WEIGHTS},
        "products": {"products": [
            {"product": 1, "code": "P-1", "name": "空调 A", "revenue": 1000.0, "sales_share": 0.6, "margin_rate": 0.3,
             "turnover": 4.0, "cross_ratio": 1.2, "contribution_ratio": 0.72},
            {"product": 2, "code": "P-2", "name": "风扇 B", "revenue": 600.0, "sales_share": 0.4, "margin_rate": 0.2,
             "turnover": None, "cross_ratio": None, "contribution_ratio": None}],
            "categories": [{"category": 1, "name": "家电", "revenue": 1600.0, "sales_share": 1.0, "margin_rate": 0.26,
                            "turnover": None, "cross_ratio": None, "contribution_ratio": None}]},
    }
    results.update(overrides)
    return results


def make_snapshot(rows, *, as_of=None, finished_at=None, results=None):
    """A complete snapshot with one metrics row per ``(customer, fields)``."""
    snapshot = Snapshot.objects.create(
        as_of=as_of or timezone.localdate(), status=SnapshotStatus.COMPLETE, progress=100, stage="complete",
        finished_at=finished_at or timezone.now(), results=results if results is not None else snapshot_results(),
        customers=len(rows), settings_used={"lookback_days": 1095, "high_value_share": 0.8, "general_share": 0.95,
                                            "churn_threshold": 0.3, "clv_horizon_months": 36,
                                            "annual_discount_rate": 0.1, "clv_basis": "margin"})
    CustomerMetrics.objects.bulk_create([
        CustomerMetrics(snapshot=snapshot, customer=customer, **metric_fields(**fields)) for customer, fields in rows])
    return snapshot


def metric_fields(*, r=3, f=3, m=3, segment="need_attention", tier="general", value_class="cash_flow",
                  profit=100, clv=500.0, p_alive=0.8, at_risk=None, loyalty=50.0, next_purchase_on=None, **extra):
    fields = {
        "first_purchase": datetime.date(2023, 1, 1), "last_purchase": datetime.date(2024, 12, 20),
        "transactions": 4, "frequency": 3, "recency": 50, "age": 100, "days_since_last": 12,
        "revenue": profit * 3, "gross_profit": profit, "avg_order_value": profit, "promo_share": 0.1,
        "r_score": r, "f_score": f, "m_score": m, "segment": segment, "tier": tier, "profit_rank_share": 0.35,
        "value_class": value_class, "share_of_wallet": 0.7, "cost_to_serve": 30, "p_alive": p_alive,
        "at_risk": p_alive < 0.3 if at_risk is None else at_risk, "expected_purchases": 0.2,
        "expected_purchases_horizon": 6.5, "expected_spend": 120.0, "clv": clv, "next_purchase_on": next_purchase_on,
        "loyalty": loyalty, "recommended_level": "proactive",
        "loyalty_components": {"repeat": 0.6, "regularity": 0.5, "share_of_wallet": 0.7, "price_insensitivity": 0.9,
                               "tenure": 0.66, "interactions": 1, "wallet_estimated": True},
    }
    fields.update(extra)
    return fields


def client_for(client, user):
    client.force_login(user)
    return client


def ids_of(html):
    return set(re.findall(r'data-testid="([^"]+)"', html))


@pytest.fixture
def portfolio(org):
    """Customers in Beijing team 1 (rep and teammate), Beijing team 2 and Shanghai, with figures."""
    c = {
        "rep_high_risk": CustomerFactory(name="京A高危", owner=org.rep),
        "rep_high_ok": CustomerFactory(name="京B高稳", owner=org.rep),
        "rep_small_risk": CustomerFactory(name="京C小危", owner=org.rep),
        "mate_high_risk": CustomerFactory(name="京D同事", owner=org.teammate),
        "bj2": CustomerFactory(name="京E二组", owner=org.other_team_rep),
        "sh": CustomerFactory(name="沪F上海", owner=org.sh_rep),
        "unanalysed": CustomerFactory(name="京G未分析", owner=org.rep),
    }
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday())
    def fig(r, f, segment, tier, p_alive, clv, profit, loyalty=50.0, **extra):
        return {"r": r, "f": f, "segment": segment, "tier": tier, "p_alive": p_alive, "clv": clv, "profit": profit,
                "loyalty": loyalty, **extra}

    figures = {
        "rep_high_risk": fig(1, 5, "cant_lose", "high", 0.1, 900.0, 900, loyalty=40),
        "rep_high_ok": fig(5, 5, "champions", "high", 0.95, 3000.0, 1500, loyalty=90,
                           next_purchase_on=timezone.localdate()),  # this week, never overdue
        "rep_small_risk": fig(1, 1, "lost", "small", 0.05, 10.0, 5, loyalty=5),
        "mate_high_risk": fig(2, 4, "at_risk", "high", 0.2, 800.0, 800, loyalty=30),
        "bj2": fig(4, 2, "potential_loyalist", "general", 0.7, 400.0, 200),
        "sh": fig(5, 1, "new", "small", 0.9, 50.0, 20, next_purchase_on=monday + datetime.timedelta(days=1)),
    }
    snapshot = make_snapshot([(c[k], v) for k, v in figures.items()])
    return c, snapshot


# --- the dashboard ------------------------------------------------------------------------------------------

def test_dashboard_without_a_snapshot_explains_and_offers_the_refresh_to_admins(client, org):
    html = client_for(client, org.ceo).get(reverse("analytics:dashboard")).content.decode()
    assert "analytics-empty" in ids_of(html)
    assert "refresh-button" in ids_of(html)

    client.force_login(org.rep)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert "analytics-empty" in ids_of(html)
    assert "refresh-button" not in ids_of(html)


def test_dashboard_renders_every_section_with_charts_and_figures(client, org, portfolio):
    response = client_for(client, org.ceo).get(reverse("analytics:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    ids = ids_of(html)
    for testid in ("analytics-header", "chart-r-scores", "chart-f-scores", "chart-m-scores", "chart-rfm-grid",
                   "list-segments", "how-rfm", "figure-8020", "chart-pareto", "figure-gini", "list-tiers",
                   "list-classes", "bgnbd-params", "gg-params", "chart-holdout", "figure-at-risk", "chart-clv",
                   "list-due-to-buy", "chart-loyalty", "list-loyalty-components", "list-kotler", "list-kotler-tiers",
                   "list-composition", "list-products", "list-categories", "section-movement", "refresh-button"):
        assert testid in ids, testid
    assert "style=" not in html
    assert "<script>" not in html and "<script " not in html.replace('<script src="', "")
    assert "6 customers analysed" in re.sub(r"<[^>]+>", "", html)
    # the fitted parameters and their log-likelihood
    assert re.search(r'data-param="alpha">4\.4140<', html)
    assert re.search(r'data-param="log_likelihood">-9,582\.43<', html)
    # the 80/20 sentence: profits 1500, 900, 800 of 3425 — the three largest of six bring 93 %
    assert "50% of customers bring 80% of gross profit." in html
    # the segment list shows counts over the user's customers
    assert re.search(r'data-segment="champions">.*?data-testid="segment-count">1<', html, re.S)
    # products: turnover without stock data is "not available"
    assert "not available" in html
    assert "空调 A" in html
    # the R×F grid counts the customer with R5 F5
    assert 'data-r="5" data-f="5" data-count="1"' in html


def test_dashboard_shows_the_kotler_classes_loyalty_first(client, org, portfolio):
    html = client_for(client, org.ceo).get(reverse("analytics:dashboard")).content.decode()
    assert "list-kotler-classes" in ids_of(html)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "Customers are classified by loyalty first and sales second" in text
    rows = dict(re.findall(r'data-testid="kotler-class" data-key="([^"]+)">.*?'
                           r'data-testid="kotler-class-recommended"><strong>([^<]*)<', html, re.S))
    assert len(rows) == 9
    # Six customers, profit 3425 (average 570.83), one per class: each is 1/6 of the customers (medium).
    # loyalty 90, profit 1500 (2.63×: high) → proactive; loyalty 40, 900 (1.58×: high) → proactive;
    # 50, 200 and 50, 20 (low) → reactive; 30, 800 (1.40×: medium) → accountable; 5, 5 (low) → reactive.
    assert {k: v for k, v in rows.items() if v != "—"} == {
        "high|high": "proactive", "medium|high": "proactive", "medium|general": "reactive",
        "medium|small": "reactive", "low|high": "accountable", "low|small": "reactive"}
    row = re.search(r'data-key="low\|high">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row)[:4] == ["low", "high-value", "1", "800"]


def test_dashboard_figures_are_scoped_to_the_user(client, org, portfolio):
    def figures(user):
        client.force_login(user)
        html = client.get(reverse("analytics:dashboard")).content.decode()
        text = re.sub(r"<[^>]+>", "", html)
        customers = int(re.search(r"(\d+) customers analysed", text).group(1))
        at_risk = int(re.search(r"(\d+) customers at risk of churn", text).group(1))
        return customers, at_risk, html

    ceo = figures(org.ceo)
    branch = figures(org.bj_branch_mgr)
    rep = figures(org.rep)
    assert ceo[:2] == (6, 3)
    assert branch[:2] == (5, 3)  # no Shanghai customer
    assert rep[:2] == (3, 2)
    assert "沪F上海" in ceo[2] and "沪F上海" not in branch[2]  # due to buy this week
    assert "京B高稳" in rep[2]


def test_dashboard_query_count_does_not_grow_with_customers(client, org, portfolio):
    client.force_login(org.ceo)
    url = reverse("analytics:dashboard")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    customers, snapshot = portfolio
    more = [CustomerFactory(owner=org.rep) for _ in range(15)]
    CustomerMetrics.objects.bulk_create([CustomerMetrics(snapshot=snapshot, customer=c, **metric_fields(
        next_purchase_on=timezone.localdate())) for c in more])
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert "21 customers analysed" in re.sub(r"<[^>]+>", "", response.content.decode())
    assert len(many.captured_queries) == len(few.captured_queries)


def test_movement_between_two_snapshots(client, org, portfolio):
    customers, current = portfolio
    earlier = make_snapshot(
        [(customers["rep_high_risk"], {"segment": "champions", "tier": "high"}),
         (customers["rep_high_ok"], {"segment": "champions", "tier": "high"})],
        as_of=timezone.localdate() - datetime.timedelta(days=30),
        finished_at=timezone.now() - datetime.timedelta(days=30))
    client.force_login(org.rep)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert "chart-transitions" in ids_of(html)
    table = html[html.index('data-testid="chart-transitions-table"'):]
    table = table[:table.index("</table>")]
    row = re.search(r'<th scope="row">Champions</th>(.*?)</tr>', table, re.S).group(1)
    counts = [int(n) for n in re.findall(r">(\d+)</td>", row)]
    assert sum(counts[:-1]) == 2 and counts[-1] == 2  # both moved from Champions; total 2

    partial = client.get(reverse("analytics:transitions"), {"from": earlier.pk, "to": current.pk,
                                                             "dimension": "tier"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    table = partial.content.decode()
    table = table[table.index('data-testid="chart-transitions-table"'):table.index("</thead>")]
    columns = re.findall(r'<th scope="col">([^<]*)</th>', table)
    # only the tiers the rep's customers were in, then those not analysed; no "general"
    assert columns == ["from ↓ / to →", "high-value", "small", "not analysed", "Total"]


# --- refresh ----------------------------------------------------------------------------------------------

def test_refresh_needs_manage_settings(client, org):
    response = client_for(client, org.rep).post(reverse("analytics:refresh"))
    assert response.status_code == 403
    assert not Snapshot.objects.exists()


def test_refresh_starts_a_snapshot_and_the_progress_partial_polls_until_done(client, org):
    client.force_login(org.ceo)
    response = client.post(reverse("analytics:refresh"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    snapshot = Snapshot.objects.get()
    assert snapshot.status == SnapshotStatus.RUNNING
    html = response.content.decode()
    assert 'data-testid="refresh-progress"' in html and 'hx-trigger="every 2s"' in html

    Snapshot.objects.filter(pk=snapshot.pk).update(stage="score", progress=45)
    html = client.get(reverse("analytics:progress"), {"snapshot": snapshot.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "45%" in html and "score" in html and "every 2s" in html
    # the dashboard shows the running refresh too
    assert "refresh-progress" in ids_of(client.get(reverse("analytics:dashboard")).content.decode())

    Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.COMPLETE, progress=100,
                                                   finished_at=timezone.now())
    done = client.get(reverse("analytics:progress"), {"snapshot": snapshot.pk}, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == f"{reverse('analytics:dashboard')}?refreshed={snapshot.pk}"
    page = client.get(done["HX-Redirect"]).content.decode()
    assert "refresh-done" in ids_of(page)


def _stage_shown(client, snapshot, language):
    html = client.get(reverse("analytics:progress"), {"snapshot": snapshot.pk}, HTTP_HX_REQUEST="true",
                      HTTP_ACCEPT_LANGUAGE=language).content.decode()
    return re.search(r'data-testid="refresh-stage">([^<]*)<', html).group(1)


@pytest.mark.parametrize("stage,english,chinese", [
    ("", "queued", "排队中"),
    (RefreshStage.AGGREGATE, "reading orders and interactions", "读取订单和跟进记录"),
    (RefreshStage.SCORE, "computing RFM scores", "计算 RFM 得分"),
    (RefreshStage.MODELS, "fitting the purchase models", "拟合购买模型"),
    (RefreshStage.PUBLISH, "publishing the results", "发布结果"),
])
def test_progress_bar_names_the_stage_in_the_users_language(client, org, stage, english, chinese):
    client.force_login(org.ceo)
    snapshot = Snapshot.objects.create(as_of=timezone.localdate(), status=SnapshotStatus.RUNNING, stage=stage,
                                       progress=45)
    assert _stage_shown(client, snapshot, "en") == english
    assert _stage_shown(client, snapshot, "zh-hans") == chinese


# --- settings ---------------------------------------------------------------------------------------------

def test_settings_form_saves_and_refuses_inconsistent_tier_shares(client, org):
    from crm.analytics.forms import AnalyticsSettingsForm
    from crm.analytics.models import AnalyticsSettings

    client.force_login(org.ceo)
    url = reverse("analytics:settings")
    assert client.get(url).status_code == 200
    initial = AnalyticsSettingsForm(instance=AnalyticsSettings.load()).initial
    data = {k: "" if v is None else v for k, v in initial.items() if k in AnalyticsSettingsForm._meta.fields}
    assert data["churn_threshold"] == ""  # by default the backtest chooses the at-risk threshold
    data.update(lookback_days=730, high_value_share=0.7)
    assert client.post(url, data).status_code == 302
    assert AnalyticsSettings.load().lookback_days == 730
    assert AnalyticsSettings.load().churn_threshold is None
    data.update(churn_threshold=0.25)
    assert client.post(url, data).status_code == 302
    assert AnalyticsSettings.load().churn_threshold == 0.25
    data.update(high_value_share=0.9, general_share=0.8)
    response = client.post(url, data)
    assert response.status_code == 400
    assert AnalyticsSettings.load().high_value_share == 0.7


def _grid_post(**changes):
    data = {}
    for segment in Segment.objects.all():
        for r, f in segment.cells:
            data[f"cell_{r}_{f}"] = segment.key
        data[f"level_{segment.key}"] = segment.practised_level
    data.update(changes)
    return data


def test_segment_table_saves_cells_and_practised_levels(client, org):
    client.force_login(org.ceo)
    url = reverse("analytics:segments")
    assert 'data-testid="segment-grid"' in client.get(url).content.decode()
    response = client.post(url, _grid_post(cell_5_3="champions", level_champions="partnership"))
    assert response.status_code == 302
    champions = Segment.objects.get(key="champions")
    assert [5, 3] in champions.cells and champions.practised_level == "partnership"
    assert [5, 3] not in Segment.objects.get(key="potential_loyalist").cells


@pytest.mark.parametrize("problem", ["gap", "overlap"])
def test_segment_table_with_a_gap_or_an_overlap_is_refused(client, org, problem):
    client.force_login(org.ceo)
    before = {s.key: s.cells for s in Segment.objects.all()}
    query = QueryDict(mutable=True)
    for key, value in _grid_post(level_champions="partnership").items():
        query[key] = value
    if problem == "gap":
        query["cell_3_3"] = ""
        expected = "R3×F3"
    else:
        query.appendlist("cell_5_5", "loyal")  # R5 F5 submitted for Champions and for Loyal
        expected = "is in both Champions and Loyal"
    response = client.post(reverse("analytics:segments"), query.urlencode(),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert {s.key: s.cells for s in Segment.objects.all()} == before
    assert Segment.objects.get(key="champions").practised_level == ""


# --- the 360° panel ---------------------------------------------------------------------------------------

def test_customer_page_shows_the_figures_with_why(client, org, portfolio):
    customers, _snapshot = portfolio
    client.force_login(org.rep)
    html = client.get(reverse("customers:detail", args=[customers["rep_high_risk"].pk])).content.decode()
    panel = html[html.index('data-testid="customer-value-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "R 1" in panel and "F 5" in panel
    assert '<dd data-testid="value-segment"><span class="badge segment">Can&#x27;t lose them</span>' in panel
    assert "last purchase 12 days ago" in panel
    assert 'data-testid="value-at-risk"' in panel
    assert '<dd data-testid="value-tier"><span class="badge tier-high">high-value</span>' in panel
    assert "price insensitivity" in panel
    assert "style=" not in panel


def test_customer_page_says_not_analysed_yet(client, org, portfolio):
    customers, _snapshot = portfolio
    client.force_login(org.rep)
    html = client.get(reverse("customers:detail", args=[customers["unanalysed"].pk])).content.decode()
    assert 'data-testid="customer-value-empty"' in html


def test_customer_page_query_count_is_fixed_with_figures(client, org, portfolio):
    customers, _snapshot = portfolio
    client.force_login(org.rep)
    url = reverse("customers:detail", args=[customers["rep_high_risk"].pk])
    client.get(url)
    with CaptureQueriesContext(connection) as analysed:
        client.get(url)
    with CaptureQueriesContext(connection) as plain:
        client.get(reverse("customers:detail", args=[customers["unanalysed"].pk]))
    # the figures cost a bounded, small number of queries
    assert len(analysed.captured_queries) - len(plain.captured_queries) <= 3


# --- the customer list by figures ------------------------------------------------------------------------

def _names(html):
    return re.findall(r'data-testid="customer-name">([^<]+)<', html)


def test_list_filter_at_risk_tier_high_owner_me(client, org, portfolio):
    client.force_login(org.team_lead)  # sees the whole of team 1
    query = {"at_risk": "true", "tier": "high"}
    html = client.get(reverse("customers:list"), query).content.decode()
    assert sorted(_names(html)) == ["京A高危", "京D同事"]
    html = client.get(reverse("customers:list"), {**query, "owner": org.team_lead.pk}).content.decode()
    assert _names(html) == []

    client.force_login(org.rep)
    html = client.get(reverse("customers:list"), {**query, "owner": org.rep.pk}).content.decode()
    assert _names(html) == ["京A高危"]
    # the list shows the figures
    assert 'data-testid="customer-at-risk"' in html and 'data-testid="customer-tier"' in html


def test_list_filters_segment_class_due_this_week_and_clv_range(client, org, portfolio):
    client.force_login(org.ceo)
    url = reverse("customers:list")
    assert _names(client.get(url, {"segment": "champions"}).content.decode()) == ["京B高稳"]
    assert sorted(_names(client.get(url, {"due_this_week": "true"}).content.decode())) == ["京B高稳", "沪F上海"]
    assert sorted(_names(client.get(url, {"clv_min": "800", "clv_max": "1000"}).content.decode())) == [
        "京A高危", "京D同事"]
    assert len(_names(client.get(url, {"value_class": "cash_flow"}).content.decode())) == 6
    assert len(_names(client.get(url, {"at_risk": "false"}).content.decode())) == 3


def test_list_sorted_by_clv_pages_with_a_keyset(client, org, portfolio):
    client.force_login(org.ceo)
    url = reverse("customers:list")
    html = client.get(url, {"ordering": "-clv", "page_size": 4}).content.decode()
    assert _names(html) == ["京B高稳", "京A高危", "京D同事", "京E二组"]
    next_url = re.search(r'data-testid="page-next"', html) and re.search(
        r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#customer-results" hx-push-url="true"\s+data-testid="page-next"',
        html).group(1)
    html = client.get(next_url.replace("&amp;", "&")).content.decode()
    assert _names(html) == ["沪F上海", "京C小危"]  # the customer without figures is left out
    html = client.get(url, {"ordering": "p_alive"}).content.decode()
    assert _names(html)[0] == "京C小危"
    html = client.get(url, {"ordering": "-loyalty"}).content.decode()
    assert _names(html)[0] == "京B高稳"


def test_list_query_count_is_the_same_with_metric_filters_and_sorting(client, org, portfolio):
    client.force_login(org.ceo)
    url = reverse("customers:list")
    client.get(url)
    with CaptureQueriesContext(connection) as plain:
        client.get(url)
    with CaptureQueriesContext(connection) as filtered:
        client.get(url, {"at_risk": "true", "tier": "high", "ordering": "-clv"})
    assert len(filtered.captured_queries) == len(plain.captured_queries)


def test_api_filters_and_sorts_customers_by_figures(org, portfolio):
    api = APIClient()
    api.force_authenticate(org.rep)
    response = api.get(reverse("api-customer-list"), {"at_risk": "true", "tier": "high", "owner": org.rep.pk})
    assert response.status_code == 200
    assert [row["name"] for row in response.data["results"]] == ["京A高危"]
    response = api.get(reverse("api-customer-list"), {"ordering": "-clv", "page_size": 2})
    assert [row["name"] for row in response.data["results"]] == ["京B高稳", "京A高危"]
    rest = api.get(response.data["next"])
    assert [row["name"] for row in rest.data["results"]] == ["京C小危"]
    # A figure after another field (the ordering may list several) sorts the same customers.
    response = api.get(reverse("api-customer-list"), {"ordering": "created_at,-clv,p_alive"})
    assert response.status_code == 200
    assert sorted(row["name"] for row in response.data["results"]) == ["京A高危", "京B高稳", "京C小危"]
    assert api.get(reverse("api-customer-list"), {"ordering": "-nonsense"}).status_code == 400


def test_list_without_a_snapshot_ignores_nothing_and_filters_to_nobody(client, org):
    CustomerFactory(name="京Z", owner=org.rep)
    client.force_login(org.rep)
    url = reverse("customers:list")
    assert _names(client.get(url).content.decode()) == ["京Z"]
    assert _names(client.get(url, {"tier": "high"}).content.decode()) == []
    assert _names(client.get(url, {"ordering": "-clv"}).content.decode()) == []


# --- with a real refresh ---------------------------------------------------------------------------------

def make_order_history(owners, *, customers=40, seed=7, as_of=None):
    """Customers of ``owners`` with two years of paid orders (each with one line), irregular on purpose:
    a few frequent big buyers, many occasional small ones, some gone quiet."""
    import random
    from decimal import Decimal

    from crm.sales.choices import OrderStatus
    from crm.sales.models import Order, OrderLine
    from crm.sales.tests.factories import ProductFactory

    rng = random.Random(seed)
    as_of = as_of or timezone.localdate()
    products = [ProductFactory(), ProductFactory(), ProductFactory()]
    people = [CustomerFactory(name=f"历史客户{i:03d}", owner=owners[i % len(owners)]) for i in range(customers)]
    orders = []
    for i, customer in enumerate(people):
        big = i % 7 == 0
        visits = rng.randint(6, 14) if big else rng.randint(1, 5)
        quiet = 300 if i % 5 == 0 else 0
        for _ in range(visits):
            day = as_of - datetime.timedelta(days=rng.randint(quiet, 720))
            amount = Decimal(rng.randint(2000, 9000) if big else rng.randint(100, 900))
            cost = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
            orders.append(Order(customer=customer, order_date=day, status=OrderStatus.PAID, total_amount=amount,
                                list_amount=amount, total_cost=cost, gross_margin=amount - cost,
                                is_promotion=rng.random() < 0.2))
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create([
        OrderLine(order=o, product=products[k % 3], quantity=Decimal("1"), unit_price=o.total_amount,
                  unit_cost=o.total_cost, amount=o.total_amount, cost=o.total_cost, margin=o.gross_margin)
        for k, o in enumerate(Order.objects.order_by("id"))])
    return people


def run_refresh_now():
    from crm.analytics import services

    snapshot, _created = services.start_refresh(actor=None)
    return services.run_refresh(snapshot.pk)


def test_dashboard_and_360_page_after_a_real_refresh(client, org):
    people = make_order_history([org.rep, org.sh_rep])
    snapshot = run_refresh_now()
    assert snapshot.status == SnapshotStatus.COMPLETE, snapshot.error
    client.force_login(org.ceo)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert "40 customers analysed" in re.sub(r"<[^>]+>", "", html)
    ids = ids_of(html)
    for testid in ("chart-rfm-grid", "chart-pareto", "figure-8020", "figure-gini", "bgnbd-params", "gg-params",
                   "chart-loyalty", "list-kotler", "list-products"):
        assert testid in ids, testid
    assert "style=" not in html
    grid = [int(n) for n in re.findall(r'data-count="(\d+)"', html)]
    assert sum(grid) == 40

    client.force_login(org.rep)
    html = client.get(reverse("analytics:dashboard")).content.decode()
    assert "20 customers analysed" in re.sub(r"<[^>]+>", "", html)
    detail = client.get(reverse("customers:detail", args=[people[0].pk])).content.decode()
    assert 'data-testid="value-rfm"' in detail and "last purchase" in detail


def test_my_day_lists_the_users_at_risk_and_due_to_buy_customers(client, org, portfolio):
    customers, _snapshot = portfolio
    client.force_login(org.rep)
    html = client.get(reverse("activities:my_day")).content.decode()
    section = html[html.index('data-testid="my-day-value"'):]
    at_risk = [int(i) for i in re.findall(r'data-testid="at-risk-row" data-customer-id="(\d+)"', section)]
    due = [int(i) for i in re.findall(r'data-testid="due-to-buy-row" data-customer-id="(\d+)"', section)]
    assert at_risk == [customers["rep_high_risk"].pk, customers["rep_small_risk"].pk]  # largest CLV first
    assert due == [customers["rep_high_ok"].pk]
    client.force_login(org.teammate)
    html = client.get(reverse("activities:my_day")).content.decode()
    assert re.findall(r'data-testid="at-risk-row" data-customer-id="(\d+)"', html) == [
        str(customers["mate_high_risk"].pk)]
