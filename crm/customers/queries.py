"""Read side of the customer archive.  Everything here starts from ``visible_to(user)``."""

import re

from django.db import connection
from django.db.models import Func, Prefetch, Q, TextField, Value

from crm.accounts.models import User
from crm.accounts.queries import branch_unit_ids
from crm.core import registry
from crm.core.phones import phone_search_prefix
from crm.core.text import prefix_range

from .models import Contact, Customer, OwnershipChange
from .permissions import can_view

_ASCII_KEY = re.compile(r"^[a-z0-9 ]+$")


def _prefix_q(field, prefix):
    low, high = prefix_range(prefix)
    return Q(**{f"{field}__gte": low, f"{field}__lt": high})


# A sub-select inside an OR keeps PostgreSQL from combining the other branches' indexes (it scans the
# whole table instead), so the customers of matching contacts are inlined as ids when there are few.
_INLINE_CONTACT_MATCHES = 1000


def _contact_customers_q(contact_q):
    """Customers with a contact matching ``contact_q``: an id list when short (one small indexed
    query now), otherwise the sub-select.  The same rows either way."""
    matches = Contact.objects.filter(contact_q).order_by().values_list("customer_id", flat=True)
    ids = list(matches[:_INLINE_CONTACT_MATCHES + 1])
    if len(ids) <= _INLINE_CONTACT_MATCHES:
        return Q(pk__in=sorted(set(ids)))
    return Q(pk__in=matches)


class _NameGrams(Func):
    """``crm_name_grams(name)``: the 1- and 2-character pieces of the upper-cased name (PostgreSQL,
    migration 0007), indexed with GIN."""

    function = "crm_name_grams"


def _name_q(term):
    """Name contains ``term``.  On PostgreSQL a term of one or two characters uses the grams index
    (pg_trgm's index needs three); the rows are the same as ``name__icontains``."""
    if connection.vendor == "postgresql" and len(term) <= 2:
        from django.contrib.postgres.fields import ArrayField
        from django.contrib.postgres.lookups import DataContains

        grams = _NameGrams("name", output_field=ArrayField(TextField()))
        return Q(DataContains(grams, Value([term.upper()], output_field=ArrayField(TextField()))))
    return Q(name__icontains=term)


def search_q(term: str) -> Q:
    """Match a customer by name (contains), pinyin or pinyin initials (prefix), phone prefix (its own
    or a contact's, as typed: 138…, 010-…, +86…) or email prefix.  Prefix matches use B-tree ranges."""
    term = (term or "").strip()
    if not term:
        return Q()
    q = _name_q(term)
    lowered = term.lower()
    if _ASCII_KEY.match(lowered):
        key = lowered.replace(" ", "")
        if key and not key.isdigit():
            q |= _prefix_q("name_initials", key) | _prefix_q("name_pinyin", key)
    phone = phone_search_prefix(term)
    if phone:
        q |= _prefix_q("phone", phone) | _contact_customers_q(_prefix_q("mobile", phone) | _prefix_q("phone", phone))
    if "@" in term or ("." in term and " " not in term):
        email = lowered
        q |= _prefix_q("email", email) | _contact_customers_q(_prefix_q("email", email))
    return q


def customers_for(user):
    """The customers ``user`` may see, with what a list row shows loaded in the same query."""
    return Customer.objects.visible_to(user).select_related("owner", "branch")


def customer_for_detail(user, pk):
    """One visible customer with everything its 360° page shows, in a fixed number of queries."""
    return (
        customers_for(user)
        .select_related("created_by")
        .prefetch_related(
            "tags",
            Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "name", "id")),
            Prefetch(
                "ownership_changes",
                queryset=OwnershipChange.objects.select_related(
                    "from_owner", "to_owner", "changed_by", "from_branch", "to_branch"
                ),
            ),
        )
        .get(pk=pk)
    )


def possible_duplicates(user, *, name="", phone="", email="", exclude_pk=None):
    """Customers that share the exact name, the phone or the email.

    Returns (visible matches, number of matches outside the user's scope): a user learns that a
    record exists elsewhere, never what it holds.
    """
    q = Q(pk__in=[])
    if name:
        q |= Q(name=name.strip())
    if phone:
        q |= Q(phone=phone) | Q(pk__in=Contact.objects.filter(Q(mobile=phone) | Q(phone=phone))
                                .values("customer_id"))
    if email:
        q |= Q(email=email.strip().lower())
    matches = Customer.objects.filter(q)
    if exclude_pk:
        matches = matches.exclude(pk=exclude_pk)
    visible_qs = matches.visible_to(user)
    visible = list(visible_qs.select_related("owner")[:10])
    hidden = matches.count() - visible_qs.count()
    return visible, hidden


