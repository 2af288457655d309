"""Display helpers for customer-value figures: translated names of segments, tiers, classes and
relationship levels, and shares as percentages."""

import math

from django import template
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import RelationshipLevel

from ..choices import Tier, ValueClass, segment_label

register = template.Library()


@register.filter
def segment_name(key, stored=""):
    return segment_label(key, stored)


@register.filter
def tier_name(key):
    return dict(Tier.choices).get(key, key or "")


@register.filter
def class_name(key):
    return dict(ValueClass.choices).get(key, key or "")


@register.filter
def level_name(key):
    return dict(RelationshipLevel.choices).get(key, key or "")


@register.filter
def percent(value, digits=0):
    """0.374 → "37%" (``digits`` decimals); "—" for a missing value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(number):
        return "—"
    return f"{number * 100:.{int(digits)}f}%"


@register.filter
def number(value, digits=2):
    """A float with ``digits`` significant decimals, "—" when missing or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(x):
        return "—"
    return f"{x:,.{int(digits)}f}"


LEVEL_WORDS = {
    "many": _("many"), "few": _("few"), "medium": _("medium"), "high": _("high"), "low": _("low"),
}


@register.filter
def level_word(key):
    """Words of Kotler's table (many / medium / few customers; high / medium / low margin)."""
    return LEVEL_WORDS.get(key, key or "—")
