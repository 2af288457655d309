from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.core import registry


class InteractionKind(models.TextChoices):
    CALL = "call", _("phone call")
    VISIT = "visit", _("visit")
    EMAIL = "email", pgettext_lazy("interaction kind", "email")
    MEETING = "meeting", _("meeting")
    FORUM = "forum", _("customer forum")  # 座谈
    SURVEY = "survey", _("survey")
    WEBSITE = "website", _("website")
    PORTAL = "portal", _("customer portal")
    OTHER = "other", _("other")


class Direction(models.TextChoices):
    OUTBOUND = "out", _("outbound")
    INBOUND = "in", _("inbound")


class RelationshipContent(models.TextChoices):
    """The seven direct contents of a relationship (seed 003, R2.2)."""

    CONTACT = "contact", pgettext_lazy("relationship content", "contact")  # 联系
    LIAISON = "liaison", _("liaison")          # 联络
    COMMUNICATION = "communication", _("communication")  # 沟通
    FEEDBACK = "feedback", _("feedback")       # 反馈
    COOPERATION = "cooperation", _("cooperation")  # 合作
    EVALUATION = "evaluation", _("evaluation")  # 评价
    ADJUSTMENT = "adjustment", _("adjustment")  # 调整


class TodoKind(models.TextChoices):
    """The kinds of to-do activities itself creates.  Other apps register theirs (with their labels) in
    :data:`crm.core.registry.todo_kinds` from their ``AppConfig.ready()``."""

    FOLLOW_UP = "follow_up", _("follow-up")
    TASK = "task", _("task")


class TimelineKind(models.TextChoices):
    """The kinds of timeline event activities itself records; other apps register theirs in
    :data:`crm.core.registry.timeline_kinds`."""

    INTERACTION = "interaction", _("interaction")
    CASE = "case", _("service case")  # the service desk app takes it over when it comes
    NOTE = "note", _("note")


def todo_kind_choices():
    """Every registered to-do kind (the model field's choices, read when used)."""
    return registry.todo_kinds.choices()


def timeline_kind_choices():
    """Every registered timeline event kind (the model field's choices, read when used)."""
    return registry.timeline_kinds.choices()
