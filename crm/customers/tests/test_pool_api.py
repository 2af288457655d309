"""The customer pool through the API: claim, release, the pool list, pool rules and hand-over."""

import pytest
from rest_framework.test import APIClient

from crm.activities.choices import TodoKind
from crm.activities.models import TimelineEvent, Todo
from crm.customers.models import Customer, OwnershipChange, PoolRule
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def claim(user, customer):
    return client_for(user).post(f"/api/customers/{customer.pk}/claim/")


def release(user, customer, reason="客户转给代理商"):
    return client_for(user).post(f"/api/customers/{customer.pk}/release/", {"reason": reason}, format="json")


def test_claim_within_the_cap_then_400_beyond(org):
    org.rep.role.max_customers = 1
    org.rep.role.save()
    first, second = (CustomerFactory(owner=None, branch=org.bj2) for _ in range(2))
    response = claim(org.rep, first)
    assert response.status_code == 200
    assert response.data["owner"] == org.rep.pk and response.data["branch"] == org.bj1.pk
    refused = claim(org.rep, second)
    assert refused.status_code == 400
    assert "at most 1" in refused.data["non_field_errors"][0]
    assert Customer.objects.get(pk=second.pk).owner is None


def test_claim_of_an_owned_customer_is_400_or_404(org):
    mine = CustomerFactory(owner=org.teammate)
    assert claim(org.team_lead, mine).status_code == 400  # visible, but owned
    assert claim(org.rep, mine).status_code == 404  # neither in the rep's pool nor visible
    assert Customer.objects.get(pk=mine.pk).owner == org.teammate


def test_claim_from_another_branchs_pool_is_404(org):
    shanghai = CustomerFactory(owner=None, branch=org.sh1)
    assert claim(org.rep, shanghai).status_code == 404
    assert claim(org.tj_rep, CustomerFactory(owner=None, branch=org.bj1)).status_code == 404
    assert claim(org.sh_rep, shanghai).status_code == 200


def test_claim_needs_the_change_action(org):
    customer = CustomerFactory(owner=None, branch=org.bj1)
    assert claim(org.viewer, customer).status_code == 403
    assert claim(org.no_role, customer).status_code == 403
    assert APIClient().post(f"/api/customers/{customer.pk}/claim/").status_code == 401


def test_release_records_who_and_why(org):
    customer = CustomerFactory(owner=org.rep)
    response = release(org.rep, customer)
    assert response.status_code == 200 and response.data["owner"] is None
    change = OwnershipChange.objects.get(customer=customer)
    assert (change.changed_by, change.reason) == (org.rep, "客户转给代理商")
    assert TimelineEvent.objects.filter(customer=customer, detail="客户转给代理商").exists()
    history = client_for(org.bj_branch_mgr).get(f"/api/customers/{customer.pk}/history/")
    assert history.data[0]["reason"] == "客户转给代理商" and history.data[0]["to_owner"] is None


def test_release_refusals(org):
    customer = CustomerFactory(owner=org.rep)
    assert release(org.rep, customer, reason="").status_code == 400
    assert release(org.teammate, customer).status_code == 404
    assert release(org.viewer, customer).status_code == 403
    assert Customer.objects.get(pk=customer.pk).owner == org.rep
    assert release(org.manager, customer).status_code == 200
    assert release(org.ceo, customer).status_code == 400  # already in the pool


def test_pool_list_is_pool_for(org):
    bj = CustomerFactory(owner=None, branch=org.bj2, name="北京公海")
    CustomerFactory(owner=None, branch=org.sh1, name="上海公海")
    CustomerFactory(owner=org.rep, name="有主客户")
    owned = CustomerFactory(owner=org.teammate, name="被释放的")
    release(org.teammate, owned, reason="没有需求")
    response = client_for(org.rep).get("/api/pool/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.data["results"]}
    assert set(rows) == {"北京公海", "被释放的"}
    assert rows["被释放的"]["release_reason"] == "没有需求" and rows["被释放的"]["released_at"]
    assert rows["北京公海"]["release_reason"] is None
    assert {r["id"] for r in client_for(org.rep).get("/api/pool/", {"q": "北京"}).data["results"]} == {bj.pk}
    assert len(client_for(org.ceo).get("/api/pool/").data["results"]) == 3
    assert client_for(org.no_role).get("/api/pool/").status_code == 403


def test_pool_rules_need_manage_settings(org):
    assert client_for(org.rep).get("/api/pool-rules/").status_code == 403
    admin = client_for(org.ceo)
    created = admin.post("/api/pool-rules/", {"customer_type": "", "days_without_activity": 90,
                                              "warn_days_before": 7}, format="json")
    assert created.status_code == 201, created.data
    duplicate = admin.post("/api/pool-rules/", {"customer_type": "", "days_without_activity": 30}, format="json")
    assert duplicate.status_code == 400
    bad = admin.patch(f"/api/pool-rules/{created.data['id']}/", {"warn_days_before": 90}, format="json")
    assert bad.status_code == 400 and "warn_days_before" in bad.data
    assert admin.get("/api/pool-rules/").data[0]["days_without_activity"] == 90
    assert admin.delete(f"/api/pool-rules/{created.data['id']}/").status_code == 204
    assert not PoolRule.objects.exists()


def test_handover_to_a_team(org):
    customers = CustomerFactory.create_batch(4, owner=org.rep)
    Todo.objects.create(owner=org.rep, customer=customers[0], kind=TodoKind.FOLLOW_UP, title="回访",
                        due_on="2026-01-01")
    response = client_for(org.team_lead).post("/api/handover/", {
        "from_user": org.rep.pk, "to_unit": org.bj1.pk, "reason": "离职"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["customers"] == 4 and response.data["todos"] == 1
    assert sum(r["customers"] for r in response.data["recipients"]) == 4
    assert not Customer.objects.filter(owner=org.rep).exists()
    assert OwnershipChange.objects.filter(reason="离职", changed_by=org.team_lead).count() == 4


def test_handover_refusals(org):
    CustomerFactory(owner=org.sh_rep)
    assert client_for(org.rep).post("/api/handover/", {"from_user": org.rep.pk, "to_user": org.teammate.pk,
                                                       "reason": "x"}, format="json").status_code == 403
    outside = client_for(org.bj_branch_mgr).post("/api/handover/", {
        "from_user": org.sh_rep.pk, "to_user": org.rep.pk, "reason": "x"}, format="json")
    assert outside.status_code == 400 and "from_user" in outside.data
    neither = client_for(org.ceo).post("/api/handover/", {"from_user": org.sh_rep.pk, "reason": "x"}, format="json")
    assert neither.status_code == 400
    assert Customer.objects.filter(owner=org.sh_rep).count() == 1


def test_role_api_exposes_the_cap(org):
    response = client_for(org.admin).patch(f"/api/roles/{org.rep.role.pk}/", {"max_customers": 50}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["max_customers"] == 50
