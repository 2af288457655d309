"""Verbs that change the customer archive.  Pages, API, imports and commands all call these.

Every function takes the acting user, checks the role's action, works only on records the actor can
see, and runs in one transaction; the audit log records each change with the actor.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.accounts.models import User
from crm.accounts.queries import assignable_units, assignable_users
from crm.core import registry
from crm.core.audit import acting_as, record_bulk
from crm.core.custom_fields import clean_custom_fields
from crm.core.permissions import require
from crm.core.phones import normalize_phone

from . import permissions as perms
from .choices import OWNERSHIP_EVENT, POOL_WARNING_TODO
from .models import Contact, Customer, OwnershipChange
from .queries import possible_duplicates

CUSTOMER_FIELDS = (
    "kind", "name", "phone", "email", "website", "province", "city", "district", "address", "industry",
    "source", "status", "customer_type", "notes", "external_ref",
)
CONTACT_FIELDS = (
    "name", "title", "purchase_role", "mobile", "phone", "email", "birthday", "preferences",
    "important_facts", "is_primary",
)


class PossibleDuplicate(ValidationError):
    """Raised when a new customer matches existing ones and the caller has not confirmed."""

    def __init__(self, visible, hidden_count):
        self.visible = visible
        self.hidden_count = hidden_count
        names = ", ".join(c.name for c in visible)
        parts = []
        if visible:
            parts.append(_("Possible duplicate of: %(names)s.") % {"names": names})
        if hidden_count:
            parts.append(ngettext("%(n)d similar customer exists outside your access.",
                                  "%(n)d similar customers exist outside your access.",
                                  hidden_count) % {"n": hidden_count})
        parts.append(_("Confirm to save anyway."))
        super().__init__({"possible_duplicates": [" ".join(parts)]}, code="duplicate")


def _normalize_phones(obj, fields):
    """Phones are stored in E.164 whatever the caller sent; a bad number is a field error."""
    errors = {}
    for name in fields:
        try:
            setattr(obj, name, normalize_phone(getattr(obj, name)))
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def _ensure_visible(actor, obj):
    if not type(obj)._default_manager.visible_to(actor).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def _resolve_assignment(actor, owner, branch, *, current_owner=None, current_branch=None):
    """Check who may own and which unit may hold a customer.  Without ``customers.assign_customer`` a user
    can only own customers themselves, in their own unit."""
    owner_changed = owner != current_owner
    branch_changed = branch != current_branch
    can_assign = perms.can_assign(actor)
    errors = {}
    if owner_changed and owner is not None:
        if not can_assign and owner != actor:
            errors["owner"] = [_("Your role does not allow assigning customers to other users.")]
        elif can_assign and not assignable_users(actor).filter(pk=owner.pk).exists():
            errors["owner"] = [_("This user is outside your access or inactive.")]
    if owner_changed and owner is None and not can_assign:
        errors["owner"] = [_("Your role does not allow releasing customers.")]
    if branch_changed and branch is not None:
        if not can_assign and branch.pk != actor.org_unit_id:
            errors["branch"] = [_("Your role does not allow moving customers to another unit.")]
        elif can_assign and not assignable_units(actor).filter(pk=branch.pk).exists():
            errors["branch"] = [_("This unit is outside your access.")]
    if errors:
        raise ValidationError(errors)


def _record_ownership(customer, *, actor, from_owner, from_branch, reason):
    """Write the ownership history and the timeline event of an owner or unit change."""
    if from_owner == customer.owner and from_branch == customer.branch:
        return None
    change = OwnershipChange.objects.create(
        customer=customer, from_owner=from_owner, to_owner=customer.owner, from_branch=from_branch,
        to_branch=customer.branch, changed_by=actor, reason=reason[:255],
    )
    if from_owner != customer.owner:
        customer.owned_since = change.at if customer.owner_id else None
        Customer.objects.filter(pk=customer.pk).update(owned_since=customer.owned_since, pool_warned_at=None)
    pool = _("pool")
    registry.call(
        "timeline.record_event", customer, kind=OWNERSHIP_EVENT, at=change.at, actor=actor, source=change,
        detail=reason,
        title=f"{from_owner.display_name if from_owner else pool} → "
              f"{customer.owner.display_name if customer.owner else pool}",
    )
    return change


TOUCH_CHUNK = 500


def touch_activity(last_seen: dict):
    """Record that customers had an order or interaction: ``{customer_id: datetime}``.  Moves
    ``last_activity_at`` forward only, and clears a pending pool warning (the clock restarts)."""
    items = sorted(last_seen.items())
    for start in range(0, len(items), TOUCH_CHUNK):
        chunk = items[start:start + TOUCH_CHUNK]
        # One UPDATE per chunk: each row's new time comes from a CASE on its id.
        new_at = Case(*(When(pk=customer_id, then=Value(at)) for customer_id, at in chunk),
                      output_field=DateTimeField())
        Customer.objects.filter(pk__in=[customer_id for customer_id, _at in chunk]).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=new_at)
        ).update(last_activity_at=new_at, pool_warned_at=None)


@transaction.atomic
def create_customer(*, actor, data: dict, tags=None, owner=None, branch=None, custom_fields=None,
                    allow_duplicate=False) -> Customer:
    """Create a customer.  ``data`` holds already-formatted field values (forms and serializers
    validate formats); the owner defaults to the actor and the unit to the owner's unit."""
    require(actor, perms.ADD)
    owner = owner if owner is not None else actor
    branch = branch if branch is not None else (owner.org_unit if owner else actor.org_unit)
    _resolve_assignment(actor, owner, branch)
    customer = Customer(**{k: v for k, v in data.items() if k in CUSTOMER_FIELDS})
    customer.owner, customer.branch, customer.created_by = owner, branch, actor
    customer.custom_fields = clean_custom_fields(Customer, custom_fields or {})
    _normalize_phones(customer, ["phone"])
    customer.full_clean(exclude=["owner", "branch", "tags"])
    if not allow_duplicate:
        visible, hidden = possible_duplicates(actor, name=customer.name, phone=customer.phone,
                                              email=customer.email)
        if visible or hidden:
            raise PossibleDuplicate(visible, hidden)
    with acting_as(actor):
        customer.save()
        if tags:
            customer.tags.set(tags)
        _record_ownership(customer, actor=actor, from_owner=None, from_branch=None,
                          reason=_("created"))
    return customer


