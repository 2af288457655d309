"""Verbs of the framework layer.  Like every service, each takes an explicit actor.

Custom field definitions are not change-logged models, so saving one writes its audit entry here.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit, permissions
from .choices import AuditAction, CustomFieldType
from .models import CustomFieldDefinition
from .permissions import MANAGE_SETTINGS

_NOT_AUDITED = {"id", "created_at", "updated_at"}


def _require_settings(actor):
    if not permissions.has(actor, MANAGE_SETTINGS):
        raise PermissionDenied(_("Your role does not allow managing settings."))


def _snapshot(definition):
    return {
        f.attname: getattr(definition, f.attname)
        for f in CustomFieldDefinition._meta.concrete_fields
        if f.attname not in _NOT_AUDITED
    }


@transaction.atomic
def save_custom_field(definition: CustomFieldDefinition, *, actor) -> CustomFieldDefinition:
    """Create or update a custom field definition; the change is written to the audit log."""
    _require_settings(actor)
    if definition.field_type != CustomFieldType.CHOICE:
        definition.choices = []
    definition.full_clean()
    before = None
    if definition.pk:
        existing = CustomFieldDefinition.objects.select_for_update().filter(pk=definition.pk).first()
        before = _snapshot(existing) if existing else None
    definition.save()
    after = _snapshot(definition)
    with audit.acting_as(actor):
        if before is None:
            changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})}
            audit.record(definition, AuditAction.CREATE, changes)
        else:
            changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
            if changes:
                audit.record(definition, AuditAction.UPDATE, changes)
    return definition
