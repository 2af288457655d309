"""The interaction, to-do and timeline API: services behind every write, scope, field errors, keyset pages."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from crm.activities.choices import TimelineKind, TodoKind
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.activities.tests.factories import InteractionFactory, TodoFactory, bulk_events
from crm.customers.models import Customer
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def written():
    return Interaction.objects.count(), Todo.objects.count(), TimelineEvent.objects.count()


# --- interactions ---------------------------------------------------------------------------------

def test_create_interaction_with_follow_up(org):
    customer = CustomerFactory(owner=org.rep)
    contact = ContactFactory(customer=customer)
    follow_up = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    response = api(org.team_lead).post("/api/interactions/", {
        "customer": customer.pk, "contact": contact.pk, "kind": "forum", "direction": "in",
        "content": "evaluation", "summary": "客户座谈会", "duration_minutes": 90, "follow_up_on": follow_up,
    }, format="json")
    assert response.status_code == 201, response.data
    assert response.data["user"] == org.team_lead.pk and response.data["contact_name"] == contact.name
    todo = Todo.objects.get()
    assert (todo.owner, todo.due_on.isoformat(), todo.interaction_id) == (org.rep, follow_up, response.data["id"])
    assert TimelineEvent.objects.get().kind == TimelineKind.INTERACTION
    assert Customer.objects.get(pk=customer.pk).last_activity_at is not None


@pytest.mark.parametrize("bad,field", [
    ({"summary": ""}, "summary"),
    ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
    ({"contact": "other"}, "contact"),
    ({"kind": "pigeon"}, "kind"),
    ({"duration_minutes": -5}, "duration_minutes"),
])
def test_bad_interaction_is_400_with_field_messages_and_nothing_written(org, bad, field):
    customer = CustomerFactory(owner=org.rep)
    payload = {"customer": customer.pk, "kind": "call", "summary": "询价", **bad}
    if payload.get("contact") == "other":
        payload["contact"] = ContactFactory(customer=CustomerFactory(owner=org.rep)).pk
    response = api(org.rep).post("/api/interactions/", payload, format="json")
    assert response.status_code == 400
    assert field in response.data and response.data[field]
    assert written() == (0, 0, 0)


def test_interactions_of_invisible_customers_are_404_and_never_listed(org):
    mine = InteractionFactory(customer=CustomerFactory(owner=org.rep))
    theirs = InteractionFactory(customer=CustomerFactory(owner=org.sh_rep))
    client = api(org.rep)
    listed = client.get("/api/interactions/").data
    assert [row["id"] for row in listed["results"]] == [mine.pk] and listed["count"] == 1
    for method in ("get", "patch", "put"):
        assert getattr(client, method)(f"/api/interactions/{theirs.pk}/").status_code == 404
    assert api(org.manager).delete(f"/api/interactions/{theirs.pk}/").status_code == 404
    response = client.post("/api/interactions/", {"customer": theirs.customer_id, "kind": "call", "summary": "x"},
                           format="json")
    assert response.status_code == 400 and "customer" in response.data
    assert Interaction.objects.count() == 2


def test_update_and_delete_interaction_through_services(org):
    customer = CustomerFactory(owner=org.rep)
    client = api(org.manager)
    created = client.post("/api/interactions/", {"customer": customer.pk, "kind": "call", "summary": "初次联系"},
                          format="json").data
    response = client.patch(f"/api/interactions/{created['id']}/", {"summary": "再次联系"}, format="json")
    assert response.status_code == 200 and TimelineEvent.objects.get().detail == "再次联系"
    other = CustomerFactory(owner=org.rep)
    response = client.patch(f"/api/interactions/{created['id']}/", {"customer": other.pk}, format="json")
    assert response.status_code == 400 and "customer" in response.data
    assert client.delete(f"/api/interactions/{created['id']}/").status_code == 204
    assert written() == (0, 0, 0)


def test_interaction_filters(org):
    customer = CustomerFactory(owner=org.rep)
    call = InteractionFactory(customer=customer, kind="call", content="feedback", user=org.rep)
    visit = InteractionFactory(customer=customer, kind="visit", user=org.sub,
                               occurred_at=timezone.now() - datetime.timedelta(days=30))
    other = InteractionFactory(customer=CustomerFactory(owner=org.rep), kind="call")
    client = api(org.rep)

    def ids(**params):
        return [row["id"] for row in client.get("/api/interactions/", params).data["results"]]

    assert ids(customer=customer.pk) == [call.pk, visit.pk]
    assert ids(kind="visit") == [visit.pk]
    assert ids(content="feedback") == [call.pk]
    assert ids(user=org.rep.pk) == [call.pk]
    # The author filter offers only people inside the caller's scope: the rep's manager may filter by
    # the colleague who logged the visit, the rep may not (a 400 under the parameter's name).
    assert api(org.manager).get("/api/interactions/", {"user": org.sub.pk}).data["results"][0]["id"] == visit.pk
    assert "user" in client.get("/api/interactions/", {"user": org.sub.pk}).data
    assert ids(occurred_before=(timezone.localdate() - datetime.timedelta(days=10)).isoformat()) == [visit.pk]
    assert set(ids(occurred_after=(timezone.localdate() - datetime.timedelta(days=1)).isoformat())) == {
        call.pk, other.pk}
    assert client.get("/api/interactions/", {"kind": "pigeon"}).status_code == 400


def test_viewer_cannot_create_interactions(org):
    customer = CustomerFactory(owner=org.rep)
    response = api(org.viewer).post("/api/interactions/", {"customer": customer.pk, "kind": "call", "summary": "x"},
                                    format="json")
    assert response.status_code == 403 and written() == (0, 0, 0)


# --- to-dos ---------------------------------------------------------------------------------------

def test_todo_crud_and_complete(org):
    client = api(org.rep)
    customer = CustomerFactory(owner=org.rep)
    response = client.post("/api/todos/", {"title": "寄样品", "due_on": timezone.localdate().isoformat(),
                                           "customer": customer.pk}, format="json")
    assert response.status_code == 201, response.data
    todo_id = response.data["id"]
    assert response.data["owner"] == org.rep.pk and response.data["kind"] == TodoKind.TASK
    response = client.post(f"/api/todos/{todo_id}/complete/")
    assert response.status_code == 200 and response.data["is_open"] is False
    assert client.post(f"/api/todos/{todo_id}/complete/").status_code == 200  # twice: no change, no error
    assert client.post(f"/api/todos/{todo_id}/reopen/").data["is_open"] is True
    assert client.patch(f"/api/todos/{todo_id}/", {"title": "寄两份样品"}, format="json").data["title"] == "寄两份样品"
    assert client.delete(f"/api/todos/{todo_id}/").status_code == 403  # sales roles have no delete action
    assert api(org.manager).delete(f"/api/todos/{todo_id}/").status_code == 204


def test_todo_bad_input_and_scope(org):
    client = api(org.rep)
    response = client.post("/api/todos/", {"title": "", "due_on": "tomorrow"}, format="json")
    assert response.status_code == 400 and {"title", "due_on"} <= set(response.data)
    hidden = CustomerFactory(owner=org.sh_rep)
    response = client.post("/api/todos/", {"title": "x", "due_on": "2026-01-01", "customer": hidden.pk},
                           format="json")
    assert response.status_code == 400 and "customer" in response.data
    response = client.post("/api/todos/", {"title": "x", "due_on": "2026-01-01", "owner": org.sh_rep.pk},
                           format="json")
    assert response.status_code == 400 and "owner" in response.data
    theirs = TodoFactory(owner=org.sh_rep)
    for method, url in (("get", f"/api/todos/{theirs.pk}/"), ("post", f"/api/todos/{theirs.pk}/complete/"),
                        ("patch", f"/api/todos/{theirs.pk}/")):
        assert getattr(client, method)(url).status_code == 404
    assert [row["id"] for row in client.get("/api/todos/").data["results"]] == []
    assert Todo.objects.get().is_open and Todo.objects.count() == 1


def test_todo_reassign(org):
    todo = TodoFactory(owner=org.rep)
    client = api(org.team_lead)
    assert client.post(f"/api/todos/{todo.pk}/reassign/", {"owner": org.teammate.pk}).data["owner"] == org.teammate.pk
    response = client.post(f"/api/todos/{todo.pk}/reassign/", {"owner": org.sh_rep.pk})
    assert response.status_code == 400 and "owner" in response.data
    response = client.patch(f"/api/todos/{todo.pk}/", {"owner": org.sh_rep.pk}, format="json")
    assert response.status_code == 400 and Todo.objects.get().owner == org.teammate


def test_todo_filters(org):
    today = timezone.localdate()
    mine = TodoFactory(owner=org.team_lead, due_on=today)
    team = TodoFactory(owner=org.rep, due_on=today + datetime.timedelta(days=3))
    done = TodoFactory(owner=org.rep, due_on=today, done_at=timezone.now())
    client = api(org.team_lead)

    def ids(**params):
        return [row["id"] for row in client.get("/api/todos/", params).data["results"]]

    assert ids() == [mine.pk, done.pk, team.pk]
    assert ids(who="mine") == [mine.pk]
    assert ids(status="open") == [mine.pk, team.pk]
    assert ids(status="done") == [done.pk]
    assert ids(due_after=(today + datetime.timedelta(days=1)).isoformat()) == [team.pk]
    assert ids(owner=org.rep.pk, due_before=today.isoformat()) == [done.pk]


# --- timeline ---------------------------------------------------------------------------------------

def test_timeline_pages_and_kinds(org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 120)
    client = api(org.rep)
    seen, url, counts = [], f"/api/timeline/?customer={customer.pk}&page_size=25", []
    while url:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(ctx))
        seen += [row["id"] for row in response.data["results"]]
        url = response.data["next"]
    expected = list(TimelineEvent.objects.filter(customer=customer).order_by("-at", "-id").values_list("pk", flat=True))
    assert seen == expected and len(counts) == 5 and len(set(counts)) == 1
    kinds = client.get("/api/timeline/", {"customer": customer.pk, "kind": ["order", "ownership"], "page_size": 200})
    assert {row["kind"] for row in kinds.data["results"]} == {"order", "ownership"}
    assert len(kinds.data["results"]) == 80


def test_timeline_bad_input_and_scope(org):
    hidden = CustomerFactory(owner=org.sh_rep)
    bulk_events(hidden, 3)
    client = api(org.rep)
    response = client.get("/api/timeline/")
    assert response.status_code == 400 and "customer" in response.data
    assert client.get("/api/timeline/", {"customer": hidden.pk}).status_code == 404
    assert client.get("/api/timeline/", {"customer": 999999}).status_code == 404
    mine = CustomerFactory(owner=org.rep)
    response = client.get("/api/timeline/", {"customer": mine.pk, "kind": "nonsense"})
    assert response.status_code == 400 and "kind" in response.data
    response = client.get("/api/timeline/", {"customer": mine.pk, "cursor": "garbage"})
    assert response.status_code == 400 and "cursor" in response.data
    assert client.post("/api/timeline/", {"customer": mine.pk}).status_code == 405


def test_timeline_event_shape(org):
    customer = CustomerFactory(owner=org.rep)
    client = api(org.rep)
    client.post("/api/interactions/", {"customer": customer.pk, "kind": "email", "summary": "寄送目录"}, format="json")
    row = client.get("/api/timeline/", {"customer": customer.pk}).data["results"][0]
    assert row["source_type"] == "activities.interaction" and row["actor"] == org.rep.pk
    assert row["data"]["interaction"] == "email" and row["detail"] == "寄送目录"


@pytest.mark.parametrize(("url", "param", "make"), [
    ("/api/interactions/", "user", lambda customer, user: InteractionFactory(customer=customer, user=user)),
    ("/api/todos/", "owner", lambda customer, user: TodoFactory(customer=customer, owner=user)),
])
def test_people_filters_accept_only_people_the_caller_may_see(org, url, param, make):
    make(CustomerFactory(owner=org.rep), org.rep)
    make(CustomerFactory(owner=org.sh_rep), org.sh_rep)
    lead = api(org.team_lead)
    response = lead.get(url, {param: org.rep.pk})
    assert response.status_code == 200 and response.data["count"] == 1
    response = lead.get(url, {param: org.sh_rep.pk})
    assert response.status_code == 400 and list(response.data) == [param]
    assert api(org.ceo).get(url, {param: org.sh_rep.pk}).data["count"] == 1
