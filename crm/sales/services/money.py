"""Order arithmetic: line amounts, costs and margins and the order's totals, rounded half-up to the cent.

Pure functions: the order services, the demo generator and the analyses use the same arithmetic."""

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

CENT = Decimal("0.01")
QUANTUM = Decimal("0.001")
HUNDRED = Decimal(100)


class LineTotals(NamedTuple):
    amount: Decimal
    cost: Decimal
    margin: Decimal


def money(value) -> Decimal:
    """A Decimal rounded half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_totals(quantity, unit_price, discount_rate, unit_cost) -> LineTotals:
    """Amount, cost and gross margin of one order line, each rounded half-up to the cent.

    ``amount = quantity × unit_price × (100 − discount_rate) / 100``, ``cost = quantity × unit_cost``,
    ``margin = amount − cost``.  Pure: the demo generator and the analyses use the same arithmetic.
    """
    quantity = Decimal(quantity)
    amount = money(quantity * Decimal(unit_price) * (HUNDRED - Decimal(discount_rate or 0)) / HUNDRED)
    cost = money(quantity * Decimal(unit_cost or 0))
    return LineTotals(amount, cost, amount - cost)


def gross_amount(quantity, unit_price) -> Decimal:
    """Quantity × unit price before the discount, to the cent (the line's share of ``list_amount``)."""
    return money(Decimal(quantity) * Decimal(unit_price))


def order_totals(lines) -> dict:
    """Order totals from line dicts holding ``quantity``, ``unit_price``, ``amount`` and ``cost``."""
    list_amount = sum((gross_amount(x["quantity"], x["unit_price"]) for x in lines), Decimal("0.00"))
    total = sum((x["amount"] for x in lines), Decimal("0.00"))
    cost = sum((x["cost"] for x in lines), Decimal("0.00"))
    return {"list_amount": list_amount, "discount_amount": list_amount - total, "total_amount": total,
            "total_cost": cost, "gross_margin": total - cost}


