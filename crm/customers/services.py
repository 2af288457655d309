"""Verbs that change the customer archive.  Pages, API, imports and commands all call these.

Every function takes the acting user, checks the role's action, works only on records the actor can
see, and runs in one transaction; the audit log records each change with the actor.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.accounts.choices import Action
from crm.accounts.permissions import require
from crm.accounts.queries import assignable_units, assignable_users
from crm.core.audit import acting_as
from crm.core.custom_fields import clean_custom_fields
from crm.core.phones import normalize_phone

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
            parts.append(_("%(n)d similar customer(s) exist outside your access.") % {"n": hidden_count})
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
    """Check who may own and which unit may hold a customer.  Without the *assign* action a user
    can only own customers themselves, in their own unit."""
    owner_changed = owner != current_owner
    branch_changed = branch != current_branch
    can_assign = actor.can(Action.ASSIGN)
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
    from crm.activities import services as activities
    from crm.activities.choices import TimelineKind

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
    activities.record_event(
        customer, kind=TimelineKind.OWNERSHIP, at=change.at, actor=actor, source=change, detail=reason,
        title=f"{from_owner.display_name if from_owner else pool} → "
              f"{customer.owner.display_name if customer.owner else pool}",
    )
    return change


def touch_activity(last_seen: dict):
    """Record that customers had an order or interaction: ``{customer_id: datetime}``.  Moves
    ``last_activity_at`` forward only, and clears a pending pool warning (the clock restarts)."""
    for customer_id, at in last_seen.items():
        Customer.objects.filter(pk=customer_id).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
        ).update(last_activity_at=at, pool_warned_at=None)


@transaction.atomic
def create_customer(*, actor, data: dict, tags=None, owner=None, branch=None, custom_fields=None,
                    allow_duplicate=False) -> Customer:
    """Create a customer.  ``data`` holds already-formatted field values (forms and serializers
    validate formats); the owner defaults to the actor and the unit to the owner's unit."""
    require(actor, Action.CREATE)
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
    require(actor, Action.CHANGE)
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
    require(actor, Action.ASSIGN)
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


@transaction.atomic
def delete_customer(customer: Customer, *, actor):
    require(actor, Action.DELETE)
    _ensure_visible(actor, customer)
    with acting_as(actor):
        customer.delete()


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
    require(actor, Action.CHANGE)
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
    require(actor, Action.CHANGE)
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
    require(actor, Action.CHANGE)
    _ensure_visible(actor, contact)
    customer_id, was_primary = contact.customer_id, contact.is_primary
    with acting_as(actor):
        contact.delete()
        if was_primary:
            successor = Contact.objects.filter(customer_id=customer_id).order_by("name", "id").first()
            if successor:
                successor.is_primary = True
                successor.save(update_fields=["is_primary", "updated_at"])
