"""Verbs of the activities app: the customer timeline, interactions and to-dos.

``record_event`` is how every other app writes to a customer's timeline: an explicit call from the
service that caused the event (never a signal).  The interaction and to-do verbs take the acting user,
check the role's action, work only on records the actor can see, and run in one transaction.
"""

import datetime
import itertools

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.queries import assignable_users
from crm.core.audit import acting_as, record_bulk
from crm.core.choices import AuditAction
from crm.core.permissions import require
from crm.customers.services import touch_activity

from . import permissions as perms
from .choices import InteractionKind, TimelineKind, TodoKind
from .models import Interaction, TimelineEvent, Todo


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


# --- to-dos written by other apps' services (in bulk, audited) ----------------------------------------

TODO_CHUNK = 1000


def create_todos(rows, *, actor) -> list[Todo]:
    """Create many to-dos at once, audited as created by ``actor`` (None: the system).  ``rows`` are
    dicts with ``owner_id``, ``customer_id``, ``kind`` (a registered to-do kind), ``title`` and
    ``due_on``.  This is how other apps give someone a to-do (pool warnings, value alerts …): they never
    write the to-do table themselves."""
    todos = Todo.objects.bulk_create([
        Todo(owner_id=row["owner_id"], customer_id=row.get("customer_id"), kind=row["kind"],
             title=str(row["title"])[:200], due_on=row["due_on"])
        for row in rows
    ], batch_size=TODO_CHUNK)
    record_bulk(Todo, [
        (t.pk, t.title, {"owner_id": [None, t.owner_id], "customer_id": [None, t.customer_id],
                         "kind": [None, t.kind], "title": [None, t.title], "due_on": [None, t.due_on.isoformat()]})
        for t in todos if t.pk
    ], actor=actor, action=AuditAction.CREATE)
    return todos