def pool_rules():
    """Active pool rules by customer type ('' = the rule for every type without its own)."""
    from .models import PoolRule

    return {r.customer_type: r for r in PoolRule.objects.filter(active=True)}


def activity_clock():
    """When a customer's pool clock started: the later of its last order or interaction and the
    moment its current owner took it over (a customer just claimed or handed over gets the full
    period, whatever its history), else when it was created."""
    from django.db.models.functions import Coalesce, Greatest

    # Greatest is NULL on SQLite when an argument is NULL: coalesce each side first.
    return Greatest(Coalesce("last_activity_at", "owned_since", "created_at"),
                    Coalesce("owned_since", "last_activity_at", "created_at"))


def pool_rule_q(rules, *, now, warn):
    """Customers whose pool clock (:func:`activity_clock`) is older than their rule's limit — or,
    with ``warn``, older than the limit less the warning days."""
    import datetime

    q = Q(pk__in=[])
    default = rules.get("")
    typed = {t: r for t, r in rules.items() if t}
    for customer_type, rule in [*typed.items(), ("", default)]:
        if rule is None:
            continue
        days = rule.days_without_activity - (rule.warn_days_before if warn else 0)
        limit = now - datetime.timedelta(days=max(days, 0))
        type_q = Q(customer_type=customer_type) if customer_type else ~Q(customer_type__in=list(typed))
        q |= type_q & Q(activity_clock__lt=limit)
    return q, activity_clock()


def customers_due_to_return(user, *, now=None):
    """The user's own customers inside the warning window of a pool rule: they return to the pool
    unless there is an order or interaction soon.  Annotated with ``activity_clock``."""
    from django.utils import timezone

    now = now or timezone.now()
    rules = pool_rules()
    if not rules:
        return Customer.objects.none()
    q, clock = pool_rule_q(rules, now=now, warn=True)
    return (Customer.objects.visible_to(user).filter(owner=user).annotate(activity_clock=clock)
            .filter(q).order_by("activity_clock", "id"))


# --- customer pool (公海) ---------------------------------------------------------------------------

def pool_for(user):
    """The unowned customers ``user`` may claim: those of the user's branch with its sub-branches, or
    every unowned customer for a role whose scope is all records.  Pool customers are offered for
    claiming through this query, not through ``visible_to`` (their owner is nobody)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Customer.objects.none()
    if not can_view(user):
        return Customer.objects.none()
    pool = Customer.objects.filter(owner__isnull=True)
    if user.data_scope().all:
        return pool
    if user.org_unit_id is None:
        return Customer.objects.none()
    units = branch_unit_ids(user.org_unit.branch_root(), include_sub_branches=True)
    return pool.filter(branch_id__in=sorted(units))


def pool_list(user):
    """The pool as its page and endpoint show it: each customer with when and why it last returned to
    the pool (one indexed sub-select per row of the page, never over the table)."""
    from django.db.models import OuterRef, Subquery

    released = OwnershipChange.objects.filter(customer=OuterRef("pk"), to_owner__isnull=True).order_by("-at", "-id")
    return pool_for(user).select_related("branch").annotate(
        released_at=Subquery(released.values("at")[:1]),
        release_reason=Subquery(released.values("reason")[:1]),
    )


def owned_count(user) -> int:
    return Customer.objects.filter(owner=user).count()


def customer_cap(user):
    """How many customers ``user`` may own when claiming (None: no cap)."""
    if user.is_superuser or not user.role_id:
        return None
    return user.role.max_customers


def portfolio_counts(from_user) -> dict:
    """What a hand-over of ``from_user`` moves: their customers and their open to-dos."""
    return {
        "customers": Customer.objects.filter(owner=from_user).count(),
        "todos": registry.call("todos.count_open", from_user),
    }


def handover_candidates(actor):
    """Users whose portfolio ``actor`` may hand over: everyone within the actor's scope, including
    users who have left (inactive), since that is when a hand-over is needed."""
    scope = actor.data_scope()
    if scope.all:
        return User.objects.all()
    if scope.is_empty:
        return User.objects.none()
    return User.objects.filter(Q(pk__in=sorted(scope.owner_ids)) | Q(org_unit_id__in=sorted(scope.unit_ids)))
