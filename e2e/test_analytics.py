"""Customer value analytics in the browser: the dashboard's charts, a refresh with its progress, the
figures on a customer's 360° page, and the customer list filtered by them."""

import re

import pytest
from playwright.sync_api import expect

from crm.analytics.models import CustomerMetrics, Snapshot
from crm.analytics.tests.test_quality import backtest
from crm.analytics.tests.test_views import make_order_history, make_snapshot, run_refresh_now, snapshot_results
from e2e.pages import AnalyticsPage, CustomerDetailPage, CustomerFiltersPanel, CustomerListPage

pytestmark = pytest.mark.e2e


@pytest.fixture
def history(org):
    return make_order_history([org.rep, org.sh_rep], customers=40)


@pytest.fixture
def immediate_tasks(settings):
    """The live server runs a queued refresh at once (no worker process in the test)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_dashboard_renders_its_charts_with_data(org, history, login):
    run_refresh_now()
    page = AnalyticsPage(login("ceo")).open()

    expect(page.customers_analysed).to_have_text("40")
    grid = page.chart("rfm-grid")
    expect(grid.locator("svg title").first).to_be_attached()
    expect(grid.locator("g.grid-cell")).to_have_count(25)
    counts = [int(c) for c in grid.locator("g.grid-cell").evaluate_all("els => els.map(e => e.dataset.count)")]
    assert sum(counts) == 40
    expect(page.chart("pareto").locator("polyline[data-role=lorenz]")).to_be_attached()
    expect(page.chart("pareto").locator("polyline[data-role=diagonal]")).to_be_attached()
    expect(page.figure("8020")).to_contain_text("of customers bring 80% of gross profit")
    expect(page.figure("gini")).to_contain_text("0.")
    # 40 customers bought on random days with no dropout process behind them: the purchase model cannot be
    # identified, so the page says why instead of showing runaway parameters, and everything else stands.
    expect(page.page.get_by_test_id("bgnbd-params")).to_contain_text("the data cannot determine")
    expect(page.page.get_by_test_id("gg-params")).to_contain_text("gamma")
    expect(page.chart("loyalty").locator("rect.bar")).to_have_count(10)
    # the data behind a chart opens from its details element
    page.chart("rfm-grid").locator("details summary").click()
    expect(page.page.get_by_test_id("chart-rfm-grid-data")).to_be_visible()
    # a sales person sees the figures of their own customers only
    rep = AnalyticsPage(login("rep")).open()
    expect(rep.customers_analysed).to_have_text("20")


def test_a_refresh_shows_progress_and_then_the_new_figures(org, history, login, immediate_tasks):
    page = AnalyticsPage(login("ceo")).open()
    expect(page.empty_state).to_be_visible()

    page.refresh()

    expect(page.progress).to_be_visible()
    expect(page.done).to_be_visible(timeout=15_000)
    expect(page.customers_analysed).to_have_text("40")
    expect(page.chart("rfm-grid").locator("g.grid-cell")).to_have_count(25)
    assert Snapshot.objects.get().status == "complete"


def test_customer_page_shows_its_figures(org, history, login):
    run_refresh_now()
    customer = history[0]
    metrics = CustomerMetrics.objects.get(customer=customer)
    page = login("rep")
    detail = CustomerDetailPage(page).open(pk=customer.pk)

    panel = page.get_by_test_id("customer-value-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("value-r")).to_have_text(f"R {metrics.r_score}")
    expect(panel.get_by_test_id("value-f")).to_have_text(f"F {metrics.f_score}")
    expect(panel.get_by_test_id("value-rfm")).to_contain_text("last purchase")
    expect(panel.get_by_test_id("value-tier")).not_to_have_text("—")
    expect(panel.get_by_test_id("value-loyalty")).to_contain_text("/ 100")
    expect(detail.title).to_have_text(customer.name)


def test_filtered_list_at_risk_tier_a(org, history, login):
    snapshot = run_refresh_now()
    at_risk_high = list(CustomerMetrics.objects.filter(snapshot=snapshot, at_risk=True, tier="high",
                                                       customer__owner=org.rep))
    if not at_risk_high:  # make the case exist whatever the fit says
        metrics = CustomerMetrics.objects.filter(snapshot=snapshot, tier="high", customer__owner=org.rep).first()
        metrics.at_risk = True
        metrics.save(update_fields=["at_risk"])
        at_risk_high = [metrics]
    expected = sorted(m.customer.name for m in at_risk_high)

    customers = CustomerListPage(login("rep")).open()
    CustomerFiltersPanel(customers.page).choose(at_risk="true", tier="high").apply()

    expect(customers.names).to_have_count(len(expected))
    assert sorted(customers.names.all_inner_texts()) == expected  # in the list's own order (by value)
    assert "at_risk=true" in customers.page.url and "tier=high" in customers.page.url
    expect(customers.rows.first.get_by_test_id("customer-at-risk")).to_be_visible()


def test_the_dashboard_links_to_how_good_the_predictions_are(org, login):
    make_snapshot([], results=snapshot_results(backtest=backtest()))
    dashboard = AnalyticsPage(login("rep")).open()

    quality = dashboard.open_quality()

    expect(quality.page).to_have_url(re.compile(r"/analytics/quality/$"))
    expect(quality.verdict("churn")).to_have_text("The model beats the naive guess: AUC 0.78 against 0.74.")
    expect(quality.chart("churn").locator("rect.bar")).to_have_count(6)
