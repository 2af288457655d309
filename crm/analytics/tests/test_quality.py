"""How far to trust the predictions: the quality page in every state of the stored backtest (none yet, an
error, complete), refused fits on the dashboard, how the at-risk flag and the timing were set, the rows not
counted as purchases, and customers overdue to buy — on the dashboard, my day, the 360° panel, the customer
list's "Buying" filter and the API.  Snapshots are written by hand, as a refresh would leave them."""

import copy
import datetime
import html as html_lib
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.analytics import queries
from crm.analytics.explanations import model_problem
from crm.analytics.filtersets import CustomerMetricsFilterSet
from crm.analytics.models import CustomerMetrics
from crm.analytics.tests.test_views import client_for, ids_of, make_snapshot, metric_fields, snapshot_results
from crm.core.testing import assert_queries_constant
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BACKTEST = {
    "split": "2026-06-02", "as_of": "2026-12-02", "holdout_days": 183, "customers": 1234,
    "sample": None, "error": None,
    "churn": {"models": [{"model": "bgnbd", "auc": 0.70}, {"model": "mbgnbd", "auc": 0.78}], "model": "mbgnbd",
              "auc": 0.78, "baseline_auc": 0.74, "winner": "model", "threshold": 0.42,
              "baseline_threshold_days": 120, "lapsed_share": 0.61,
              "flag": {"flagged": 300, "share_flagged": 0.3, "precision": 0.8, "recall": 0.5, "base_rate": 0.61,
                       "lift": 1.31},
              "baseline_flag": {"flagged": 350, "share_flagged": 0.35, "precision": 0.7, "recall": 0.45,
                                "base_rate": 0.61, "lift": 1.15}},
    "timing": {"customers": 400, "chosen": "rhythm", "median_gap_days": 45.0, "methods": [
        {"key": "rhythm", "customers": 400, "mae_days": 30.1, "median_ae_days": 21.0, "within_30_days": 0.55,
         "baseline": False},
        {"key": "model", "customers": 400, "mae_days": 52.4, "median_ae_days": 40.0, "within_30_days": 0.3,
         "baseline": False},
        {"key": "median_gap", "customers": 400, "mae_days": 41.7, "median_ae_days": 33.0, "within_30_days": 0.42,
         "baseline": True}]},
    "purchases": {"labels": ["0", "1", "2", "3+"], "customers": [600, 300, 200, 134],
                  "mean_predicted": [0.2, 0.8, 1.5, 3.1], "mean_actual": [0.22, 0.75, 1.6, 2.9],
                  "mean_baseline": [0.0, 1.1, 2.2, 4.6], "total_predicted": 900.5, "total_actual": 870,
                  "total_baseline": 1400.2, "mae": 0.8, "baseline_mae": 1.2},
    "value": {"deciles": [{"decile": 1, "customers": 100, "mean_predicted": 5000.0, "mean_actual": 4200.0,
                           "mean_baseline": 6100.0},
                          {"decile": 2, "customers": 100, "mean_predicted": 2000.0, "mean_actual": 2300.0,
                           "mean_baseline": None}],
              "total_predicted": 700000.0, "total_actual": 650000.0, "total_baseline": 800000.0, "mae": 900.0,
              "baseline_mae": 850.0},
    "verdicts": {"churn": "better", "timing": "better", "purchases": "better", "value": "worse"},
}


def backtest(**changes):
    result = copy.deepcopy(BACKTEST)
    result.update(changes)
    return result


def text_of(html):
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", html)))


def quality_html(client, user):
    response = client_for(client, user).get(reverse("analytics:quality"))
    assert response.status_code == 200
    return response.content.decode()


def verdict(html, section):
    match = re.search(rf'data-testid="verdict-{section}" data-verdict="(\w+)">([^<]*)<', html)
    return match.group(1), html_lib.unescape(match.group(2))


# --- the quality page -------------------------------------------------------------------------------------