@transaction.atomic
def update_customer(customer: Customer, *, actor, data: dict, tags=None, custom_fields=None) -> Customer:
    """Change a customer's facts (not its owner: see :func:`assign_customer`)."""
    require(actor, perms.CHANGE)
    _ensure_visible(actor, customer)
    for key, value in data.items():
        if key in CUSTOMER_FIELDS:
            setattr(customer, key, value)
    if custom_fields is not None:
        customer.custom_fields = clean_custom_fields(Customer, custom_fields,
                                                     existing=customer.custom_fields)
    _normalize_phones(customer, ["phone"])
    customer.full_clean(exclude=["owner", "branch", "tags"])
    with acting_as(actor):
        customer.save()
        if tags is not None:
            current = set(customer.tags.values_list("pk", flat=True))
            wanted = {t.pk for t in tags}
            if current != wanted:
                customer.tags.set(tags)
    return customer


@transaction.atomic
def assign_customer(customer: Customer, *, actor, owner, branch=None, reason="") -> Customer:
    """Give a customer to another owner (and unit), recording who did it and why.

    Customers are company property (R1.3): the record and its history stay whole when they move.
    """
    require(actor, perms.ASSIGN)
    _ensure_visible(actor, customer)
    if branch is None and owner is not None:
        branch = owner.org_unit or customer.branch
    _resolve_assignment(actor, owner, branch, current_owner=customer.owner, current_branch=customer.branch)
    from_owner, from_branch = customer.owner, customer.branch
    customer.owner, customer.branch = owner, branch
    with acting_as(actor):
        customer.save(update_fields=["owner", "branch", "updated_at"])
        _record_ownership(customer, actor=actor, from_owner=from_owner, from_branch=from_branch,
                          reason=reason)
    return customer


UNCHANGED = object()  # edit_customer: the owner or unit was not part of the edit


