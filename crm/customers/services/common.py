"""Helpers the customer services share: the visibility check and who may own or hold a customer."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from crm.accounts.queries import assignable_units, assignable_users

from .. import permissions as perms

BULK_CHUNK = 1000


def chunks(items, size=BULK_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ensure_visible(actor, obj):
    if not type(obj)._default_manager.visible_to(actor).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def resolve_assignment(actor, owner, branch, *, current_owner=None, current_branch=None):
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
