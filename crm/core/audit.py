"""Who is acting, from where: the context the audit log records with each change.

The web middleware opens a context per request (user and client address); commands, tasks and
services open one with :func:`acting_as`.  Services always pass their explicit actor, so a change is
attributed to the actor even when no request is around.
"""

import contextvars
import datetime
import decimal
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.contrib.contenttypes.models import ContentType

from .choices import AuditAction

BULK_BATCH = 1000


@dataclass(frozen=True)
class AuditContext:
    actor: object = None
    ip_address: str | None = None
    source: str = ""


_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar("audit_context", default=AuditContext())  # noqa: B039 (frozen)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(**values):
    token = _current.set(replace(_current.get(), **values))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@contextmanager
def acting_as(actor, source=None):
    """Attribute the changes inside the block to ``actor`` (keeps the request's address)."""
    values = {"actor": actor}
    if source is not None:
        values["source"] = source
    elif not _current.get().source:
        values["source"] = "service"
    with audit_context(**values) as ctx:
        yield ctx


def record(instance, action, changes):
    from .models import AuditEntry

    ctx = current()
    actor = ctx.actor if getattr(ctx.actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_repr=(actor.get_username() if actor else "")[:150],
        ip_address=ctx.ip_address,
        source=ctx.source or "system",
        action=action,
        content_type=ContentType.objects.get_for_model(type(instance), for_concrete_model=False),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=changes,
    )


def jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def logged_fields(model):
    """The fields the audit log records for ``model``: concrete, not the key, not in ``audit_exclude``."""
    exclude = set(getattr(model, "audit_exclude", ()))
    return [f for f in model._meta.concrete_fields if f.name not in exclude and not f.primary_key]


def snapshot(instance):
    """The logged values of ``instance`` as JSON-ready data (the "before" and "after" of an entry)."""
    return {f.attname: jsonable(getattr(instance, f.attname)) for f in logged_fields(type(instance))}


def created_changes(after):
    """The changes of a creation: every value that is set, from nothing."""
    return {k: [None, v] for k, v in after.items() if v not in (None, "", {}, [])}


def updated_changes(before, after):
    """The changes between two snapshots: only the values that differ."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


_FROM_CONTEXT = object()


def record_bulk(model, rows, *, action=AuditAction.UPDATE, actor=_FROM_CONTEXT):
    """Audit entries for rows written in bulk (``update()`` and ``bulk_create()`` bypass the audit
    signals), in one INSERT per batch.  ``rows`` are ``(pk, text, changes)`` or
    ``(pk, text, changes, action)``; ``action`` is the default of the rows without one.

    Who acted: without ``actor``, the current context, as :func:`record` does.  With an explicit
    ``actor`` (None for the system), that actor with the request's address and source; the system's
    entries have neither."""
    from .models import AuditEntry

    ctx = current()
    if actor is _FROM_CONTEXT:
        actor = ctx.actor if getattr(ctx.actor, "pk", None) else None
        ip_address, source = ctx.ip_address, ctx.source or "system"
    else:
        actor = actor if getattr(actor, "pk", None) else None
        ip_address = ctx.ip_address if actor else None
        source = (ctx.source or "service") if actor else "system"
    actor_repr = actor.get_username()[:150] if actor else ""
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    entries = []
    for pk, text, changes, *rest in rows:
        entries.append(AuditEntry(
            actor=actor, actor_repr=actor_repr, ip_address=ip_address, source=source,
            action=rest[0] if rest else action, content_type=content_type, object_id=str(pk),
            object_repr=str(text)[:200], changes=changes,
        ))
    return AuditEntry.objects.bulk_create(entries, batch_size=BULK_BATCH)


def history_for(instance):
    from .models import AuditEntry

    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(instance), for_concrete_model=False),
        object_id=str(instance.pk),
    ).select_related("actor")
