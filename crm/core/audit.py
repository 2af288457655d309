"""Who is acting, from where: the context the audit log records with each change.

The web middleware opens a context per request (user and client address); commands, tasks and
services open one with :func:`acting_as`.  Services always pass their explicit actor, so a change is
attributed to the actor even when no request is around.
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.contrib.contenttypes.models import ContentType


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


def history_for(instance):
    from .models import AuditEntry

    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(instance), for_concrete_model=False),
        object_id=str(instance.pk),
    ).select_related("actor")
