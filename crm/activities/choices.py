from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    FOLLOW_UP = "follow_up", _("follow-up")
    TASK = "task", _("task")
    POOL_WARNING = "pool_warning", _("customer about to return to the pool")
    VALUE_ALERT = "value_alert", _("customer value dropped")


class TimelineKind(models.TextChoices):
    ORDER = "order", _("order")
    INTERACTION = "interaction", _("interaction")
    OWNERSHIP = "ownership", _("ownership")
    CASE = "case", _("service case")
    NOTE = "note", _("note")