@transaction.atomic
def edit_customer(customer: Customer, *, actor, data: dict, tags=None, custom_fields=None, owner=UNCHANGED,
                  branch=UNCHANGED, reason="") -> Customer:
    """Change a customer's facts and, in the same transaction, its owner and unit: the edit page and the
    API's PUT and PATCH.

    ``owner`` or ``branch`` left out (or equal to the current one) stays as it is.  A new owner without a
    new unit takes the customer into the owner's own unit, as with :func:`assign_customer`.  Moving the
    customer needs the assign action: without it the change is refused on the field, never ignored.
    """
    owner = customer.owner if owner is UNCHANGED else owner
    branch = customer.branch if branch is UNCHANGED else branch
    moved = sorted(name for name, new, old in (("owner", owner, customer.owner), ("branch", branch, customer.branch))
                   if new != old)
    if moved and not perms.can_assign(actor):
        refused = {"owner": _("Your role does not allow assigning customers to other users."),
                   "branch": _("Your role does not allow moving customers to another unit.")}
        raise ValidationError({name: [refused[name]] for name in moved})
    new_branch = branch if "branch" in moved else None
    update_customer(customer, actor=actor, data=data, tags=tags, custom_fields=custom_fields)
    if moved:
        assign_customer(customer, actor=actor, owner=owner, branch=new_branch, reason=reason)
    return customer


@transaction.atomic
def delete_customer(customer: Customer, *, actor):
    """Delete a customer and its contacts.  Refused while orders refer to it: order history is kept
    (a customer with orders is deactivated or marked lost instead)."""
    require(actor, perms.DELETE)
    _ensure_visible(actor, customer)
    try:
        with transaction.atomic(), acting_as(actor):
            customer.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(
            _("This customer has orders or other records that must be kept; set its status to lost instead.")
        ) from exc


# --- contacts -----------------------------------------------------------------------------------

def _apply_primary(contact: Contact):
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk).update(is_primary=False)
    elif not Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk).exists():
        contact.is_primary = True  # a customer's only or first contact is its primary one


@transaction.atomic
def add_contact(customer: Customer, *, actor, data: dict, custom_fields=None) -> Contact:
    require(actor, perms.CHANGE)
    _ensure_visible(actor, customer)
    contact = Contact(customer=customer, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact.custom_fields = clean_custom_fields(Contact, custom_fields or {})
    _normalize_phones(contact, ["mobile", "phone"])
    contact.full_clean(exclude=["customer"])
    with acting_as(actor):
        _apply_primary(contact)
        contact.save()
    return contact


@transaction.atomic
def update_contact(contact: Contact, *, actor, data: dict, custom_fields=None) -> Contact:
    require(actor, perms.CHANGE)
    _ensure_visible(actor, contact)
    for key, value in data.items():
        if key in CONTACT_FIELDS:
            setattr(contact, key, value)
    if custom_fields is not None:
        contact.custom_fields = clean_custom_fields(Contact, custom_fields, existing=contact.custom_fields)
    _normalize_phones(contact, ["mobile", "phone"])
    contact.full_clean(exclude=["customer"])
    with acting_as(actor):
        _apply_primary(contact)
        contact.save()
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, actor):
    require(actor, perms.CHANGE)
    _ensure_visible(actor, contact)
    customer_id, was_primary = contact.customer_id, contact.is_primary
    with acting_as(actor):
        contact.delete()
        if was_primary:
            successor = Contact.objects.filter(customer_id=customer_id).order_by("name", "id").first()
            if successor:
                successor.is_primary = True
                successor.save(update_fields=["is_primary", "updated_at"])


# --- customer pool (公海) and hand-over --------------------------------------------------------------
#
# Customers are company property (R1.3): a customer without an owner sits in the pool of its branch,
# sales people claim from it within their role's cap, owners release back to it, a periodic run returns
# customers nobody has served for too long, and a leaving employee's whole portfolio moves in one step.

BULK_CHUNK = 1000