def test_quality_page_with_a_backtest_shows_each_section_with_its_verdict(client, org):
    make_snapshot([], results=snapshot_results(backtest=backtest()))
    html = quality_html(client, org.rep)
    ids = ids_of(html)
    for testid in ("quality-churn", "quality-timing", "quality-purchases", "quality-value", "quality-how",
                   "chart-quality-churn", "chart-quality-timing", "chart-quality-purchases", "chart-quality-value",
                   "list-quality-churn", "list-quality-timing", "totals-quality-purchases", "totals-quality-value",
                   "list-quality-churn-models", "quality-measures"):
        assert testid in ids, testid
    assert "style=" not in html and "<script>" not in html
    assert verdict(html, "churn") == ("better", "The model beats the naive guess: AUC 0.78 against 0.74.")
    assert verdict(html, "timing") == (
        "better", "The model beats the naive guess: off by 30.1 days on average against 41.7.")
    assert verdict(html, "purchases") == ("better", "The model beats the naive guess: MAE 0.80 against 1.20.")
    assert verdict(html, "value") == (
        "worse", "The model does not beat the naive guess: MAE 900.00 against 850.00. Read its figures with care.")
    text = text_of(html)
    assert "The history was cut at 2026-06-02" in text and "predicted the 183 days up to 2026-12-02" in text
    assert "1,234 customers" in text
    # the churn table: the chosen model beside the guess
    assert '<th scope="col" class="num">MBG/NBD</th>' in html
    assert 'data-testid="churn-auc">0.78<' in html and 'data-testid="churn-baseline-auc">0.74<' in html
    assert "61% of the customers bought nothing" in text and "The at-risk list uses the model." in text
    assert "Naive guess: flag customers whose last purchase is 120 or more days ago." in text
    # the churn chart: three groups (AUC, precision, recall) of two bars; precision 0.8 vs 0.7
    chart = html[html.index('data-testid="chart-quality-churn"'):html.index('data-testid="chart-quality-churn-data"')]
    assert re.findall(r'data-series="(\w+)" data-value="([\d.]+)"', chart) == [
        ("model", "0.78"), ("baseline", "0.74"), ("model", "0.8"), ("baseline", "0.7"), ("model", "0.5"),
        ("baseline", "0.45")]
    # timing: the chosen method is marked, the baseline is the company median gap of 45 days
    assert re.search(r'data-method="rhythm"><td>own rhythm · <strong>used by the lists', html)
    assert "last purchase plus the company's median gap between purchases (45 days)" in text
    # purchases: FHL's conditional expectations, predicted / actual / guess per calibration frequency
    chart = html[html.index('data-testid="chart-quality-purchases"'):]
    assert re.findall(r'data-series="(\w+)" data-value="([\d.]+)"', chart)[3:6] == [
        ("predicted", "0.8"), ("actual", "0.75"), ("baseline", "1.1")]
    # value: a missing decile mean draws no bar and reads "—" in the data table
    chart = html[html.index('data-testid="chart-quality-value"'):]
    chart = chart[:chart.index("</figure>")]
    assert len(re.findall(r"<rect class=\"bar ", chart)) == 5
    assert "<td>2</td><td class=\"num\">2,000.000</td><td class=\"num\">2,300.000</td><td class=\"num\">—</td>" in chart
    # the key: AUC, precision, recall, lift and MAE in one sentence each
    assert re.findall(r'data-measure="(\w+)"', html) == ["auc", "precision", "recall", "lift", "mae"]


def test_quality_page_says_when_the_lists_use_the_guess(client, org):
    bt = backtest(verdicts={"churn": "worse", "timing": "same", "purchases": "unavailable", "value": "worse"})
    bt["churn"].update(winner="baseline", auc=0.70)
    bt["timing"]["chosen"] = "median_gap"
    make_snapshot([], results=snapshot_results(backtest=bt))
    html = quality_html(client, org.ceo)
    assert verdict(html, "churn") == (
        "worse", "The model does not beat the naive guess, so the lists use the guess: AUC 0.70 against 0.74.")
    assert verdict(html, "timing") == (
        "same", "The model does not beat the naive guess, so the lists use the guess: off by 41.7 days on average "
                "against 41.7.")
    assert verdict(html, "purchases")[0] == "unavailable"
    assert "The at-risk list uses the naive guess." in text_of(html)


def test_quality_page_before_the_first_backtest(client, org):
    make_snapshot([], results=snapshot_results())  # an older snapshot: no "backtest" key at all
    html = quality_html(client, org.rep)
    assert "quality-missing" in ids_of(html) and "quality-churn" not in ids_of(html)
    make_snapshot([], results=snapshot_results(backtest=None))
    assert "quality-missing" in ids_of(quality_html(client, org.rep))


