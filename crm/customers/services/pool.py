"""The customer pool (公海): claim, release, the periodic reclaim and its warnings, pool rules, and the
activity clock that drives them.

Customers are company property (R1.3): a customer without an owner sits in the pool of its branch,
sales people claim from it within their role's cap, owners release back to it, and a periodic run
returns customers nobody has served for too long (warning their owners first).
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core import registry
from crm.core.audit import acting_as
from crm.core.permissions import require

from .. import permissions as perms
from ..choices import POOL_WARNING_TODO
from ..models import Customer
from ..queries import customer_cap, pool_for, pool_rule_q, pool_rules
from .common import BULK_CHUNK, ensure_visible
from .handover import close_pool_warnings, move_customers, record_ownership

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
def claim_customer(customer: Customer, *, actor) -> Customer:
    """Take a customer from the actor's pool (see ``queries.pool_for``), within the role's cap on
    owned customers (``Role.max_customers``).  The customer joins the actor's unit."""


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
        record_ownership(locked, actor=actor, from_owner=None, from_branch=from_branch,
                          reason=_("claimed from the customer pool"))
        close_pool_warnings([locked.pk], actor=actor, now=timezone.now())
    return locked


@transaction.atomic
def release_customer(customer: Customer, *, actor, reason: str) -> Customer:
    """Give a customer back to the pool of its branch.  The owner may (with ``customers.change_customer``),
    and so may a manager with ``customers.assign_customer``.  A reason is required; it is kept in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the customer goes back to the pool.")]})
    ensure_visible(actor, customer)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.owner_id is None:
        raise ValidationError(_("This customer is already in the pool."), code="in_pool")
    perms.require_release(actor, locked)
    from_owner = locked.owner
    locked.owner = None
    with acting_as(actor):
        locked.save(update_fields=["owner", "updated_at"])
        record_ownership(locked, actor=actor, from_owner=from_owner, from_branch=locked.branch, reason=reason)
        close_pool_warnings([locked.pk], actor=actor, now=timezone.now())
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


    now = now or timezone.now()
    rules = pool_rules()
    result = {"returned": 0, "warned": 0}
    if not rules:
        return result
    with acting_as(None, source="system"):
        result["returned"] = _return_due(rules, now)
        result["warned"] = _warn_owners(rules, now)
    return result


def _locked_chunks(due, fields):
    """The rows of ``due`` (ordered by pk) in chunks of ``BULK_CHUNK``, each chunk locked (rows another run
    holds are skipped) and handled by the caller inside the chunk's own transaction."""
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(due.filter(pk__gt=last_pk).select_for_update(skip_locked=True)
                        .values("pk", *fields)[:BULK_CHUNK])
            if not rows:
                return
            last_pk = rows[-1]["pk"]
            yield rows


def _return_due(rules, now):
    q, clock = pool_rule_q(rules, now=now, warn=False)
    due = Customer.objects.filter(owner__isnull=False).annotate(activity_clock=clock).filter(q).order_by("pk")
    total = 0
    for rows in _locked_chunks(due, ("name", "owner_id", "branch_id", "customer_type")):
        for row in rows:
            days = _rule_for(rules, row["customer_type"]).days_without_activity
            row.update(to_owner_id=None, to_branch_id=row["branch_id"], reason=_(
                "No order or interaction for %(days)d days: returned to the pool automatically."
            ) % {"days": days})
        move_customers(rows, actor=None, now=now)
        close_pool_warnings([r["pk"] for r in rows], actor=None, now=now)
        total += len(rows)
    return total


def _warn_owners(rules, now):
    q, clock = pool_rule_q(rules, now=now, warn=True)
    due = (Customer.objects.filter(owner__isnull=False, pool_warned_at__isnull=True)
           .annotate(activity_clock=clock).filter(q).order_by("pk"))
    total = 0
    for rows in _locked_chunks(due, ("name", "owner_id", "customer_type", "activity_clock")):
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
    return total


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