def _chunks(items, size=TODO_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def close_open_todos(customer_ids, *, kind, actor, now) -> int:
    """Mark the open to-dos of ``kind`` about these customers done (audited); returns how many."""
    rows = []
    for chunk in _chunks(list(customer_ids)):
        todos = list(Todo.objects.filter(customer_id__in=chunk, kind=kind, done_at__isnull=True)
                     .values_list("pk", "title"))
        Todo.objects.filter(pk__in=[pk for pk, _title in todos]).update(done_at=now, updated_at=now)
        rows += [(pk, title, {"done_at": [None, now.isoformat()]}) for pk, title in todos]
    record_bulk(Todo, rows, actor=actor)
    return len(rows)


def open_todo_count(owner) -> int:
    return Todo.objects.filter(owner=owner, done_at__isnull=True).count()


def hand_over_todos(from_user, *, new_owners: dict, recipient_ids, actor, now) -> dict:
    """A hand-over's to-dos: ``from_user``'s open to-dos follow their customer to its new owner
    (``new_owners``: customer id → user id); the others go round ``recipient_ids`` in turn.  Returns
    the moved to-dos (dicts with ``pk``, ``title``, ``customer_id``) per new owner."""
    todos = list(Todo.objects.select_for_update().filter(owner=from_user, done_at__isnull=True)
                 .order_by("pk").values("pk", "title", "customer_id"))
    turn = itertools.cycle(sorted(recipient_ids))
    groups = {}
    for todo in todos:
        uid = new_owners.get(todo["customer_id"]) or next(turn)
        groups.setdefault(uid, []).append(todo)
    for uid, items in groups.items():
        for chunk in _chunks([t["pk"] for t in items]):
            Todo.objects.filter(pk__in=chunk).update(owner_id=uid, updated_at=now)
    record_bulk(Todo, [(t["pk"], t["title"], {"owner_id": [from_user.pk, uid]})
                       for uid, items in groups.items() for t in items], actor=actor)
    return groups


# --- interactions ---------------------------------------------------------------------------------

INTERACTION_FIELDS = (
    "kind", "direction", "contact", "occurred_at", "duration_minutes", "content", "summary", "follow_up_on",
    "external_ref",
)
TODO_FIELDS = ("kind", "title", "due_on", "customer")

# A clock a few minutes ahead (a phone, a laptop) must not make "now" look like the future.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def _ensure_visible(actor, obj):
    if not type(obj)._default_manager.visible_to(actor).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def _interaction_errors(interaction, customer):
    """Business rules of an interaction, as ``{field: [messages]}`` (empty when it is fine)."""
    errors = {}
    if interaction.contact_id is not None and interaction.contact.customer_id != customer.pk:
        errors["contact"] = [_("This contact does not belong to the customer.")]
    if interaction.occurred_at is None:
        errors["occurred_at"] = [_("This field is required.")]
    elif interaction.occurred_at > timezone.now() + FUTURE_TOLERANCE:
        errors["occurred_at"] = [_("An interaction cannot be in the future.")]
    interaction.summary = (interaction.summary or "").strip()
    if not interaction.summary:
        errors["summary"] = [_("Say in a few words what the interaction was about.")]
    if (interaction.follow_up_on and interaction.occurred_at
            and interaction.follow_up_on < timezone.localdate(interaction.occurred_at)):
        errors["follow_up_on"] = [_("A follow-up cannot be before the interaction.")]
    try:
        # Summary and time were checked above; their bounds (length, date range) are checked here.
        interaction.full_clean(exclude=["customer", "contact", "user", *[k for k in ("summary", "occurred_at")
                                                                        if k in errors]])
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    return errors


def _interaction_event_values(interaction):
    kind = InteractionKind(interaction.kind)
    title = kind.label if not interaction.contact_id else f"{kind.label} · {interaction.contact.name}"
    return {
        "at": interaction.occurred_at,
        "title": str(title)[:200],
        "detail": interaction.summary[:500],
        "data": {"interaction": interaction.kind, "direction": interaction.direction,
                 "content": interaction.content, "duration": interaction.duration_minutes,
                 "contact": interaction.contact.name if interaction.contact_id else ""},
    }


def _follow_up_title(interaction):
    summary = " ".join(interaction.summary.split())
    return (_("Follow up: %(summary)s") % {"summary": summary})[:200]


def _create_follow_up(interaction, customer, actor):
    return Todo.objects.create(
        owner=customer.owner if customer.owner_id else actor, customer=customer, interaction=interaction,
        kind=TodoKind.FOLLOW_UP, title=_follow_up_title(interaction), due_on=interaction.follow_up_on,
        created_by=actor,
    )


@transaction.atomic
def log_interaction(customer, *, actor, data: dict) -> Interaction:
    """Record a contact with ``customer`` (R2.1): the interaction, its timeline event, the customer's
    last activity, and — with a follow-up date — a to-do for the customer's owner due that day."""
    require(actor, perms.ADD_INTERACTION)
    _ensure_visible(actor, customer)
    values = {k: v for k, v in data.items() if k in INTERACTION_FIELDS}
    if values.get("occurred_at") is None:
        values["occurred_at"] = timezone.now()
    interaction = Interaction(customer=customer, user=actor, **values)
    errors = _interaction_errors(interaction, customer)
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        interaction.save()
        if interaction.follow_up_on:
            _create_follow_up(interaction, customer, actor)
        record_event(customer, kind=TimelineKind.INTERACTION, actor=actor, source=interaction,
                     **_interaction_event_values(interaction))
        touch_activity({customer.pk: interaction.occurred_at})
    return interaction


def _source_events(instance):
    return TimelineEvent.objects.filter(source_type=ContentType.objects.get_for_model(type(instance)),
                                        source_id=instance.pk)


@transaction.atomic
def update_interaction(interaction: Interaction, *, actor, data: dict) -> Interaction:
    """Change an interaction; its timeline event and its open follow-up move with it."""
    require(actor, perms.CHANGE_INTERACTION)
    _ensure_visible(actor, interaction)
    customer = interaction.customer
    previous_follow_up = interaction.follow_up_on
    for key, value in data.items():
        if key in INTERACTION_FIELDS:
            setattr(interaction, key, value)
    errors = _interaction_errors(interaction, customer)
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        interaction.save()
        open_follow_ups = Todo.objects.filter(interaction=interaction, kind=TodoKind.FOLLOW_UP,
                                              done_at__isnull=True)
        if interaction.follow_up_on != previous_follow_up:
            if interaction.follow_up_on is None:
                for todo in open_follow_ups:
                    todo.delete()
            elif open_follow_ups:
                for todo in open_follow_ups:
                    todo.due_on = interaction.follow_up_on
                    todo.save(update_fields=["due_on", "updated_at"])
            else:
                _create_follow_up(interaction, customer, actor)
        _source_events(interaction).update(**_interaction_event_values(interaction))
        touch_activity({customer.pk: interaction.occurred_at})
    return interaction


@transaction.atomic
def delete_interaction(interaction: Interaction, *, actor):
    """Delete an interaction with its timeline event and its open follow-ups (done ones stay)."""
    require(actor, perms.DELETE_INTERACTION)
    _ensure_visible(actor, interaction)
    with acting_as(actor):
        _source_events(interaction).delete()
        for todo in Todo.objects.filter(interaction=interaction, kind=TodoKind.FOLLOW_UP, done_at__isnull=True):
            todo.delete()
        interaction.delete()


# --- to-dos ---------------------------------------------------------------------------------------

def _check_owner(actor, owner, errors):
    if owner is not None and owner != actor and not assignable_users(actor).filter(pk=owner.pk).exists():
        errors["owner"] = [_("This user is outside your access or inactive.")]


def _todo_errors(todo, actor):
    errors = {}
    todo.title = (todo.title or "").strip()
    try:
        todo.full_clean(exclude=["owner", "customer", "interaction", "created_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if todo.customer_id and not todo.customer.is_visible_to(actor):
        errors["customer"] = [_("This customer is outside your access.")]
    return errors


@transaction.atomic
def create_todo(*, actor, data: dict, owner=None) -> Todo:
    """A to-do for ``owner`` (default: the actor), optionally about a customer the actor can see."""
    require(actor, perms.ADD_TODO)
    todo = Todo(owner=owner or actor, created_by=actor, **{k: v for k, v in data.items() if k in TODO_FIELDS})
    errors = _todo_errors(todo, actor)
    _check_owner(actor, owner, errors)
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        todo.save()
    return todo


@transaction.atomic
def update_todo(todo: Todo, *, actor, data: dict) -> Todo:
    """Change a to-do's title, kind, due date or customer (its owner: :func:`reassign_todo`)."""
    require(actor, perms.CHANGE_TODO)
    _ensure_visible(actor, todo)
    changed = {k: v for k, v in data.items() if k in TODO_FIELDS}
    for key, value in changed.items():
        setattr(todo, key, value)
    errors = _todo_errors(todo, actor)
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        todo.save()
    return todo


def _set_done(todo, *, actor, done_at):
    require(actor, perms.CHANGE_TODO)
    _ensure_visible(actor, todo)
    if (todo.done_at is None) == (done_at is None):
        return todo  # already in that state: completing twice changes nothing
    todo.done_at = done_at
    with acting_as(actor):
        todo.save(update_fields=["done_at", "updated_at"])
    return todo


@transaction.atomic
def complete_todo(todo: Todo, *, actor) -> Todo:
    return _set_done(todo, actor=actor, done_at=timezone.now())


@transaction.atomic
def reopen_todo(todo: Todo, *, actor) -> Todo:
    return _set_done(todo, actor=actor, done_at=None)


@transaction.atomic
def reassign_todo(todo: Todo, *, actor, owner) -> Todo:
    """Give a to-do to another user the actor may assign records to."""
    require(actor, perms.CHANGE_TODO)
    _ensure_visible(actor, todo)
    if owner is None:
        raise ValidationError({"owner": [_("This field is required.")]})
    if owner == todo.owner:
        return todo
    if not assignable_users(actor).filter(pk=owner.pk).exists():
        raise ValidationError({"owner": [_("This user is outside your access or inactive.")]})
    todo.owner = owner
    with acting_as(actor):
        todo.save(update_fields=["owner", "updated_at"])
    return todo


@transaction.atomic
def delete_todo(todo: Todo, *, actor):
    require(actor, perms.DELETE_TODO)
    _ensure_visible(actor, todo)
    with acting_as(actor):
        todo.delete()