def _chunks(items, size=BULK_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _display_names(user_ids):
    return {u.pk: u.display_name for u in User.objects.filter(pk__in=[i for i in set(user_ids) if i])}


def _move_customers(moves, *, actor, now):
    """Move many customers at once.  ``moves`` are dicts with ``pk``, ``name``, ``owner_id``,
    ``branch_id``, ``to_owner_id``, ``to_branch_id`` and ``reason``.  One UPDATE per (new owner, new
    unit) and chunk, then the ownership history, the timeline events and the audit entries in bulk —
    the same records :func:`_record_ownership` writes for one customer."""
    from collections import defaultdict

    if not moves:
        return
    groups = defaultdict(list)
    for move in moves:
        groups[(move["to_owner_id"], move["to_branch_id"])].append(move["pk"])
    for (owner_id, branch_id), ids in groups.items():
        for chunk in _chunks(ids):
            Customer.objects.filter(pk__in=chunk).update(
                owner_id=owner_id, branch_id=branch_id, owned_since=now if owner_id else None,
                pool_warned_at=None, updated_at=now,
            )
    changes = OwnershipChange.objects.bulk_create([
        OwnershipChange(
            customer_id=m["pk"], from_owner_id=m["owner_id"], to_owner_id=m["to_owner_id"],
            from_branch_id=m["branch_id"], to_branch_id=m["to_branch_id"],
            changed_by=actor if getattr(actor, "pk", None) else None, reason=str(m["reason"])[:255],
        )
        for m in moves
    ], batch_size=BULK_CHUNK)
    names = _display_names([m["owner_id"] for m in moves] + [m["to_owner_id"] for m in moves])
    pool = _("pool")
    registry.call("timeline.record_events", [
        {
            "customer": m["pk"], "kind": OWNERSHIP_EVENT, "at": now, "actor": actor,
            "source": change if change.pk else None, "detail": m["reason"],
            "title": f"{names.get(m['owner_id'], pool)} → {names.get(m['to_owner_id'], pool)}",
        }
        for m, change in zip(moves, changes, strict=True)
    ])
    audit_rows = []
    for m in moves:
        diff = {"owner_id": [m["owner_id"], m["to_owner_id"]]}
        if m["branch_id"] != m["to_branch_id"]:
            diff["branch_id"] = [m["branch_id"], m["to_branch_id"]]
        audit_rows.append((m["pk"], m["name"], diff))
    record_bulk(Customer, audit_rows, actor=actor)


def _close_pool_warnings(customer_ids, *, actor, now):
    """Pool warnings of customers that changed hands are moot: mark them done (audited)."""
    registry.call("todos.close_open", customer_ids, kind=POOL_WARNING_TODO, actor=actor, now=now)


@transaction.atomic
def claim_customer(customer: Customer, *, actor) -> Customer:
    """Take a customer from the actor's pool (see ``queries.pool_for``), within the role's cap on
    owned customers (``Role.max_customers``).  The customer joins the actor's unit."""
    from django.utils import timezone

    from .queries import customer_cap, pool_for

    require(actor, perms.CHANGE)
    # Lock the actor's row first: two claims by one user run one after the other, so the count below
    # always sees the other claim and the cap holds.  Then lock the customer: two users claiming the
    # same customer get it one after the other, and the second finds it owned.
    list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True))
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    in_pool = locked is not None and pool_for(actor).filter(pk=locked.pk).exists()
    if locked is None or not (in_pool or Customer.objects.visible_to(actor).filter(pk=locked.pk).exists()):
        raise PermissionDenied(_("This customer is not in your customer pool."))
    if locked.owner_id is not None:
        raise ValidationError(_("This customer already has an owner; only customers in the pool can be claimed."),
                              code="owned")
    if not in_pool:
        raise PermissionDenied(_("This customer is not in your customer pool."))
    cap = customer_cap(actor)
    if cap is not None:
        owned = Customer.objects.filter(owner=actor).count()
        if owned >= cap:
            raise ValidationError(
                _("You already own %(owned)d customers and your role allows at most %(cap)d. "
                  "Release a customer before claiming another.") % {"owned": owned, "cap": cap},
                code="customer_cap",
            )
    from_branch = locked.branch
    locked.owner = actor
    locked.branch = actor.org_unit or from_branch
    with acting_as(actor):
        locked.save(update_fields=["owner", "branch", "updated_at"])
        _record_ownership(locked, actor=actor, from_owner=None, from_branch=from_branch,
                          reason=_("claimed from the customer pool"))
        _close_pool_warnings([locked.pk], actor=actor, now=timezone.now())
    return locked


