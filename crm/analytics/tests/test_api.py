"""The analytics API: scope (customers outside it are never listed), the refresh permission, filters,
ordering and keyset pages, the summary and the transitions."""

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.analytics.models import Snapshot

from .test_refresh import AS_OF, D, data_fixture, refresh  # noqa: F401 (the "data" fixture)

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def customer_ids(response):
    return {row["customer"] for row in response.data["results"]}


def test_customers_lists_only_visible_customers(data, org):
    refresh()
    rep = client_for(org.rep).get(reverse("api-analytics-customer-list"))
    assert rep.status_code == 200
    assert customer_ids(rep) == {data[k].pk for k in "ABC"}
    branch = client_for(org.bj_branch_mgr).get(reverse("api-analytics-customer-list"))
    assert customer_ids(branch) == {data[k].pk for k in "ABCDE"}
    hidden = client_for(org.rep).get(reverse("api-analytics-customer-list"), {"customer": data["F"].pk})
    assert hidden.status_code == 200 and hidden.data["results"] == []
    assert client_for(org.no_role).get(reverse("api-analytics-customer-list")).status_code == 403
    assert APIClient().get(reverse("api-analytics-customer-list")).status_code == 401


def test_customer_filters_and_keyset_pages(data, org):
    refresh()
    api = client_for(org.ceo)
    url = reverse("api-analytics-customer-list")
    assert customer_ids(api.get(url, {"tier": "high"})) == {data[k].pk for k in "ABEF"}
    assert customer_ids(api.get(url, {"value_class": "low_yield"})) == {data["D"].pk}
    assert customer_ids(api.get(url, {"segment": "at_risk"})) == {data["A"].pk, data["D"].pk}
    assert customer_ids(client_for(org.rep).get(url, {"owner": "me", "tier": "high"})) == {data["A"].pk,
                                                                                         data["B"].pk}
    first = api.get(url, {"ordering": "-loyalty", "page_size": 4})
    second = api.get(first.data["next"])
    loyalty = [r["loyalty"] for r in first.data["results"] + second.data["results"]]
    assert len(loyalty) == 6 and loyalty == sorted(loyalty, reverse=True)
    by_r = api.get(url, {"ordering": "r_score", "page_size": 2})
    assert [r["r_score"] for r in by_r.data["results"]] == [1, 1]
    assert api.get(url, {"ordering": "name"}).status_code == 400


def test_refresh_needs_manage_settings_and_answers_202(data, org, django_capture_on_commit_callbacks):
    url = reverse("api-analytics-refresh")
    assert client_for(org.bj_branch_mgr).post(url).status_code == 403
    assert not Snapshot.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        first = client_for(org.ceo).post(url)
        second = client_for(org.ceo).post(url)
    assert first.status_code == 202 and first.data["status"] == "running"
    assert second.data["id"] == first.data["id"] and len(callbacks) == 1
    listed = client_for(org.rep).get(reverse("api-analytics-snapshot-list"))
    assert [s["id"] for s in listed.data["results"]] == [first.data["id"]]
    assert listed.data["results"][0]["progress"] == 0


def test_summary_is_scoped(data, org):
    assert client_for(org.rep).get(reverse("api-analytics-summary")).status_code == 404  # no refresh yet
    refresh()
    branch = client_for(org.bj_branch_mgr).get(reverse("api-analytics-summary"))
    assert branch.status_code == 200 and branch.data["customers"] == 5
    assert client_for(org.sh_rep).get(reverse("api-analytics-summary")).data["customers"] == 1


def test_transitions(data, org):
    url = reverse("api-analytics-transitions")
    first = refresh()
    assert client_for(org.rep).get(url).status_code == 404  # one snapshot: nothing to compare
    data["B"].orders.filter(order_date=D(2026, 6, 1)).update(status="returned")
    second = refresh(as_of=AS_OF + datetime.timedelta(days=1))
    response = client_for(org.rep).get(url, {"dimension": "tier"})
    assert response.status_code == 200
    assert (response.data["from_snapshot"], response.data["to_snapshot"]) == (first.pk, second.pk)
    assert sum(c["customers"] for c in response.data["cells"]) == 3
    assert {"from": "high", "to": "", "customers": 1} in response.data["cells"]
    assert client_for(org.rep).get(url, {"dimension": "colour"}).status_code == 400
    assert client_for(org.rep).get(url, {"from": 999999}).status_code == 400


def test_snapshot_detail_has_results_for_an_all_records_scope(data, org):
    snapshot = refresh()
    response = client_for(org.ceo).get(reverse("api-analytics-snapshot-detail", args=[snapshot.pk]))
    assert response.status_code == 200 and response.data["results"]["customers"] == 6
    assert response.data["customers"] == 6 and response.data["scope"] == "all"


@pytest.mark.parametrize(("viewer", "customers"), [("rep", 3), ("bj_branch_mgr", 5), ("sh_rep", 1)])
def test_snapshot_figures_follow_the_scope_like_the_summary(data, org, viewer, customers):
    """Metadata is shared; the count is the caller's analysed customers, company-wide results are withheld."""
    snapshot = refresh()
    api = client_for(getattr(org, viewer))
    summary = api.get(reverse("api-analytics-summary")).data
    detail = api.get(reverse("api-analytics-snapshot-detail", args=[snapshot.pk]))
    listed = api.get(reverse("api-analytics-snapshot-list")).data["results"]
    assert detail.status_code == 200
    for row in (detail.data, listed[0]):
        assert row["id"] == snapshot.pk and row["status"] == "complete" and row["progress"] == 100
        assert row["customers"] == customers == summary["customers"]
        assert row["scope"] == "scoped"
    assert detail.data["results"] is None
    for figure in (b'"revenue"', b'"gross_profit"', b'"rfm"', b'"segments"'):
        assert figure not in detail.content and figure not in api.get(
            reverse("api-analytics-snapshot-list")).content, figure


def test_customer_list_query_count_does_not_grow_with_the_page(data, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    refresh()
    api = client_for(org.ceo)
    url = reverse("api-analytics-customer-list")
    counts = []
    for size in (2, 6):
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url, {"page_size": size}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
