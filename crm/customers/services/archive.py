"""The customer archive: customers, their contacts, and the duplicate check on creation."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.core.audit import acting_as
from crm.core.custom_fields import clean_custom_fields
from crm.core.permissions import require
from crm.core.phones import normalize_phone

from .. import permissions as perms
from ..models import Contact, Customer
from ..queries import possible_duplicates
from .common import ensure_visible, resolve_assignment
from .handover import assign_customer, record_ownership

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


@transaction.atomic
def create_customer(*, actor, data: dict, tags=None, owner=None, branch=None, custom_fields=None,
                    allow_duplicate=False) -> Customer:
    """Create a customer.  ``data`` holds already-formatted field values (forms and serializers
    validate formats); the owner defaults to the actor and the unit to the owner's unit."""
    require(actor, perms.ADD)
    owner = owner if owner is not None else actor
    branch = branch if branch is not None else (owner.org_unit if owner else actor.org_unit)
    resolve_assignment(actor, owner, branch)
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
        record_ownership(customer, actor=actor, from_owner=None, from_branch=None,
                          reason=_("created"))
    return customer


@transaction.atomic
def update_customer(customer: Customer, *, actor, data: dict, tags=None, custom_fields=None) -> Customer:
    """Change a customer's facts (not its owner: see :func:`assign_customer`)."""
    require(actor, perms.CHANGE)
    ensure_visible(actor, customer)
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
    ensure_visible(actor, customer)
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
    ensure_visible(actor, customer)
    contact = Contact(customer=customer, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact.custom_fields = clean_custom_fields(Contact, custom_fields or {})
    return _save_contact(contact, actor)


@transaction.atomic
def update_contact(contact: Contact, *, actor, data: dict, custom_fields=None) -> Contact:
    require(actor, perms.CHANGE)
    ensure_visible(actor, contact)
    for key, value in data.items():
        if key in CONTACT_FIELDS:
            setattr(contact, key, value)
    if custom_fields is not None:
        contact.custom_fields = clean_custom_fields(Contact, custom_fields, existing=contact.custom_fields)
    return _save_contact(contact, actor)


def _save_contact(contact: Contact, actor) -> Contact:
    """Normalise, validate and store a contact; the primary flag moves to it when it asks for it."""
    _normalize_phones(contact, ["mobile", "phone"])
    contact.full_clean(exclude=["customer"])
    with acting_as(actor):
        _apply_primary(contact)
        contact.save()
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, actor):
    require(actor, perms.CHANGE)
    ensure_visible(actor, contact)
    customer_id, was_primary = contact.customer_id, contact.is_primary
    with acting_as(actor):
        contact.delete()
        if was_primary:
            successor = Contact.objects.filter(customer_id=customer_id).order_by("name", "id").first()
            if successor:
                successor.is_primary = True
                successor.save(update_fields=["is_primary", "updated_at"])
