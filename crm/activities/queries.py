"""Read side of the activities app: interactions, to-dos, the customer timeline and "my day".

Everything starts from ``visible_to(user)``.  The timeline is read newest first with a keyset cursor
on ``(at, id)``, so a customer with thousands of events costs the same on page 1 as on page 100:
one query per page, answered from ``timeline_customer_idx`` (or ``timeline_customer_kind_idx``).
"""

import base64
import binascii
import datetime
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from crm.core.visibility import with_related_visibility
from crm.customers.queries import customers_due_to_return

from .choices import InteractionKind, RelationshipContent, TodoKind
from .models import Interaction, TimelineEvent, Todo

TIMELINE_PAGE_SIZE = 30
TIMELINE_MAX_PAGE_SIZE = 200
MY_DAY_LIMIT = 50
UPCOMING_DAYS = 7


def interactions_for(user):
    """The interactions of the customers ``user`` may see, with what a list row shows."""
    return Interaction.objects.visible_to(user).select_related("customer", "contact", "user")


def todos_for(user):
    """The to-dos ``user`` may see: their own, and those of the people their scope covers.  A to-do
    follows its owner and its customer the customer's owner: ``customer_visible`` says whether ``user``
    may see the customer (and its name)."""
    todos = Todo.objects.visible_to(user).select_related("owner", "customer")
    return with_related_visibility(todos, "customer", user)


# --- the customer timeline --------------------------------------------------------------------------

class InvalidCursor(ValueError):
    pass


def encode_cursor(event) -> str:
    raw = f"{event.at.isoformat()}|{event.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str):
    """``(at, id)`` of the last event of the previous page; :class:`InvalidCursor` when tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, id_text = raw.rsplit("|", 1)
        at, pk = parse_datetime(at_text), int(id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if at is None or at.tzinfo is None or pk < 0:
        raise InvalidCursor(cursor)
    return at, pk


def timeline_for(user, customer, kinds=None):
    """``customer``'s timeline as ``user`` may see it, newest first, optionally only some kinds."""
    events = (TimelineEvent.objects.visible_to(user).filter(customer_id=getattr(customer, "pk", customer))
              .select_related("actor").order_by("-at", "-id"))
    kinds = [k for k in (kinds or []) if k]
    if len(kinds) == 1:
        events = events.filter(kind=kinds[0])
    elif kinds:
        events = events.filter(kind__in=kinds)
    return events


@dataclass
class TimelinePage:
    events: list
    next_cursor: str | None
    kinds: list = field(default_factory=list)


_INTERACTION_LABELS = dict(InteractionKind.choices)
_CONTENT_LABELS = dict(RelationshipContent.choices)


def _decorate(event):
    """Labels that follow the reader's language, not the writer's (the stored title is a snapshot)."""
    data = event.data or {}
    event.interaction_label = _INTERACTION_LABELS.get(data.get("interaction"), "")
    event.content_label = _CONTENT_LABELS.get(data.get("content"), "")
    return event


def timeline_page(user, customer, *, kinds=None, cursor=None, size=TIMELINE_PAGE_SIZE) -> TimelinePage:
    """One page of the timeline after ``cursor`` (from the previous page's ``next_cursor``): one query.

    The condition ``at <= :at AND (at < :at OR id < :id)`` is a range on the index, so the database
    starts reading at the cursor instead of skipping the rows before it.
    """
    size = max(1, min(int(size), TIMELINE_MAX_PAGE_SIZE))
    events = timeline_for(user, customer, kinds)
    if cursor:
        at, pk = decode_cursor(cursor)
        events = events.filter(Q(at__lt=at) | Q(at=at, id__lt=pk), at__lte=at)
    rows = list(events[:size + 1])
    more = len(rows) > size
    rows = [_decorate(e) for e in rows[:size]]
    return TimelinePage(events=rows, next_cursor=encode_cursor(rows[-1]) if more else None,
                        kinds=list(kinds or []))


# --- my day -------------------------------------------------------------------------------------------

@dataclass
class Section:
    rows: list
    more: bool


def _bounded(queryset, limit):
    rows = list(queryset[:limit + 1])
    return Section(rows=rows[:limit], more=len(rows) > limit)


@dataclass
class MyDay:
    today: datetime.date
    due: Section           # open to-dos (not follow-ups) due today or overdue
    follow_ups: Section    # open follow-ups due today or overdue
    upcoming: Section      # open to-dos of any kind due in the next days
    due_to_return: Section  # own customers about to return to the pool


def my_day(user, today: datetime.date, *, limit=MY_DAY_LIMIT) -> MyDay:
    """What ``user`` has to do today: a fixed number of queries, each list bounded by ``limit``."""
    mine = with_related_visibility(
        Todo.objects.visible_to(user).filter(owner=user, done_at__isnull=True).select_related("customer"),
        "customer", user)
    due = mine.filter(due_on__lte=today).order_by("due_on", "id")
    upcoming = mine.filter(due_on__gt=today, due_on__lte=today + datetime.timedelta(days=UPCOMING_DAYS))
    return MyDay(
        today=today,
        due=_bounded(due.exclude(kind=TodoKind.FOLLOW_UP), limit),
        follow_ups=_bounded(due.filter(kind=TodoKind.FOLLOW_UP), limit),
        upcoming=_bounded(upcoming.order_by("due_on", "id"), limit),
        due_to_return=_bounded(customers_due_to_return(user), limit),
    )
