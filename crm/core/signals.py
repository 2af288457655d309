"""Audit log receivers: the one place signals are used (STYLE: signals only for the audit log)."""

from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import audit
from .choices import AuditAction
from .models import ChangeLoggedModel


@receiver(pre_save)
def _remember_before(sender, instance, raw=False, **kwargs):
    if raw or not isinstance(instance, ChangeLoggedModel):
        return
    before = None
    if instance.pk is not None and not instance._state.adding:
        fields = [f.attname for f in audit.logged_fields(type(instance))]
        before = type(instance)._base_manager.filter(pk=instance.pk).values(*fields).first()
        if before is not None:
            before = {k: audit.jsonable(v) for k, v in before.items()}
    instance._audit_before = before


@receiver(post_save)
def _log_save(sender, instance, created, raw=False, **kwargs):
    if raw or not isinstance(instance, ChangeLoggedModel):
        return
    after = audit.snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        audit.record(instance, AuditAction.CREATE, audit.created_changes(after))
        return
    changes = audit.updated_changes(before, after)
    if changes:
        audit.record(instance, AuditAction.UPDATE, changes)
    instance._audit_before = after


@receiver(pre_delete)
def _log_delete(sender, instance, **kwargs):
    if not isinstance(instance, ChangeLoggedModel):
        return
    audit.record(instance, AuditAction.DELETE, {k: [v, None] for k, v in audit.snapshot(instance).items()})


@receiver(m2m_changed)
def _log_m2m(sender, instance, action, pk_set, model, reverse, **kwargs):
    if reverse or not isinstance(instance, ChangeLoggedModel):
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    field = next((f.name for f in instance._meta.many_to_many if f.remote_field.through is sender), None)
    if field is None:
        return
    names = sorted(str(o) for o in model._base_manager.filter(pk__in=pk_set or []))
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    audit.record(instance, AuditAction.UPDATE, {field: {verb: names}})
