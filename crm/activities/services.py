"""Verbs of the activities app: the customer timeline, interactions and to-dos.

``record_event`` is how every other app writes to a customer's timeline: an explicit call from the
service that caused the event (never a signal).
"""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from .models import TimelineEvent


def _event(customer_id, *, kind, title, at=None, actor=None, detail="", source=None, data=None):
    return TimelineEvent(
        customer_id=customer_id,
        at=at or timezone.now(),
        kind=kind,
        title=str(title)[:200],
        detail=str(detail or "")[:500],
        actor=actor if getattr(actor, "pk", None) else None,
        source_type=ContentType.objects.get_for_model(type(source)) if source is not None else None,
        source_id=source.pk if source is not None else None,
        data=data or {},
    )


def record_event(customer, *, kind, title, at=None, actor=None, detail="", source=None, data=None):
    """Add one event to ``customer``'s timeline (``customer`` may be an instance or an id)."""
    customer_id = getattr(customer, "pk", customer)
    event = _event(customer_id, kind=kind, title=title, at=at, actor=actor, detail=detail, source=source,
                   data=data)
    event.save()
    return event


def record_events(events):
    """Write many events in one statement: ``events`` are dicts of :func:`record_event`'s arguments
    with a ``customer`` key (instance or id).  Used by bulk imports."""
    rows = []
    for values in events:
        values = dict(values)
        customer = values.pop("customer")
        rows.append(_event(getattr(customer, "pk", customer), **values))
    return TimelineEvent.objects.bulk_create(rows, batch_size=2000)
