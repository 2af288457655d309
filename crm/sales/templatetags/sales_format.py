"""Display filters for money and rates on the sales pages."""

from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def money(value):
    """1234.5 → "1,234.50" (grouping as the active language writes it); empty for None."""
    if value is None or value == "":
        return ""
    return floatformat(value, "2g")


@register.filter
def percent(rate):
    """0.2345 → "23.5%"; "—" when there is no rate (nothing sold)."""
    if rate is None or rate == "":
        return "—"
    return f"{floatformat(Decimal(rate) * 100, '1g')}%"
