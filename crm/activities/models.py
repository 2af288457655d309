"""Interactions, to-dos and the customer timeline (R1.2, R2.1, R2.2, R3.2)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core import registry
from crm.core.models import ChangeLoggedModel, ExternalRefModel
from crm.core.validators import NOTES_MAX_LENGTH, validate_date_range
from crm.core.visibility import RestrictedModel, RestrictedQuerySet

from .choices import Direction, InteractionKind, RelationshipContent, TodoKind, timeline_kind_choices, todo_kind_choices


class Interaction(RestrictedModel, ChangeLoggedModel, ExternalRefModel):
    """One contact with a customer, by any channel, and what it served in the relationship."""

    owner_path = "customer__owner"
    unit_path = "customer__branch"

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="interactions")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact person"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="interactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="interactions")
    kind = models.CharField(_("kind"), max_length=10, choices=InteractionKind.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    content = models.CharField(_("relationship content"), max_length=15, choices=RelationshipContent.choices,
                               blank=True)
    occurred_at = models.DateTimeField(_("time"), validators=[validate_date_range])
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    summary = models.TextField(_("summary"), max_length=NOTES_MAX_LENGTH,
                               validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True, validators=[validate_date_range])

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["user", "-occurred_at"], name="interaction_user_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_time_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d}"


class Todo(RestrictedModel, ChangeLoggedModel):
    """Something a user has to do, by a date: a follow-up, a task, a warning."""

    owner_path = "owner"
    unit_path = "owner__org_unit"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), on_delete=models.PROTECT,
                              related_name="todos")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="todos")
    interaction = models.ForeignKey(Interaction, verbose_name=_("from interaction"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="todos")
    kind = models.CharField(_("kind"), max_length=12, choices=todo_kind_choices, default=TodoKind.TASK)
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due"), validators=[validate_date_range])
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("to-do")
        verbose_name_plural = _("to-dos")
        ordering = ["done_at", "due_on", "id"]
        indexes = [
            models.Index(fields=["owner", "done_at", "due_on"], name="todo_owner_due_idx"),
            models.Index(fields=["customer", "done_at"], name="todo_customer_idx"),
        ]

    def __str__(self):
        return self.title

    def get_kind_display(self):
        # A dict lookup in the registry, not Django's default, which re-evaluates the callable choices.
        return registry.todo_kinds.label(self.kind)

    @property
    def is_open(self):
        return self.done_at is None


class TimelineEvent(RestrictedModel):
    """A meaningful event in a customer's history, newest first on the 360° page.  Written explicitly
    by the services that cause it (order placed, interaction logged, owner changed, case closed)."""

    owner_path = "customer__owner"
    unit_path = "customer__branch"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="timeline_events")
    at = models.DateTimeField(_("time"))
    kind = models.CharField(_("kind"), max_length=12, choices=timeline_kind_choices)
    title = models.CharField(_("title"), max_length=200)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="timeline_customer_idx"),
            models.Index(fields=["customer", "kind", "-at", "-id"], name="timeline_customer_kind_idx"),
            models.Index(fields=["source_type", "source_id"], name="timeline_source_idx"),
        ]

    def __str__(self):
        return self.title

    def get_kind_display(self):
        # A dict lookup in the registry, not Django's default, which re-evaluates the callable choices
        # for every event of the page.
        return registry.timeline_kinds.label(self.kind)
