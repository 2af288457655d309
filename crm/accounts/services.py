"""Verbs that change users, roles and the organisation tree.  Each takes an explicit actor."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.core.audit import acting_as

from .choices import Action, UnitKind
from .models import OrgUnit, Role, User
from .permissions import require
from .queries import subordinate_ids


def _set_path(unit: OrgUnit):
    unit.path = f"{unit.parent.path if unit.parent_id else '/'}{unit.pk}/"


@transaction.atomic
def save_unit(unit: OrgUnit, *, actor) -> OrgUnit:
    """Create or update a unit; moving a unit moves its whole subtree."""
    require(actor, Action.MANAGE_SETTINGS)
    with acting_as(actor):
        if unit.parent_id is None and unit.kind != UnitKind.HEAD_OFFICE:
            raise ValidationError({"parent": _("Only the head office has no parent.")})
        if unit.pk and unit.parent_id:
            parent = OrgUnit.objects.get(pk=unit.parent_id)
            if parent.path.startswith(OrgUnit.objects.get(pk=unit.pk).path):
                raise ValidationError({"parent": _("A unit cannot be moved under itself.")})
        old_path = OrgUnit.objects.filter(pk=unit.pk).values_list("path", flat=True).first() if unit.pk else None
        unit.save()
        _set_path(unit)
        OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
        if old_path and old_path != unit.path:
            for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk):
                child.path = unit.path + child.path[len(old_path):]
                OrgUnit.objects.filter(pk=child.pk).update(path=child.path)
    return unit


@transaction.atomic
def delete_unit(unit: OrgUnit, *, actor):
    require(actor, Action.MANAGE_SETTINGS)
    if unit.children.exists() or unit.members.exists():
        raise ValidationError(_("Move this unit's members and sub-units elsewhere first."))
    with acting_as(actor):
        unit.delete()


@transaction.atomic
def save_role(role: Role, *, actor) -> Role:
    require(actor, Action.MANAGE_SETTINGS)
    role.full_clean()  # refuses unknown actions rather than dropping them
    role.actions = [a for a in Action.values if a in set(role.actions or [])]
    with acting_as(actor):
        role.save()
    return role


@transaction.atomic
def save_user(user: User, *, actor, password: str | None = None) -> User:
    """Create or update a user.  Refuses a manager line that would loop."""
    require(actor, Action.MANAGE_SETTINGS)
    if user.pk and user.manager_id and (user.manager_id == user.pk or user.manager_id in subordinate_ids(user)):
        raise ValidationError({"manager": _("A user cannot report to themselves or to a subordinate.")})
    if user.is_superuser and not actor.is_superuser:
        raise ValidationError({"is_superuser": _("Only a superuser can grant superuser status.")})
    with acting_as(actor):
        if password:
            user.set_password(password)
        elif not user.pk:
            user.set_unusable_password()
        user.save()
    user.forget_access_cache()
    return user