def test_quality_page_without_any_snapshot(client, org):
    assert "quality-empty" in ids_of(quality_html(client, org.rep))


def test_quality_page_names_why_the_backtest_could_not_run(client, org):
    make_snapshot([], results=snapshot_results(backtest={
        "split": "2026-06-02", "as_of": "2026-12-02", "error": {"code": "too_few_customers",
                                                              "params": {"n": 3, "min": 10}}}))
    html = quality_html(client, org.rep)
    assert "quality-churn" not in ids_of(html)
    assert ("The predictions could not be checked this time: only 3 customers; at least 10 are needed to fit the model."
            in text_of(html))


def test_quality_page_with_a_sample_and_refused_fits(client, org):
    results = snapshot_results(backtest=backtest(sample={"size": 200000, "of": 1000000}))
    results["models"]["refusals"] = {"spend": {"code": "ill_conditioned", "params": {"condition": 1e14}}}
    make_snapshot([], results=results)
    text = text_of(quality_html(client, org.rep))
    assert "Checked on a random sample of 200,000 of 1,000,000 customers." in text
    assert ("Spend model: the fit is ill-conditioned (condition number 1e+14): the data cannot determine the "
            "parameters") in text


def test_quality_page_query_count_does_not_grow_with_customers(client, org):
    snapshot = make_snapshot([(CustomerFactory(owner=org.rep), {})], results=snapshot_results(backtest=backtest()))
    client.force_login(org.rep)

    def grow():
        CustomerMetrics.objects.bulk_create([CustomerMetrics(snapshot=snapshot, customer=CustomerFactory(
            owner=org.rep), **metric_fields()) for _ in range(10)])

    assert_queries_constant(lambda: client.get(reverse("analytics:quality")), grow)


@pytest.mark.parametrize(("problem", "sentence"), [
    ({"code": "too_few_repeaters", "params": {"n": 4, "min": 20}},
     "only 4 customers bought more than once; at least 20 are needed"),
    ({"code": "runaway", "params": {"parameter": "r", "value": 1.3e8}},
     "the fit ran away (r = 1.3e+08): the data cannot determine the model"),
    ({"code": "not_converged", "params": {"iterations": 1000}}, "the fit did not converge after 1,000 iterations"),
    ({"code": "too_few_customers", "params": {"n": 3}}, "only 3 customers; at least — are needed to fit the model"),
    ({"code": "brand_new", "params": {}}, "reason “brand_new”"),
])
def test_model_problems_read_as_sentences_with_their_parameters(problem, sentence):
    assert model_problem(problem) == sentence


# --- the dashboard: refused fits, the flag's rule, timing and exclusions -----------------------------------

def test_dashboard_shows_a_refused_purchase_fit_and_everything_that_needs_no_model(client, org):
    results = snapshot_results(
        churn={"model": "bgnbd", "rule": "recency", "threshold": None, "recency_days": 120,
               "threshold_source": "backtest"},
        timing={"method": "median_gap", "median_gap_days": 45.0},
        exclusions={"zero_amount_orders": 3, "returned_orders": 5, "returned_amount": 1234.5,
                    "customers_without_purchase": 1})
    results["models"]["refusals"] = {"purchase": {"code": "too_few_repeaters", "params": {"n": 3, "min": 10}}}
    del results["models"]["bgnbd"]
    customer = CustomerFactory(owner=org.rep, name="京R拒绝")
    make_snapshot([(customer, {"p_alive": None, "at_risk": True, "clv": None, "expected_purchases": None,
                               "expected_purchases_horizon": None, "next_purchase_on": None,
                               "segment": "champions", "r": 5, "f": 5})], results=results)
    html = client_for(client, org.rep).get(reverse("analytics:dashboard")).content.decode()
    text = text_of(html)
    assert re.search(r'data-testid="model-refusal" data-model="purchase" data-code="too_few_repeaters">'
                     r"Purchase model: only 3 customers bought more than once; at least 10 are needed<", html)
    # RFM and the segments are still there
    assert 'data-r="5" data-f="5" data-count="1"' in html
    assert re.search(r'data-segment="champions">.*?data-testid="segment-count">1<', html, re.S)
    assert ("A customer is flagged at risk when the last purchase is 120 or more days ago (the naive guess: it "
            "did better than the model, or the model was not fitted). The threshold was chosen on the backtest."
            in text)
    assert "Next purchases are dated by the company's median gap (last purchase + 45 days)." in text
    assert ("Not counted as purchases: orders with a zero amount: 3; returned orders: 5; customers with orders but "
            "no counted purchase: 1; returned amount 1,234.50." in text)
    assert "quality-link" in ids_of(html) and "quality-link-header" in ids_of(html)


