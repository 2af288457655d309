"""Business rules of interactions, to-dos and the timeline, exercised through services and queries."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.activities import queries, services
from crm.activities.choices import TimelineKind, TodoKind
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.activities.tests.factories import InteractionFactory, TodoFactory, bulk_events
from crm.core.audit import history_for
from crm.customers.models import Customer, PoolRule
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def written():
    return Interaction.objects.count(), Todo.objects.count(), TimelineEvent.objects.count()


def log(customer, actor, **data):
    data.setdefault("kind", "call")
    data.setdefault("summary", "询问报价")
    return services.log_interaction(customer, actor=actor, data=data)


# --- log_interaction ----------------------------------------------------------------------------

def test_log_with_follow_up_creates_the_owners_todo_event_and_activity(org):
    customer = CustomerFactory(owner=org.rep)
    contact = ContactFactory(customer=customer, name="张经理")
    follow_up = timezone.localdate() + datetime.timedelta(days=3)
    at = timezone.now() - datetime.timedelta(minutes=30)
    interaction = log(customer, org.team_lead, contact=contact, occurred_at=at, duration_minutes=15,
                      content="feedback", direction="in", follow_up_on=follow_up)
    assert (interaction.user, interaction.customer, interaction.contact) == (org.team_lead, customer, contact)
    todo = Todo.objects.get()
    assert (todo.owner, todo.customer, todo.interaction, todo.kind, todo.due_on, todo.created_by) == (
        org.rep, customer, interaction, TodoKind.FOLLOW_UP, follow_up, org.team_lead)
    assert "询问报价" in todo.title
    event = TimelineEvent.objects.get()
    assert (event.kind, event.at, event.actor, event.source_id) == (TimelineKind.INTERACTION, at, org.team_lead,
                                                                   interaction.pk)
    assert event.data["contact"] == "张经理" and event.detail == "询问报价"
    assert Customer.objects.get(pk=customer.pk).last_activity_at == at
    assert history_for(interaction).get().actor == org.team_lead


def test_follow_up_for_a_customer_without_owner_goes_to_the_actor(org):
    customer = CustomerFactory(owner=None, branch=org.bj1)
    log(customer, org.team_lead, follow_up_on=timezone.localdate())
    assert Todo.objects.get().owner == org.team_lead


def test_no_follow_up_date_no_todo(org):
    log(CustomerFactory(owner=org.rep), org.rep)
    assert written() == (1, 0, 1)


def test_time_defaults_to_now_and_a_few_minutes_ahead_is_accepted(org):
    customer = CustomerFactory(owner=org.rep)
    assert abs(log(customer, org.rep).occurred_at - timezone.now()) < datetime.timedelta(seconds=5)
    log(customer, org.rep, occurred_at=timezone.now() + datetime.timedelta(minutes=2))
    assert Interaction.objects.count() == 2


@pytest.mark.parametrize("bad,field", [
    ({"summary": "   "}, "summary"),
    ({"summary": ""}, "summary"),
    ({"occurred_at": "future"}, "occurred_at"),
    ({"contact": "other"}, "contact"),
    ({"kind": "pigeon"}, "kind"),
    ({"content": "bribery"}, "content"),
    ({"follow_up_on": "before"}, "follow_up_on"),
])
def test_bad_input_is_a_field_error_and_nothing_is_written(org, bad, field):
    customer = CustomerFactory(owner=org.rep)
    values = dict(bad)
    if values.get("occurred_at") == "future":
        values["occurred_at"] = timezone.now() + datetime.timedelta(hours=2)
    if values.get("contact") == "other":
        values["contact"] = ContactFactory(customer=CustomerFactory(owner=org.rep))
    if values.get("follow_up_on") == "before":
        values["occurred_at"] = timezone.now() - datetime.timedelta(days=2)
        values["follow_up_on"] = timezone.localdate() - datetime.timedelta(days=5)
    before = Customer.objects.get(pk=customer.pk).last_activity_at
    with pytest.raises(ValidationError) as exc:
        log(customer, org.rep, **values)
    assert field in exc.value.message_dict
    assert written() == (0, 0, 0)
    assert Customer.objects.get(pk=customer.pk).last_activity_at == before


def test_several_errors_are_reported_together(org):
    other = ContactFactory(customer=CustomerFactory(owner=org.rep))
    with pytest.raises(ValidationError) as exc:
        log(CustomerFactory(owner=org.rep), org.rep, summary="", contact=other,
            occurred_at=timezone.now() + datetime.timedelta(days=1))
    assert {"summary", "contact", "occurred_at"} <= set(exc.value.message_dict)


def test_invisible_customer_and_missing_action_are_refused(org):
    customer = CustomerFactory(owner=org.sh_rep)
    with pytest.raises(PermissionDenied):
        log(customer, org.rep)
    with pytest.raises(PermissionDenied):
        log(CustomerFactory(owner=org.rep), org.viewer)  # sees the team's customers, may not create
    assert written() == (0, 0, 0)


def test_older_interaction_does_not_move_last_activity_back(org):
    customer = CustomerFactory(owner=org.rep)
    recent = log(customer, org.rep).occurred_at
    log(customer, org.rep, occurred_at=recent - datetime.timedelta(days=10))
    assert Customer.objects.get(pk=customer.pk).last_activity_at == recent


# --- update / delete ----------------------------------------------------------------------------

def test_update_keeps_timeline_and_follow_up_in_step(org):
    customer = CustomerFactory(owner=org.rep)
    interaction = log(customer, org.rep, follow_up_on=timezone.localdate())
    new_day = timezone.localdate() + datetime.timedelta(days=5)
    at = timezone.now() - datetime.timedelta(hours=3)
    services.update_interaction(interaction, actor=org.rep, data={
        "summary": "确认交期", "occurred_at": at, "follow_up_on": new_day, "kind": "visit"})
    event = TimelineEvent.objects.get()
    assert (event.detail, event.at, event.data["interaction"]) == ("确认交期", at, "visit")
    assert Todo.objects.get().due_on == new_day
    services.update_interaction(interaction, actor=org.rep, data={"follow_up_on": None})
    assert not Todo.objects.exists()
    services.update_interaction(interaction, actor=org.rep, data={"follow_up_on": new_day})
    assert Todo.objects.get().due_on == new_day


def test_update_with_bad_input_changes_nothing(org):
    interaction = log(CustomerFactory(owner=org.rep), org.rep)
    with pytest.raises(ValidationError):
        services.update_interaction(interaction, actor=org.rep, data={"summary": ""})
    assert Interaction.objects.get().summary == "询问报价"
    assert TimelineEvent.objects.get().detail == "询问报价"


def test_delete_removes_event_and_open_follow_up_keeps_done_ones(org):
    customer = CustomerFactory(owner=org.rep)
    interaction = log(customer, org.manager, follow_up_on=timezone.localdate())
    done = TodoFactory(customer=customer, interaction=interaction, kind=TodoKind.FOLLOW_UP, done_at=timezone.now())
    with pytest.raises(PermissionDenied):
        services.delete_interaction(interaction, actor=org.rep)  # a sales role has no delete action
    services.delete_interaction(interaction, actor=org.manager)
    assert not Interaction.objects.exists() and not TimelineEvent.objects.exists()
    assert list(Todo.objects.all()) == [done]
    assert Todo.objects.get().interaction is None


def test_update_of_an_invisible_interaction_is_refused(org):
    interaction = InteractionFactory(customer=CustomerFactory(owner=org.sh_rep))
    with pytest.raises(PermissionDenied):
        services.update_interaction(interaction, actor=org.rep, data={"summary": "x"})


# --- to-dos ---------------------------------------------------------------------------------------

def test_create_todo_for_self_and_for_an_assignable_user(org):
    mine = services.create_todo(actor=org.rep, data={"title": " 打电话 ", "due_on": timezone.localdate()})
    assert (mine.owner, mine.created_by, mine.title, mine.kind) == (org.rep, org.rep, "打电话", TodoKind.TASK)
    theirs = services.create_todo(actor=org.team_lead, data={"title": "拜访", "due_on": timezone.localdate()},
                                  owner=org.teammate)
    assert theirs.owner == org.teammate
    with pytest.raises(ValidationError) as exc:
        services.create_todo(actor=org.team_lead, data={"title": "拜访", "due_on": timezone.localdate()},
                             owner=org.sh_rep)
    assert "owner" in exc.value.message_dict


def test_create_todo_bad_input(org):
    with pytest.raises(ValidationError) as exc:
        services.create_todo(actor=org.rep, data={"title": "", "due_on": None,
                                                  "customer": CustomerFactory(owner=org.sh_rep)})
    assert {"title", "due_on", "customer"} <= set(exc.value.message_dict)
    assert not Todo.objects.exists()


def test_complete_and_reopen_are_idempotent(org):
    todo = TodoFactory(owner=org.rep)
    services.complete_todo(todo, actor=org.rep)
    done_at = Todo.objects.get().done_at
    assert done_at is not None
    services.complete_todo(Todo.objects.get(), actor=org.rep)
    assert Todo.objects.get().done_at == done_at
    services.reopen_todo(Todo.objects.get(), actor=org.rep)
    assert Todo.objects.get().is_open


def test_todo_of_someone_outside_scope_is_refused(org):
    todo = TodoFactory(owner=org.sh_rep)
    for verb in (services.complete_todo, services.reopen_todo):
        with pytest.raises(PermissionDenied):
            verb(todo, actor=org.rep)
    with pytest.raises(PermissionDenied):
        services.reassign_todo(todo, actor=org.rep, owner=org.rep)
    assert Todo.objects.get().owner == org.sh_rep


def test_reassign_within_scope_only(org):
    todo = TodoFactory(owner=org.rep)
    services.reassign_todo(todo, actor=org.team_lead, owner=org.teammate)
    assert Todo.objects.get().owner == org.teammate
    with pytest.raises(ValidationError) as exc:
        services.reassign_todo(Todo.objects.get(), actor=org.team_lead, owner=org.sh_rep)
    assert "owner" in exc.value.message_dict
    assert Todo.objects.get().owner == org.teammate


@pytest.mark.parametrize("viewer,expected", [
    ("rep", {"rep"}), ("manager", {"manager", "rep", "sub", "subsub"}),
    ("team_lead", {"rep", "sub", "subsub", "teammate", "team_lead", "manager"}),
    ("sh_rep", {"sh_rep"}), ("ceo", {"rep", "sh_rep", "manager", "sub", "subsub", "teammate", "team_lead"}),
    ("no_role", set()),
])
def test_todos_are_visible_to_their_owner_and_by_unit_per_scope(org, viewer, expected):
    owners = ["rep", "sh_rep", "manager", "sub", "subsub", "teammate", "team_lead"]
    todos = {name: TodoFactory(owner=getattr(org, name)) for name in owners}
    seen = set(queries.todos_for(getattr(org, viewer)).values_list("pk", flat=True))
    assert seen == {todos[o].pk for o in expected}


# --- timeline ---------------------------------------------------------------------------------------

def test_timeline_newest_first_and_filtered_by_kind(org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 9)
    bulk_events(CustomerFactory(owner=org.rep), 3)  # another customer's events never appear
    events = list(queries.timeline_for(org.rep, customer))
    assert len(events) == 9
    assert [(e.at, e.pk) for e in events] == sorted([(e.at, e.pk) for e in events], reverse=True)
    orders = list(queries.timeline_for(org.rep, customer, kinds=["order"]))
    assert len(orders) == 3 and {e.kind for e in orders} == {"order"}
    two = queries.timeline_for(org.rep, customer, kinds=["order", "ownership"])
    assert two.count() == 6


def test_timeline_of_an_invisible_customer_is_empty(org):
    customer = CustomerFactory(owner=org.sh_rep)
    bulk_events(customer, 3)
    assert not queries.timeline_for(org.rep, customer).exists()
    assert queries.timeline_page(org.rep, customer).events == []


def _walk(user, customer, kinds=None, size=30):
    seen, cursor, counts = [], None, []
    while True:
        with CaptureQueriesContext(connection) as ctx:
            page = queries.timeline_page(user, customer, kinds=kinds, cursor=cursor, size=size)
        counts.append(len(ctx))
        seen += [e.pk for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            return seen, counts


def test_keyset_pages_walk_300_events_without_gaps_or_duplicates(org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 300)
    seen, counts = _walk(org.team_lead, customer)
    expected = list(TimelineEvent.objects.filter(customer=customer).order_by("-at", "-id").values_list("pk", flat=True))
    assert seen == expected and len(set(seen)) == 300
    assert len(counts) == 10 and counts[0] == counts[9] == 1
    orders, _counts = _walk(org.team_lead, customer, kinds=["order"], size=7)
    assert orders == [pk for pk in expected if TimelineEvent.objects.get(pk=pk).kind == "order"]


def test_tampered_cursor_is_refused(org):
    customer = CustomerFactory(owner=org.rep)
    for cursor in ("garbage", "Zm9v", "MjAyNi0wMS0wMXwx"):  # "foo", "2026-01-01|1" (no time zone)
        with pytest.raises(queries.InvalidCursor):
            queries.timeline_page(org.rep, customer, cursor=cursor)


# --- my day ---------------------------------------------------------------------------------------

def test_my_day_sections(org):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    customer = CustomerFactory(owner=org.rep)
    overdue = TodoFactory(owner=org.rep, due_on=today - 3 * day)
    due = TodoFactory(owner=org.rep, due_on=today)
    follow_up = TodoFactory(owner=org.rep, due_on=today, kind=TodoKind.FOLLOW_UP, customer=customer)
    soon = TodoFactory(owner=org.rep, due_on=today + 7 * day)
    TodoFactory(owner=org.rep, due_on=today + 8 * day)                     # too far ahead
    TodoFactory(owner=org.rep, due_on=today, done_at=timezone.now())        # done
    TodoFactory(owner=org.teammate, due_on=today)                          # someone else's
    PoolRule.objects.create(days_without_activity=30, warn_days_before=7)
    returning = CustomerFactory(owner=org.rep)
    Customer.objects.filter(pk=returning.pk).update(last_activity_at=timezone.now() - 25 * day)
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=timezone.now())
    with CaptureQueriesContext(connection) as ctx:
        result = queries.my_day(org.rep, today)
    assert [t.pk for t in result.due.rows] == [overdue.pk, due.pk]
    assert [t.pk for t in result.follow_ups.rows] == [follow_up.pk]
    assert [t.pk for t in result.upcoming.rows] == [soon.pk]
    assert [c.pk for c in result.due_to_return.rows] == [returning.pk]
    assert len(ctx) <= 5


def test_my_day_lists_are_bounded(org):
    today = timezone.localdate()
    for _ in range(4):
        TodoFactory(owner=org.rep, due_on=today)
    result = queries.my_day(org.rep, today, limit=3)
    assert len(result.due.rows) == 3 and result.due.more
