"""Hand-over: customers changing owner or unit, one by one or a whole portfolio, and the ownership
record every change writes (history, timeline event, audit entry).

Customers are company property (R1.3): the record and its history stay whole when they move.
"""

import heapq
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.accounts.queries import assignable_units, assignable_users
from crm.core import registry
from crm.core.audit import acting_as, record_bulk
from crm.core.permissions import require

from .. import permissions as perms
from ..choices import OWNERSHIP_EVENT, POOL_WARNING_TODO
from ..models import Customer, OwnershipChange
from ..queries import handover_candidates
from .common import BULK_CHUNK, chunks, ensure_visible, resolve_assignment


def record_ownership(customer, *, actor, from_owner, from_branch, reason):
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


def _display_names(user_ids):
    return {u.pk: u.display_name for u in User.objects.filter(pk__in=[i for i in set(user_ids) if i])}


def move_customers(moves, *, actor, now):
    """Move many customers at once.  ``moves`` are dicts with ``pk``, ``name``, ``owner_id``,
    ``branch_id``, ``to_owner_id``, ``to_branch_id`` and ``reason``.  One UPDATE per (new owner, new
    unit) and chunk, then the ownership history, the timeline events and the audit entries in bulk —
    the same records :func:`record_ownership` writes for one customer."""
    if not moves:
        return
    groups = defaultdict(list)
    for move in moves:
        groups[(move["to_owner_id"], move["to_branch_id"])].append(move["pk"])
    for (owner_id, branch_id), ids in groups.items():
        for chunk in chunks(ids):
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


def close_pool_warnings(customer_ids, *, actor, now):
    """Pool warnings of customers that changed hands are moot: mark them done (audited)."""
    registry.call("todos.close_open", customer_ids, kind=POOL_WARNING_TODO, actor=actor, now=now)


@transaction.atomic
def assign_customer(customer: Customer, *, actor, owner, branch=None, reason="") -> Customer:
    """Give a customer to another owner (and unit), recording who did it and why.

    Customers are company property (R1.3): the record and its history stay whole when they move.
    """
    require(actor, perms.ASSIGN)
    ensure_visible(actor, customer)
    if branch is None and owner is not None:
        branch = owner.org_unit or customer.branch
    resolve_assignment(actor, owner, branch, current_owner=customer.owner, current_branch=customer.branch)
    from_owner, from_branch = customer.owner, customer.branch
    customer.owner, customer.branch = owner, branch
    with acting_as(actor):
        customer.save(update_fields=["owner", "branch", "updated_at"])
        record_ownership(customer, actor=actor, from_owner=from_owner, from_branch=from_branch,
                          reason=reason)
    return customer


@transaction.atomic
def reassign_portfolio(*, actor, from_user, to_user=None, to_unit=None, reason: str) -> dict:
    """Hand over everything a user is responsible for — when they leave or change jobs — in one step:
    all their customers, and their open to-dos and follow-ups, either to one person or spread across
    the active members of a team.  Spreading is balanced by how many customers each member already
    owns (the least loaded first, ties by user id), so it is deterministic.  Every customer's move is
    recorded with who did it and why.  Returns what moved, per recipient."""


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
        move_customers(customers, actor=actor, now=now)
        moved_ids = [c["pk"] for c in customers]
        # The old owner's pool warnings are closed, not moved: the next run warns the new owner.
        close_pool_warnings(moved_ids, actor=actor, now=now)
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