def test_dashboard_of_an_older_snapshot_has_none_of_the_new_parts(client, org):
    make_snapshot([(CustomerFactory(owner=org.rep), {})])
    html = client_for(client, org.rep).get(reverse("analytics:dashboard")).content.decode()
    ids = ids_of(html)
    for testid in ("model-refusals", "churn-rule", "timing-rule", "how-exclusions"):
        assert testid not in ids, testid
    assert "list-overdue" in ids and "Nobody is overdue." in html


def test_dashboard_lists_model_based_churn_rule_with_its_threshold(client, org):
    make_snapshot([], results=snapshot_results(churn={"model": "mbgnbd", "rule": "model", "threshold": 0.42,
                                                      "recency_days": None, "threshold_source": "settings"},
                                               timing={"method": "rhythm", "median_gap_days": 45.0}))
    text = text_of(client_for(client, org.ceo).get(reverse("analytics:dashboard")).content.decode())
    assert ("A customer is flagged at risk when the purchase model's P(alive) is below 0.42. The threshold comes "
            "from the analytics settings." in text)
    assert "Next purchases are dated by the customer's own rhythm (last purchase + their average gap)." in text


# --- overdue customers ---------------------------------------------------------------------------------------

@pytest.fixture
def buying(org):
    """As of today: customers overdue by 5 and 40 days, one due today, one in 20 days, a one-time buyer, one
    overdue but at risk, and an overdue customer of the Shanghai branch."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    c = {
        "late5": CustomerFactory(name="京逾五", owner=org.rep),
        "late40": CustomerFactory(name="京逾四十", owner=org.rep),
        "today": CustomerFactory(name="京今天", owner=org.rep),
        "soon": CustomerFactory(name="京二十天", owner=org.rep),
        "once": CustomerFactory(name="京一次", owner=org.rep),
        "late_risk": CustomerFactory(name="京逾危", owner=org.rep),
        "mate_late": CustomerFactory(name="京同事逾", owner=org.teammate),
        "sh_late": CustomerFactory(name="沪逾期", owner=org.sh_rep),
    }
    rows = [
        (c["late5"], {"next_purchase_on": today - 5 * day, "clv": 300.0}),
        (c["late40"], {"next_purchase_on": today - 40 * day, "clv": 900.0}),
        (c["today"], {"next_purchase_on": today, "clv": 100.0}),
        (c["soon"], {"next_purchase_on": today + 20 * day, "clv": 100.0}),
        (c["once"], {"next_purchase_on": None, "frequency": 0, "transactions": 1, "clv": 50.0}),
        (c["late_risk"], {"next_purchase_on": today - 3 * day, "p_alive": 0.1, "clv": 5000.0}),
        (c["mate_late"], {"next_purchase_on": today - 1 * day, "clv": None}),
        (c["sh_late"], {"next_purchase_on": today - 2 * day, "clv": 2000.0}),
    ]
    return c, make_snapshot(rows, as_of=today)


def test_overdue_to_buy_lists_visible_active_customers_past_their_date_by_value(org, buying):
    c, snapshot = buying
    names = lambda qs: [m.customer.name for m in qs]  # noqa: E731
    # largest lifetime value first, the one without a value last; at risk and not yet due left out
    assert names(queries.overdue_to_buy(org.ceo)) == ["沪逾期", "京逾四十", "京逾五", "京同事逾"]
    assert names(queries.overdue_to_buy(org.team_lead)) == ["京逾四十", "京逾五", "京同事逾"]
    assert names(queries.overdue_to_buy(org.rep)) == ["京逾四十", "京逾五"]  # a rep sees only own customers
    assert names(queries.overdue_to_buy(org.team_lead, mine=True)) == []
    assert names(queries.overdue_to_buy(org.sh_rep, snapshot=snapshot)) == ["沪逾期"]


def test_overdue_to_buy_without_a_snapshot_is_empty(org):
    assert list(queries.overdue_to_buy(org.ceo)) == []


def test_dashboard_lists_overdue_customers_apart_from_those_due_this_week(client, org, buying):
    c, _snapshot = buying
    html = client_for(client, org.rep).get(reverse("analytics:dashboard")).content.decode()
    overdue = html[html.index('data-testid="list-overdue"'):]
    overdue = overdue[:overdue.index("</table>")]
    assert [int(i) for i in re.findall(r'data-testid="overdue-row" data-customer-id="(\d+)"', overdue)] == [
        c["late40"].pk, c["late5"].pk]
    assert re.findall(r'data-testid="overdue-days">([^<]+)<', overdue) == ["overdue 40 days", "overdue 5 days"]
    due = html[html.index('data-testid="list-due-to-buy"'):]
    due = due[:due.index("</table>")]
    assert "京今天" in due and "京逾五" not in due and "京逾四十" not in due


def test_my_day_shows_the_users_overdue_customers(client, org, buying):
    c, _snapshot = buying
    html = client_for(client, org.rep).get(reverse("activities:my_day")).content.decode()
    section = html[html.index('data-testid="my-day-overdue"'):]
    section = section[:section.index("</table>")]
    assert [int(i) for i in re.findall(r'data-customer-id="(\d+)"', section)] == [c["late40"].pk, c["late5"].pk]
    assert "overdue 40 days" in section
    due = html[html.index('data-testid="my-day-due-to-buy"'):]
    assert re.findall(r'data-testid="due-to-buy-row" data-customer-id="(\d+)"', due[:due.index("</table>")]) == [
        str(c["today"].pk)]


def test_customer_panel_says_overdue_since_and_no_pattern_yet(client, org, buying):
    c, _snapshot = buying
    client.force_login(org.rep)

    def panel(key):
        html = client.get(reverse("customers:detail", args=[c[key].pk])).content.decode()
        html = html[html.index('data-testid="value-next"'):]
        return text_of(html[:html.index("</dd>")])

    late = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    assert f"overdue since {late}" in panel("late5")
    assert "no pattern yet" in panel("once")
    assert "overdue" not in panel("today") and "no pattern" not in panel("today")


def _list_names(client, **query):
    html = client.get(reverse("customers:list"), query).content.decode()
    return sorted(re.findall(r'data-testid="customer-name">([^<]+)<', html))


def test_customer_list_buying_filter(client, org, buying):
    client.force_login(org.rep)
    assert _list_names(client, buying="overdue") == sorted(["京逾五", "京逾四十"])
    assert _list_names(client, buying="this_week") == ["京今天"]  # 20 days ahead is never this week
    assert _list_names(client, buying="next_30_days") == sorted(["京今天", "京二十天"])
    assert _list_names(client, buying="no_pattern") == ["京一次"]
    assert len(_list_names(client)) == 6  # no choice: no filter
    client.force_login(org.ceo)
    assert _list_names(client, buying="overdue") == sorted(["京逾五", "京逾四十", "京同事逾", "沪逾期"])


def test_api_buying_filter_and_its_schema(org, buying):
    api = APIClient()
    api.force_authenticate(org.rep)
    url = reverse("api-analytics-customer-list")

    def ids(**query):
        response = api.get(url, query)
        assert response.status_code == 200
        return sorted(row["customer"] for row in response.data["results"])

    c, _snapshot = buying
    assert ids(buying="overdue") == sorted([c["late5"].pk, c["late40"].pk])
    assert ids(buying="this_week") == [c["today"].pk]
    assert ids(buying="next_30_days") == sorted([c["today"].pk, c["soon"].pk])
    assert ids(buying="no_pattern") == [c["once"].pk]
    assert api.get(url, {"buying": "someday"}).status_code == 400
    # the existing date filter keeps working
    assert c["today"].pk in ids(due_to_buy=timezone.localdate().isoformat())
    schema = api.get(reverse("api-schema"), {"format": "json"}).json()
    params = {p["name"]: p for p in schema["paths"]["/api/analytics/customers/"]["get"]["parameters"]}
    assert params["buying"]["schema"]["enum"] == ["next_30_days", "no_pattern", "overdue", "this_week"]
    assert "overdue" in params["buying"]["description"]


def test_buying_filter_choices_are_the_documented_four():
    assert [key for key, _label in CustomerMetricsFilterSet.base_filters["buying"].extra["choices"]] == [
        "overdue", "this_week", "next_30_days", "no_pattern"]
