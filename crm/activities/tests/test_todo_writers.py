"""The to-do and timeline verbs other apps use: through activities' services, or, for the earlier
customers app, through the providers activities registers in crm.core.registry."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from crm.activities import services
from crm.activities.models import TimelineEvent, Todo
from crm.core import registry
from crm.core.choices import AuditAction
from crm.core.models import AuditEntry
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_create_todos_writes_them_in_bulk_audited(org, django_assert_max_num_queries):
    customers = [CustomerFactory(owner=org.rep) for _ in range(3)]
    due = timezone.localdate()
    rows = [{"owner_id": org.rep.pk, "customer_id": c.pk, "kind": "pool_warning", "title": f"call {c.name}",
             "due_on": due} for c in customers]
    with django_assert_max_num_queries(4):
        todos = services.create_todos(rows, actor=None)
    assert [(t.owner_id, t.customer_id, t.kind, t.due_on) for t in Todo.objects.order_by("pk")] == [
        (org.rep.pk, c.pk, "pool_warning", due) for c in customers]
    entries = AuditEntry.objects.filter(action=AuditAction.CREATE, content_type=ContentType.objects.get_for_model(Todo),
                                        object_id__in=[str(t.pk) for t in todos])
    assert entries.count() == 3 and {e.source for e in entries} == {"system"}
    assert entries.first().changes["kind"] == [None, "pool_warning"]


def test_providers_reach_activities_services(org):
    customer = CustomerFactory(owner=org.rep)
    now = timezone.now()
    registry.call("timeline.record_events", [{"customer": customer.pk, "kind": "ownership", "title": "a → b",
                                             "at": now}])
    assert TimelineEvent.objects.get().kind == "ownership"
    registry.call("todos.create", [{"owner_id": org.rep.pk, "customer_id": customer.pk, "kind": "pool_warning",
                                    "title": "call", "due_on": now.date() + datetime.timedelta(days=1)}],
                  actor=None)
    assert registry.call("todos.count_open", org.rep) == 1
    assert registry.call("todos.close_open", [customer.pk], kind="pool_warning", actor=None, now=now) == 1
    assert registry.call("todos.count_open", org.rep) == 0
