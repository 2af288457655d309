from django.db import models
from django.utils.translation import gettext_lazy as _

# The kind of to-do the analytics app contributes (registered in apps.py).
VALUE_ALERT_TODO = "value_alert"


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


class RefreshStage(models.TextChoices):
    """The stages of a refresh, in order, as the progress bar names them."""

    QUEUED = "queued", _("queued")
    AGGREGATE = "aggregate", _("reading orders and interactions")
    PRODUCTS = "products", _("analysing products")
    SCORE = "score", _("computing RFM scores")
    MODELS = "models", _("fitting the purchase models")
    CLASSES = "classes", _("assigning value classes")
    WRITE = "write", _("saving the results")
    PUBLISH = "publish", _("publishing the results")
    COMPLETE = "complete", _("complete")


class ClvBasis(models.TextChoices):
    REVENUE = "revenue", _("revenue")
    MARGIN = "margin", _("gross margin")


class ModelPeriod(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")


# Labels of the default RFM segments (crm.analytics.stats.rfm.DEFAULT_SEGMENTS), translated.  A segment
# whose key is not here (an admin created it) shows the label stored on it.
SEGMENT_LABELS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalist": _("Potential loyalist"),
    "new": _("New"),
    "promising": _("Promising"),
    "need_attention": _("Need attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cant_lose": _("Can't lose them"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
}


def segment_label(key, stored=""):
    """The segment's label in the current language: the translation of a default key, else ``stored``."""
    if key in SEGMENT_LABELS:
        return str(SEGMENT_LABELS[key])
    return stored or key or ""
