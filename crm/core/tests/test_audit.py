import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from crm.core import audit
from crm.core.audit import acting_as, audit_context, record_bulk
from crm.core.choices import AuditAction
from crm.core.models import AuditEntry, CustomFieldDefinition


def _entries():
    return list(AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(CustomFieldDefinition)).order_by("id"))


@pytest.mark.django_db
def test_record_bulk_takes_who_from_the_context_like_record(org, django_assert_num_queries):
    ContentType.objects.get_for_model(CustomFieldDefinition)  # cached, as in any running process
    rows = [(1, "first", {"label": ["a", "b"]}), (2, "x" * 250, {"label": [None, "c"]}, AuditAction.CREATE)]
    with audit_context(ip_address="192.0.2.7", source="api"), acting_as(org.rep), django_assert_num_queries(1):
        record_bulk(CustomFieldDefinition, rows)
    first, second = _entries()
    assert [(e.actor, e.actor_repr, e.ip_address, e.source) for e in (first, second)] == [
        (org.rep, org.rep.username, "192.0.2.7", "api")] * 2
    assert (first.action, first.object_id, first.object_repr, first.changes) == (
        AuditAction.UPDATE, "1", "first", {"label": ["a", "b"]})
    assert (second.action, second.object_id, second.object_repr) == (AuditAction.CREATE, "2", "x" * 200)


@pytest.mark.django_db
def test_record_bulk_without_anyone_in_the_context_is_the_system(org):
    with audit_context(ip_address="192.0.2.7"):
        record_bulk(CustomFieldDefinition, [(1, "first", {})])
    (entry,) = _entries()
    assert (entry.actor, entry.actor_repr, entry.ip_address, entry.source) == (None, "", "192.0.2.7", "system")


@pytest.mark.django_db
def test_record_bulk_with_an_explicit_actor(org):
    with audit_context(ip_address="192.0.2.7"):
        record_bulk(CustomFieldDefinition, [(1, "by the rep", {})], actor=org.rep)
        with acting_as(org.rep, source="web"):
            record_bulk(CustomFieldDefinition, [(2, "by the system", {})], action=AuditAction.CREATE, actor=None)
    by_rep, by_system = _entries()
    assert (by_rep.actor, by_rep.ip_address, by_rep.source, by_rep.action) == (
        org.rep, "192.0.2.7", "service", AuditAction.UPDATE)
    assert (by_system.actor, by_system.actor_repr, by_system.ip_address, by_system.source, by_system.action) == (
        None, "", None, "system", AuditAction.CREATE)


def test_snapshot_and_changes_are_json_ready():
    definition = CustomFieldDefinition(pk=5, key="size", label="Size", field_type="text", choices=[], position=2,
                                       created_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))
    after = audit.snapshot(definition)
    assert "id" not in after
    assert after["key"] == "size" and after["created_at"] == "2026-01-02T03:04:05+00:00"
    assert audit.created_changes(after) == {k: [None, v] for k, v in after.items()
                                            if k not in ("choices", "help_text", "content_type_id", "updated_at")}
    before = dict(after, label="Old", position=1)
    assert audit.updated_changes(before, after) == {"label": ["Old", "Size"], "position": [1, 2]}
    assert audit.jsonable(Decimal("1.50")) == "1.50" and audit.jsonable(datetime.date(2026, 1, 2)) == "2026-01-02"
