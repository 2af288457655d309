from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    """Value tiers by cumulative share of gross profit (R5.2)."""

    HIGH = "high", _("high-value")
    GENERAL = "general", _("general")
    SMALL = "small", _("small")


class ValueClass(models.TextChoices):
    """The value-chain classes of seed 000 (R5.3)."""

    TRANSACTION = "transaction", _("transaction customer")
    CASH_FLOW = "cash_flow", _("cash-flow customer")
    QUASI_CASH_FLOW = "quasi_cash_flow", _("quasi-cash-flow customer")
    LOW_YIELD = "low_yield", _("low-yield customer")
    UNCLASSIFIED = "unclassified", _("not enough history")


class SnapshotStatus(models.TextChoices):
    RUNNING = "running", _("running")
    COMPLETE = "complete", _("complete")
    FAILED = "failed", _("failed")


class ClvBasis(models.TextChoices):
    REVENUE = "revenue", _("revenue")
    MARGIN = "margin", _("gross margin")


class ModelPeriod(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")