@transaction.atomic
def release_customer(customer: Customer, *, actor, reason: str) -> Customer:
    """Give a customer back to the pool of its branch.  The owner may (with ``customers.change_customer``),
    and so may a manager with ``customers.assign_customer``.  A reason is required; it is kept in the history."""
    from django.utils import timezone

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the customer goes back to the pool.")]})
    _ensure_visible(actor, customer)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.owner_id is None:
        raise ValidationError(_("This customer is already in the pool."), code="in_pool")
    perms.require_release(actor, locked)
    from_owner = locked.owner
    locked.owner = None
    with acting_as(actor):
        locked.save(update_fields=["owner", "updated_at"])
        _record_ownership(locked, actor=actor, from_owner=from_owner, from_branch=locked.branch, reason=reason)
        _close_pool_warnings([locked.pk], actor=actor, now=timezone.now())
    return locked


def _rule_for(rules, customer_type):
    return rules.get(customer_type) or rules.get("")


def reclaim_inactive_customers(*, now=None) -> dict:
    """The periodic pool run: customers past their rule's limit return to the pool, and owners of
    customers that entered the warning window get one to-do each (``pool_warned_at`` marks it).

    Set-based: the due customers are found by one query per chunk, updated in bulk, and their history,
    timeline events, audit entries and to-dos written in bulk.  Each chunk is its own short transaction
    and skips rows a user is changing right now (they are picked up by the next run), so it runs safely
    while people work.  A second run finds nothing left to do.  Returns ``{"returned": n, "warned": m}``.
    """
    from django.utils import timezone

    from .queries import pool_rules

    now = now or timezone.now()
    rules = pool_rules()
    result = {"returned": 0, "warned": 0}
    if not rules:
        return result
    with acting_as(None, source="system"):
        result["returned"] = _return_due(rules, now)
        result["warned"] = _warn_owners(rules, now)
    return result


def _return_due(rules, now):
    from .queries import _rule_q

    q, clock = _rule_q(rules, now=now, warn=False)
    due = Customer.objects.filter(owner__isnull=False).annotate(activity_clock=clock).filter(q).order_by("pk")
    total, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = list(due.filter(pk__gt=last_pk).select_for_update(skip_locked=True)
                        .values("pk", "name", "owner_id", "branch_id", "customer_type")[:BULK_CHUNK])
            if not rows:
                return total
            last_pk = rows[-1]["pk"]
            for row in rows:
                days = _rule_for(rules, row["customer_type"]).days_without_activity
                row.update(to_owner_id=None, to_branch_id=row["branch_id"], reason=_(
                    "No order or interaction for %(days)d days: returned to the pool automatically."
                ) % {"days": days})
            _move_customers(rows, actor=None, now=now)
            _close_pool_warnings([r["pk"] for r in rows], actor=None, now=now)
            total += len(rows)


def _warn_owners(rules, now):
    import datetime

    from django.utils import timezone

    from .queries import _rule_q

    q, clock = _rule_q(rules, now=now, warn=True)
    due = (Customer.objects.filter(owner__isnull=False, pool_warned_at__isnull=True)
           .annotate(activity_clock=clock).filter(q).order_by("pk"))
    total, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = list(due.filter(pk__gt=last_pk).select_for_update(skip_locked=True)
                        .values("pk", "name", "owner_id", "customer_type", "activity_clock")[:BULK_CHUNK])
            if not rows:
                return total
            last_pk = rows[-1]["pk"]
            Customer.objects.filter(pk__in=[r["pk"] for r in rows]).update(pool_warned_at=now)
            todos = []
            for row in rows:
                days = _rule_for(rules, row["customer_type"]).days_without_activity
                returns_on = timezone.localdate(row["activity_clock"] + datetime.timedelta(days=days))
                title = _("Order or interaction with %(name)s by %(date)s, or it returns to the pool") % {
                    "name": row["name"], "date": returns_on.isoformat()}
                todos.append({"owner_id": row["owner_id"], "customer_id": row["pk"], "kind": POOL_WARNING_TODO,
                              "title": title[:200], "due_on": max(returns_on, timezone.localdate(now))})
            registry.call("todos.create", todos, actor=None)
            total += len(rows)


