"""Base models and mixins that every domain record shares (no business entities here)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, CustomFieldType
from .text import clean_text

# Fields whose full-width letters and digits mean nothing but a Chinese input method (NFKC folds them).
_COMPATIBILITY_FIELDS = (models.EmailField, models.URLField, models.SlugField)


class CleanTextModel(models.Model):
    """Text is cleaned when the record is validated (``full_clean``), the step that pages (forms), the API
    (serializers, then services) and imports all go through: every ``CharField`` on one line, every
    ``TextField`` keeping its lines (:func:`crm.core.text.clean_text`).  A nullable field left with
    nothing but invisible characters becomes NULL."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField):
                continue
            value = getattr(self, field.attname)
            if isinstance(value, str) and value:
                cleaned = clean_text(value, multiline=isinstance(field, models.TextField),
                                     compatibility=isinstance(field, _COMPATIBILITY_FIELDS))
                setattr(self, field.attname, None if cleaned == "" and field.null else cleaned)
        super().clean_fields(exclude=exclude)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class ChangeLoggedModel(CleanTextModel, TimeStampedModel):
    """Every create, update and delete of a subclass is written to the audit log.

    ``audit_exclude`` names fields that are derived (search keys) and not worth logging.
    """

    audit_exclude: tuple = ("created_at", "updated_at")

    class Meta:
        abstract = True


class CustomFieldsModel(models.Model):
    """Industry-specific fields that admins define at run time, kept in a JSON column (R1.4)."""

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True


class ExternalRefModel(models.Model):
    """A reference in another system, used for idempotent upserts from imports and back offices."""

    external_ref = models.CharField(_("external reference"), max_length=100, null=True, blank=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """One create, update or delete: who, when, from where, before and after.  Append-only."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    actor_repr = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"], name="audit_object_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_repr} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("Audit entries cannot be deleted.")


class CustomFieldDefinition(CleanTextModel, TimeStampedModel):
    """A field an admin adds to a model through the UI; values live in the model's JSON column."""

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("applies to"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.SlugField(_("key"), max_length=50, help_text=_("Letters, digits, hyphens and underscores."))
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True,
                               help_text=_("For choice fields: the allowed values."))
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["content_type", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "key"], name="custom_field_unique_key"),
        ]

    def __str__(self):
        return self.label


class PeriodicRun(models.Model):
    """When a periodic task (``crm.core.schedule``) was last put on the queue.  The row is the
    lock that makes ``run_periodic`` enqueue each task once per interval, however many processes run it."""

    name = models.CharField(_("task"), max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(_("last queued"), null=True, blank=True)

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")
        ordering = ["name"]

    def __str__(self):
        return self.name