@transaction.atomic
def reassign_portfolio(*, actor, from_user, to_user=None, to_unit=None, reason: str) -> dict:
    """Hand over everything a user is responsible for — when they leave or change jobs — in one step:
    all their customers, and their open to-dos and follow-ups, either to one person or spread across
    the active members of a team.  Spreading is balanced by how many customers each member already
    owns (the least loaded first, ties by user id), so it is deterministic.  Every customer's move is
    recorded with who did it and why.  Returns what moved, per recipient."""
    import heapq

    from django.db.models import Count
    from django.utils import timezone

    from .queries import handover_candidates

    require(actor, perms.ASSIGN)
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the customers move.")]
    if not handover_candidates(actor).filter(pk=from_user.pk).exists():
        errors["from_user"] = [_("This user is outside your access.")]
    recipients = []
    if (to_user is None) == (to_unit is None):
        errors["to_user"] = [_("Choose either one person or one team to receive the customers.")]
    elif to_user is not None:
        if to_user.pk == from_user.pk:
            errors["to_user"] = [_("Choose someone other than the person handing over.")]
        elif not assignable_users(actor).filter(pk=to_user.pk).exists():
            errors["to_user"] = [_("This user is outside your access or inactive.")]
        elif not perms.can_work_on_customers(to_user):
            errors["to_user"] = [_("This user's role cannot work on customers.")]
        else:
            recipients = [to_user]
    elif not assignable_units(actor).filter(pk=to_unit.pk).exists():
        errors["to_unit"] = [_("This unit is outside your access.")]
    else:
        # The active members within the actor's access whose role lets them work on customers.
        members = assignable_users(actor).filter(org_unit=to_unit).exclude(pk=from_user.pk)
        recipients = [u for u in members.select_related("role").order_by("pk") if perms.can_work_on_customers(u)]
        if not recipients:
            errors["to_unit"] = [_("This team has no active members within your access.")]
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    by_id = {u.pk: u for u in recipients}
    customers = list(Customer.objects.select_for_update().filter(owner=from_user).order_by("pk")
                     .values("pk", "name", "owner_id", "branch_id"))
    loads = dict(Customer.objects.filter(owner__in=recipients).order_by().values("owner")
                 .annotate(n=Count("pk")).values_list("owner", "n"))
    heap = [(loads.get(uid, 0), uid) for uid in by_id]
    heapq.heapify(heap)
    for customer in customers:
        load, uid = heapq.heappop(heap)
        customer.update(to_owner_id=uid, to_branch_id=by_id[uid].org_unit_id or customer["branch_id"], reason=reason)
        heapq.heappush(heap, (load + 1, uid))

    with acting_as(actor):
        _move_customers(customers, actor=actor, now=now)
        moved_ids = [c["pk"] for c in customers]
        # The old owner's pool warnings are closed, not moved: the next run warns the new owner.
        _close_pool_warnings(moved_ids, actor=actor, now=now)
        # Open to-dos follow their customer; the others go round the recipients in turn.
        new_owner = {c["pk"]: c["to_owner_id"] for c in customers}
        groups = registry.call("todos.hand_over", from_user, new_owners=new_owner, recipient_ids=list(by_id),
                               actor=actor, now=now)

    moved = dict.fromkeys(by_id, 0)
    for customer in customers:
        moved[customer["to_owner_id"]] += 1
    return {
        "customers": len(customers),
        "todos": sum(len(items) for items in groups.values()),
        "recipients": [
            {"user": by_id[uid], "customers": moved[uid], "todos": len(groups.get(uid, []))}
            for uid in sorted(by_id, key=lambda i: (-moved[i], i))
        ],
    }


# --- pool rules -----------------------------------------------------------------------------------------

@transaction.atomic
def save_pool_rule(rule, *, actor):
    """Create or change a pool rule (needs ``customers.manage_pool_rules``)."""
    require(actor, perms.MANAGE_POOL_RULES)
    if rule.days_without_activity is not None and rule.warn_days_before is not None \
            and rule.warn_days_before >= rule.days_without_activity:
        raise ValidationError({"warn_days_before": [_("Warn fewer days before than the limit itself.")]})
    if rule.days_without_activity is not None and rule.days_without_activity < 1:
        raise ValidationError({"days_without_activity": [_("At least one day.")]})
    rule.full_clean()
    with acting_as(actor):
        rule.save()
    return rule


@transaction.atomic
def delete_pool_rule(rule, *, actor):
    require(actor, perms.MANAGE_POOL_RULES)
    with acting_as(actor):
        rule.delete()
