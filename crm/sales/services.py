"""Verbs of the sales app: the product catalogue, stock, channel partners and orders.

Pages, the API, imports and the demo generator call these.  Every function takes the acting user,
checks the role's action, works only on customers the actor can see, and writes in one transaction.

Orders
------
One validation path serves every way an order arrives (page, ``POST /api/orders/``, upsert by
external reference, bulk): :func:`_clean_order` turns a payload into typed values or into errors by
field.  A payload is a dict::

    {"customer": 12 | "customer_ref": "ERP-C-1",        # the customer by id or by its external_ref
     "order_date": "2025-03-01", "status": "confirmed", "channel": "dealer",
     "partner": 3 | "partner_ref": "D-7",               # dealer orders only
     "seller": 5 | "seller_username": "lisi",
     "number": "SO-1", "currency": "CNY", "notes": "", "is_promotion": null,
     "lines": [{"product": 8 | "product_code": "BRG-6204", "quantity": "2", "unit_price": "12.50",
                "discount_rate": "5", "unit_cost": null}]}

* ``unit_price`` defaults to the product's list price, ``unit_cost`` to its standard cost (a snapshot:
  later cost changes do not rewrite history), ``discount_rate`` (percent, 0–100) to 0.
* ``is_promotion`` left out (or null) is derived: true when any line has a discount.
* Totals are computed here, never taken from the caller: ``list_amount`` is the sum of quantity × unit
  price, ``total_amount`` the sum of line amounts after discount, ``discount_amount`` their difference,
  ``total_cost`` the sum of quantity × unit cost and ``gross_margin`` total less cost.  Every amount is
  rounded half-up to the cent per line by :func:`line_totals`.
* A customer the actor cannot see answers "customer not found" (nothing about it is revealed).

Bulk ingestion (:func:`bulk_upsert_orders`) resolves customers, products, partners, sellers and
existing orders with one query each per batch, inserts orders and lines with ``bulk_create``, and
writes the audit entries, timeline events and last-activity dates in bulk too.  Should the bulk write
hit a database error (another request inserting the same reference at the same moment), the batch is
written again order by order, each in its own savepoint, and a reference that now exists turns into an
update: one bad order never loses the good ones.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.activities.services import record_events
from crm.core import audit
from crm.core.audit import acting_as
from crm.core.choices import AuditAction
from crm.core.permissions import has_any, require
from crm.core.permissions import label as permission_label
from crm.core.text import clean_text
from crm.core.validators import date_out_of_range_message, in_date_range
from crm.customers.models import Customer
from crm.customers.services import touch_activity

from .choices import ORDER_EVENT, OrderStatus, SalesChannel, StockMovementKind
from .models import ChannelPartner, Order, OrderLine, Product, ProductCategory, StockMovement
from .permissions import (
    ADD_ORDER,
    CHANGE_ORDER,
    DELETE_ORDER,
    can_add_order,
    can_change_order,
    order_is_deletable,
    require_catalogue,
)

CENT = Decimal("0.01")
QUANTUM = Decimal("0.001")
HUNDRED = Decimal(100)
# Most orders one bulk request may carry; CRM_ORDER_BULK_MAX in the settings overrides it.
BULK_MAX_ORDERS = 5000
MAX_LINES_PER_ORDER = 1000

# Who may move an order where by hand (pages, API status action).  Back-office upserts carry the
# source system's status as it is.
STATUS_TRANSITIONS = {
    OrderStatus.DRAFT: {OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    OrderStatus.CONFIRMED: {OrderStatus.DRAFT, OrderStatus.DELIVERED, OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.DELIVERED: {OrderStatus.PAID, OrderStatus.RETURNED},
    OrderStatus.PAID: {OrderStatus.DELIVERED, OrderStatus.RETURNED},
    OrderStatus.CANCELLED: {OrderStatus.DRAFT},
    OrderStatus.RETURNED: set(),
}
REASON_REQUIRED = {OrderStatus.CANCELLED, OrderStatus.RETURNED}

# Stock movement kinds whose quantity has a fixed direction; an adjustment takes either sign.
STOCK_IN = {StockMovementKind.OPENING, StockMovementKind.RECEIPT, StockMovementKind.RETURN}
STOCK_OUT = {StockMovementKind.SHIPMENT}


def bulk_max_orders() -> int:
    return int(getattr(settings, "CRM_ORDER_BULK_MAX", BULK_MAX_ORDERS))


# --- arithmetic -----------------------------------------------------------------------------------

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


# --- errors ---------------------------------------------------------------------------------------

class OrderInvalid(ValidationError):
    """An order that cannot be stored.  ``errors`` is nested like a DRF error body:
    ``{"order_date": [msg], "lines": [{}, {"quantity": [msg]}]}``; as a Django ValidationError the
    line errors are flattened to ``{"lines": ["Line 2: msg"]}`` so forms and the API handler show them."""

    def __init__(self, errors: dict):
        self.errors = errors
        flat = {}
        for key, value in errors.items():
            if key == "lines" and any(isinstance(v, dict) for v in value):
                messages = []
                for index, line in enumerate(value, 1):
                    for messages_of_field in (line or {}).values():
                        messages += [_("Line %(n)d: %(message)s") % {"n": index, "message": m}
                                     for m in messages_of_field]
                flat[key] = messages
            else:
                flat[key] = list(value)
        super().__init__(flat, code="invalid")


def _ref_taken():
    """The one answer for an external reference that another order carries, whether or not the caller
    can see that order: references are unique across the company, and saying whose order holds one
    (or that it is outside the caller's access) would reveal more than that it is taken."""
    return _("An order with this reference already exists.")


class _Invalid(Exception):
    def __init__(self, message):
        self.message = message


def _decimal(value, *, places, minimum=None, maximum=None, positive=False, required=True):
    """A Decimal from what a form or a JSON body sent, or :class:`_Invalid` with the message to show."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Invalid(_("This field is required."))
        return None
    if isinstance(value, bool):
        raise _Invalid(_("Enter a number."))
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _Invalid(_("Enter a number.")) from None
    if not number.is_finite():
        raise _Invalid(_("Enter a number."))
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise _Invalid(_("Use at most %(n)d decimal places.") % {"n": places})
    if positive and number <= 0:
        raise _Invalid(_("Must be greater than zero."))
    if minimum is not None and number < minimum:
        raise _Invalid(_("Must be at least %(n)s.") % {"n": minimum})
    if maximum is not None and number > maximum:
        raise _Invalid(_("Must be at most %(n)s.") % {"n": maximum})
    if abs(number) >= Decimal(10) ** (14 - places):
        raise _Invalid(_("This number is too large."))
    return number


# Ids are 64-bit integers; a larger number can name no record (and databases refuse it as a parameter).
MAX_ID = 2**63 - 1


def _int_id(value):
    """An id sent as a number or a numeric string, within the range of ids; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    pk = getattr(value, "pk", None)
    return pk if isinstance(pk, int) else None


def _ref(value):
    """A reference (external ref, product code, user name) as sent: stripped text, or None for
    anything that cannot name a record (not text, empty, too long, or holding a null character)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= 150 and "\x00" not in value else None


def _date(value):
    day = _parse_date(value)
    if not in_date_range(day):
        raise _Invalid(date_out_of_range_message())
    return day


def _parse_date(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(_("Enter a valid date (YYYY-MM-DD)."))


def _text(value, max_length, *, multiline=False):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(_("Enter text."))
    if "\x00" in value:
        raise _Invalid(_("Null characters are not allowed."))
    value = clean_text(value, multiline=multiline)  # as full_clean does for every other record
    if len(value) > max_length:
        raise _Invalid(_("At most %(n)d characters.") % {"n": max_length})
    return value


# --- resolving references ------------------------------------------------------------------------

@dataclass
class _ProductRow:
    id: int
    code: str
    list_price: Decimal
    standard_cost: Decimal


@dataclass
class _Lookups:
    """What a batch of payloads refers to, each loaded with one query."""

    customers: set = field(default_factory=set)            # visible customer ids
    customer_refs: dict = field(default_factory=dict)      # external_ref -> id (visible only)
    products: dict = field(default_factory=dict)           # id -> _ProductRow
    product_codes: dict = field(default_factory=dict)      # code -> id
    partners: set = field(default_factory=set)
    partner_refs: dict = field(default_factory=dict)
    sellers: set = field(default_factory=set)
    seller_names: dict = field(default_factory=dict)

    @classmethod
    def load(cls, actor, payloads, *, extra_customer_ids=()):
        ids = {"customer": set(extra_customer_ids), "product": set(), "partner": set(), "seller": set()}
        refs = {"customer": set(), "product": set(), "partner": set(), "seller": set()}
        for p in payloads:
            if not isinstance(p, dict):
                continue
            for name, ref_key in (("customer", "customer_ref"), ("partner", "partner_ref"),
                                  ("seller", "seller_username")):
                _collect(p.get(name), p.get(ref_key), ids[name], refs[name])
            lines = p.get("lines")
            for line in lines if isinstance(lines, list) else ():
                if isinstance(line, dict):
                    _collect(line.get("product"), line.get("product_code"), ids["product"], refs["product"])
        found = cls()
        if ids["customer"] or refs["customer"]:
            rows = (Customer.objects.visible_to(actor)
                    .filter(Q(pk__in=ids["customer"]) | Q(external_ref__in=refs["customer"]))
                    .values_list("pk", "external_ref"))
            for pk, ref in rows:
                found.customers.add(pk)
                if ref:
                    found.customer_refs[ref] = pk
        if ids["product"] or refs["product"]:
            rows = (Product.objects.filter(Q(pk__in=ids["product"]) | Q(code__in=refs["product"]))
                    .values_list("pk", "code", "list_price", "standard_cost"))
            for row in rows:
                product = _ProductRow(*row)
                found.products[product.id] = product
                found.product_codes[product.code] = product.id
        if ids["partner"] or refs["partner"]:
            rows = (ChannelPartner.objects.filter(Q(pk__in=ids["partner"]) | Q(external_ref__in=refs["partner"]))
                    .values_list("pk", "external_ref"))
            for pk, ref in rows:
                found.partners.add(pk)
                if ref:
                    found.partner_refs[ref] = pk
        if ids["seller"] or refs["seller"]:
            rows = (User.objects.filter(Q(pk__in=ids["seller"]) | Q(username__in=refs["seller"]))
                    .values_list("pk", "username"))
            for pk, username in rows:
                found.sellers.add(pk)
                found.seller_names[username] = pk
        return found


def _collect(value, ref, ids, refs):
    pk = _int_id(value)
    if pk is not None:
        ids.add(pk)
    ref = _ref(ref)
    if ref is not None:
        refs.add(ref)


def _resolve(payload, name, ref_key, known_ids, known_refs, *, required, missing):
    """``(id, None)`` for a reference given by id (``name``) or by its other key (``ref_key``), or
    ``(None, {key: [message]})`` naming the key that was sent (``{}`` when an optional one is absent)."""
    value, ref = payload.get(name), payload.get(ref_key)
    if value not in (None, ""):
        pk = _int_id(value)
        if pk is None or pk not in known_ids:
            return None, {name: [missing]}
        return pk, None
    if ref not in (None, ""):
        if not isinstance(ref, str):
            return None, {ref_key: [_("Enter text.")]}
        pk = known_refs.get(_ref(ref))
        return (pk, None) if pk is not None else (None, {ref_key: [missing]})
    return None, ({name: [_("This field is required.")]} if required else {})


# --- cleaning one order -----------------------------------------------------------------------------

@dataclass
class _CleanOrder:
    fields: dict      # Order attribute values (``customer_id``, …, totals)
    lines: list       # dicts of OrderLine attribute values
    external_ref: str | None


def _clean_order(payload, lk: _Lookups, *, today, defaults=None) -> _CleanOrder:
    """Typed order values from a payload, or :class:`OrderInvalid` with every error by field."""
    if not isinstance(payload, dict):
        raise OrderInvalid({"non_field_errors": [_("Each order must be a JSON object.")]})
    data = {**(defaults or {}), **payload}
    errors: dict = {}
    values: dict = {}

    def check(name, fn):
        try:
            values[name] = fn()
        except _Invalid as exc:
            errors[name] = [exc.message]

    customer_id, error = _resolve(data, "customer", "customer_ref", lk.customers, lk.customer_refs,
                                  required=True, missing=_("customer not found"))
    errors.update(error or {})
    values["customer_id"] = customer_id

    def order_date():
        if data.get("order_date") in (None, ""):
            raise _Invalid(_("This field is required."))
        day = _date(data.get("order_date"))
        limit = settings.CRM_ORDER_MAX_FUTURE_DAYS
        if day > today + datetime.timedelta(days=limit):
            raise _Invalid(_("The order date is more than %(days)d days in the future.") % {"days": limit})
        if day.year < 1900:
            raise _Invalid(_("Enter a valid date (YYYY-MM-DD)."))
        return day

    check("order_date", order_date)
    check("status", lambda: _choice(data.get("status") or OrderStatus.CONFIRMED, OrderStatus))
    check("channel", lambda: _choice(data.get("channel") or SalesChannel.DIRECT, SalesChannel))
    check("number", lambda: _text(data.get("number"), 40))
    check("notes", lambda: _text(data.get("notes"), 10000, multiline=True))
    check("currency", lambda: _currency(data.get("currency")))

    partner_id, error = _resolve(data, "partner", "partner_ref", lk.partners, lk.partner_refs,
                                 required=False, missing=_("Unknown channel partner."))
    if error:
        errors.update(error)
    elif partner_id is not None and values.get("channel") not in (None, SalesChannel.DEALER):
        errors["partner"] = [_("Only dealer orders name a channel partner.")]
    values["partner_id"] = partner_id

    seller_id, error = _resolve(data, "seller", "seller_username", lk.sellers, lk.seller_names,
                                required=False, missing=_("Unknown user."))
    errors.update(error or {})
    values["seller_id"] = seller_id

    promotion = data.get("is_promotion")
    if promotion not in (None, "") and not isinstance(promotion, bool):
        errors["is_promotion"] = [_("Must be true, false or null.")]

    lines, line_errors = _clean_lines(data.get("lines"), lk)
    if line_errors:
        errors["lines"] = line_errors

    ref = data.get("external_ref")
    try:
        ref = _text(ref, 100) or None
    except _Invalid as exc:
        errors["external_ref"] = [exc.message]
    if errors:
        raise OrderInvalid(errors)

    values["is_promotion"] = (promotion if isinstance(promotion, bool)
                              else any(line["discount_rate"] > 0 for line in lines))
    values.update(order_totals(lines))
    return _CleanOrder(fields=values, lines=lines, external_ref=ref)


def _choice(value, choices):
    if value not in choices.values:
        raise _Invalid(_("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)})
    return value


def _currency(value):
    value = (value or "CNY")
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise _Invalid(_("A three-letter currency code, e.g. CNY."))
    return value.strip().upper()


def _clean_lines(raw, lk: _Lookups):
    """(lines, errors): errors is a list of per-line dicts (empty dict for a good line) or a list of
    messages about the lines as a whole."""
    if not isinstance(raw, list) or not raw:
        return [], [_("An order needs at least one line.")]
    if len(raw) > MAX_LINES_PER_ORDER:
        return [], [_("At most %(n)d lines per order.") % {"n": MAX_LINES_PER_ORDER}]
    lines, errors, bad = [], [], False
    for position, line in enumerate(raw, 1):
        line_errors: dict = {}
        if not isinstance(line, dict):
            errors.append({"non_field_errors": [_("Each line must be a JSON object.")]})
            bad = True
            continue
        given = line.get("product_code") if line.get("product") in (None, "") else line.get("product")
        product_id, error = _resolve(line, "product", "product_code", lk.products, lk.product_codes,
                                     required=True, missing=_("Unknown product: %(ref)s.") % {
                                         "ref": str(getattr(given, "pk", given))[:50]})
        product = lk.products.get(product_id) if product_id is not None else None
        line_errors.update(error or {})
        values = {}
        for name, kwargs in (
            ("quantity", {"places": 3, "positive": True}),
            ("unit_price", {"places": 2, "minimum": 0, "required": False}),
            ("discount_rate", {"places": 2, "minimum": 0, "maximum": 100, "required": False}),
            ("unit_cost", {"places": 2, "minimum": 0, "required": False}),
        ):
            try:
                values[name] = _decimal(line.get(name), **kwargs)
            except _Invalid as exc:
                line_errors[name] = [exc.message]
        errors.append(line_errors)
        if line_errors:
            bad = True
            continue
        unit_price = values["unit_price"] if values["unit_price"] is not None else product.list_price
        discount = values["discount_rate"] if values["discount_rate"] is not None else Decimal("0")
        unit_cost = values["unit_cost"] if values["unit_cost"] is not None else product.standard_cost
        totals = line_totals(values["quantity"], unit_price, discount, unit_cost)
        lines.append({
            "position": position, "product_id": product.id, "quantity": values["quantity"].quantize(QUANTUM),
            "unit_price": money(unit_price), "discount_rate": money(discount), "unit_cost": money(unit_cost),
            "amount": totals.amount, "cost": totals.cost, "margin": totals.margin,
        })
    return lines, (errors if bad else [])


# --- comparing and writing --------------------------------------------------------------------------

ORDER_VALUE_FIELDS = (
    "customer_id", "number", "order_date", "status", "channel", "partner_id", "seller_id", "is_promotion",
    "currency", "notes", "list_amount", "discount_amount", "total_amount", "total_cost", "gross_margin",
)
LINE_KEY_FIELDS = ("position", "product_id", "quantity", "unit_price", "discount_rate", "unit_cost")


def _line_key(line: dict):
    return tuple(line[k] for k in LINE_KEY_FIELDS)


def _order_unchanged(order: Order, clean: _CleanOrder, existing_lines) -> bool:
    if order.external_ref != clean.external_ref:
        return False
    if any(getattr(order, name) != clean.fields[name] for name in ORDER_VALUE_FIELDS):
        return False
    return [_line_key(x) for x in existing_lines] == [_line_key(x) for x in clean.lines]


def _order_moment(order_date, now):
    """When an order "happened" for the timeline and the pool clock: noon of its day, never later than now."""
    moment = timezone.make_aware(datetime.datetime.combine(order_date, datetime.time(12)))
    return min(moment, now)


@dataclass
class _Writes:
    """What a batch writes besides orders and lines, collected and then written in bulk."""

    audit: list = field(default_factory=list)
    events: list = field(default_factory=list)
    touched: dict = field(default_factory=dict)

    def created(self, order, *, actor, now):
        self.audit.append((order.pk, order, audit.created_changes(audit.snapshot(order)), AuditAction.CREATE))
        self.events.append(_order_event(order, actor=actor, now=now, created=True))
        self._touch(order, now)

    def updated(self, order, before, *, actor, now, status_before):
        changes = audit.updated_changes(before, audit.snapshot(order))
        if changes:
            self.audit.append((order.pk, order, changes, AuditAction.UPDATE))
        if status_before != order.status:
            self.events.append(_order_event(order, actor=actor, now=now, created=False))
        self._touch(order, now)

    def _touch(self, order, now):
        if order.status == OrderStatus.DRAFT:
            return
        at = _order_moment(order.order_date, now)
        if at > self.touched.get(order.customer_id, at - datetime.timedelta(seconds=1)):
            self.touched[order.customer_id] = at

    def flush(self):
        if self.audit:
            audit.record_bulk(Order, self.audit)
        if self.events:
            record_events(self.events)
        if self.touched:
            # Only customers whose last activity moves forward (one read spares most of the writes when
            # older orders are loaded).
            current = dict(Customer.objects.filter(pk__in=list(self.touched))
                           .values_list("pk", "last_activity_at"))
            moved = {pk: at for pk, at in self.touched.items() if current.get(pk) is None or current[pk] < at}
            if moved:
                touch_activity(moved)
        self.audit, self.events, self.touched = [], [], {}


def _order_event(order, *, actor, now, created):
    if created:
        title = _("Order %(number)s: %(total)s %(currency)s") % {
            "number": order.display_number, "total": order.total_amount, "currency": order.currency}
        at = _order_moment(order.order_date, now)
    else:
        title = _("Order %(number)s is now %(status)s") % {
            "number": order.display_number, "status": order.get_status_display()}
        at = now
    return {"customer": order.customer_id, "kind": ORDER_EVENT, "title": title, "at": at,
            "actor": actor, "source": order, "detail": getattr(order, "_status_reason", ""),
            "data": {"order_id": order.pk, "status": order.status, "total_amount": str(order.total_amount),
                     "gross_margin": str(order.gross_margin), "order_date": order.order_date.isoformat()}}


def _new_order(clean: _CleanOrder, *, actor):
    order = Order(external_ref=clean.external_ref, created_by=actor if getattr(actor, "pk", None) else None,
                  **clean.fields)
    return order


def _line_rows(order, clean: _CleanOrder):
    return [{**line, "order_id": order.pk} for line in clean.lines]


def _apply(order, clean: _CleanOrder, now):
    for name in ORDER_VALUE_FIELDS:
        setattr(order, name, clean.fields[name])
    order.external_ref = clean.external_ref
    order.updated_at = now


UPDATE_FIELDS = [name[:-3] if name.endswith("_id") else name for name in ORDER_VALUE_FIELDS] + [
    "external_ref", "updated_at"]


# Rows per INSERT statement: 5,000 parameters, well inside SQLite's and PostgreSQL's limits.
LINES_PER_INSERT = 500
LINE_COLUMNS = ("order_id", "position", "product_id", "quantity", "unit_price", "discount_rate", "unit_cost",
                "amount", "cost", "margin")


def _insert_lines(lines):
    """Insert order lines in bulk: ``COPY … FROM STDIN`` on PostgreSQL, multi-row
    ``INSERT … VALUES (…), (…)`` statements of :data:`LINES_PER_INSERT` rows elsewhere.

    ``bulk_create`` compiles every value through the ORM (and psycopg quotes every parameter on the
    client), which costs more than the database work for thousands of lines; the values here are
    already typed and rounded by :func:`_clean_lines`."""
    if not lines:
        return
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(OrderLine._meta.get_field(c).column) for c in LINE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for line in lines:
                    copy.write_row([line[c] for c in LINE_COLUMNS])
            return
        row = "(" + ", ".join(["%s"] * len(LINE_COLUMNS)) + ")"
        for start in range(0, len(lines), LINES_PER_INSERT):
            chunk = lines[start:start + LINES_PER_INSERT]
            params = [line[c] for line in chunk for c in LINE_COLUMNS]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))}", params)


def _delete_lines(order_ids):
    """Delete the lines of these orders in one statement per 500 orders.  (The ORM's delete fetches
    every line first because the audit log listens to deletes of all models; lines are not audited:
    the order's audit entry records the new totals.)"""
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    column = connection.ops.quote_name(OrderLine._meta.get_field("order").column)
    with connection.cursor() as cursor:
        for start in range(0, len(order_ids), 500):
            chunk = list(order_ids[start:start + 500])
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)


def _update_orders(orders):
    """Write the new values of many orders: one prepared UPDATE run for every order (``bulk_update``
    builds one CASE expression per column over all rows, which grows quadratically)."""
    if not orders:
        return
    fields = [Order._meta.get_field(name) for name in UPDATE_FIELDS]
    table = connection.ops.quote_name(Order._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    rows = [(*(f.get_db_prep_save(getattr(order, f.attname), connection) for f in fields), order.pk)
            for order in orders]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {connection.ops.quote_name('id')} = %s", rows)


def _insert_one(clean, *, actor, writes, now):
    order = _new_order(clean, actor=actor)
    order.created_at = order.updated_at = now
    order.save_base(raw=True)  # raw: the audit entry is written with the batch, not by the signal
    _insert_lines(_line_rows(order, clean))
    writes.created(order, actor=actor, now=now)
    return order


def _update_one(order, clean, *, actor, writes, now):
    before, status_before = audit.snapshot(order), order.status
    _apply(order, clean, now)
    Order.objects.filter(pk=order.pk).update(
        **{name: getattr(order, name) for name in (*ORDER_VALUE_FIELDS, "external_ref", "updated_at")})
    _delete_lines([order.pk])
    _insert_lines(_line_rows(order, clean))
    writes.updated(order, before, actor=actor, now=now, status_before=status_before)
    return order


# --- the batch engine -------------------------------------------------------------------------------

CREATED, UPDATED, UNCHANGED, ERROR = "created", "updated", "unchanged", "error"


@dataclass
class OrderResult:
    index: int
    external_ref: str | None
    status: str
    id: int | None = None
    errors: dict | None = None
    order: Order | None = None

    def as_dict(self):
        row = {"index": self.index, "external_ref": self.external_ref, "status": self.status, "id": self.id}
        if self.errors:
            row["errors"] = self.errors
        return row


def _existing_orders(refs):
    """Orders that already carry these external references (whoever's customer they belong to)."""
    if not refs:
        return {}
    return {o.external_ref: o for o in Order.objects.filter(external_ref__in=refs)}


def _existing_lines(order_ids):
    lines: dict = {}
    if not order_ids:
        return lines
    rows = (OrderLine.objects.filter(order_id__in=order_ids).order_by("order_id", "position", "id")
            .values("order_id", *LINE_KEY_FIELDS))
    for row in rows:
        lines.setdefault(row["order_id"], []).append(row)
    return lines


def _run_batch(*, actor, items, source, require_ref):
    """Validate and store ``items`` (``(index, payload)``), returning one :class:`OrderResult` each.

    ``payload["external_ref"]`` identifies an existing order to update; without a reference (allowed
    only when ``require_ref`` is false) every item is a new order.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    results: dict[int, OrderResult] = {}
    refs, seen = {}, set()
    for index, payload in items:
        if not isinstance(payload, dict):
            results[index] = OrderResult(index, None, ERROR,
                                         errors={"non_field_errors": [_("Each order must be a JSON object.")]})
            continue
        try:
            # Typed first: a list or an object here must not reach the duplicate check or a query.
            ref = _text(payload.get("external_ref"), 100) or None
        except _Invalid as exc:
            results[index] = OrderResult(index, None, ERROR, errors={"external_ref": [exc.message]})
            continue
        if require_ref and not ref:
            results[index] = OrderResult(index, None, ERROR, errors={"external_ref": [
                _("An external reference is required: it makes re-sending the same order safe.")]})
        elif ref in seen:
            results[index] = OrderResult(index, ref, ERROR, errors={"external_ref": [
                _("This reference appears more than once in the request.")]})
        elif ref:
            seen.add(ref)
            refs[index] = ref
    existing = _existing_orders(set(refs.values()))
    pending = [(i, p) for i, p in items if i not in results]
    lk = _Lookups.load(actor, [p for _i, p in pending],
                       extra_customer_ids={o.customer_id for o in existing.values()})
    existing_lines = _existing_lines([o.pk for o in existing.values() if o.customer_id in lk.customers])
    can_create, can_change = can_add_order(actor), can_change_order(actor)

    creates, updates = [], []
    for index, payload in pending:
        ref = refs.get(index)
        order = existing.get(ref) if ref else None
        try:
            if order is not None and order.customer_id not in lk.customers:
                raise OrderInvalid({"external_ref": [_ref_taken()]})
            clean = _clean_order(payload, lk, today=today)
        except OrderInvalid as exc:
            results[index] = OrderResult(index, ref, ERROR, errors=exc.errors)
            continue
        if order is None:
            if not can_create:
                results[index] = OrderResult(index, ref, ERROR, errors=_role_error(ADD_ORDER))
                continue
            creates.append((index, clean))
        elif _order_unchanged(order, clean, existing_lines.get(order.pk, [])):
            results[index] = OrderResult(index, ref, UNCHANGED, id=order.pk, order=order)
        elif not can_change:
            results[index] = OrderResult(index, ref, ERROR, errors=_role_error(CHANGE_ORDER))
        else:
            updates.append((index, order, clean))

    with acting_as(actor, source=source):
        try:
            with transaction.atomic():
                written = _write_bulk(creates, updates, actor=actor, now=now)
        except DatabaseError:
            # A concurrent insert of the same reference, or a value the database refused: order by order.
            written = _write_each(creates, updates, actor=actor, now=now)
    results.update(written)
    return [results[index] for index, _payload in items]


def _role_error(code):
    return {"non_field_errors": [_("Your role does not allow: %(action)s.") % {"action": permission_label(code)}]}


def _write_bulk(creates, updates, *, actor, now):
    writes = _Writes()
    results = {}
    if creates:
        orders = [_new_order(clean, actor=actor) for _i, clean in creates]
        Order.objects.bulk_create(orders, batch_size=1000)
        if any(o.pk is None for o in orders):  # a database that cannot return ids from a bulk insert
            raise DatabaseError("bulk insert returned no ids")
        lines = []
        for order, (index, clean) in zip(orders, creates, strict=True):
            lines += _line_rows(order, clean)
            writes.created(order, actor=actor, now=now)
            results[index] = OrderResult(index, order.external_ref, CREATED, id=order.pk, order=order)
        _insert_lines(lines)
    if updates:
        changed = []
        for index, order, clean in updates:
            before, status_before = audit.snapshot(order), order.status
            _apply(order, clean, now)
            writes.updated(order, before, actor=actor, now=now, status_before=status_before)
            changed.append(order)
            results[index] = OrderResult(index, order.external_ref, UPDATED, id=order.pk, order=order)
        _update_orders(changed)
        _delete_lines([o.pk for o in changed])
        _insert_lines([line for _i, order, clean in updates for line in _line_rows(order, clean)])
    writes.flush()
    return results


def _write_each(creates, updates, *, actor, now):
    """The slow, sure path: each order in its own savepoint.  A reference inserted meanwhile by
    someone else turns the insert into an update of that order."""
    writes = _Writes()
    results = {}
    work = [(index, None, clean) for index, clean in creates] + list(updates)
    work.sort(key=lambda item: item[0])
    with transaction.atomic():
        for index, order, clean in work:
            try:
                with transaction.atomic():
                    if order is None:
                        try:
                            with transaction.atomic():
                                order = _insert_one(clean, actor=actor, writes=writes, now=now)
                            status = CREATED
                        except IntegrityError:
                            order = _reload_for_update(clean.external_ref, actor)
                            if order is None:
                                raise
                            _update_one(order, clean, actor=actor, writes=writes, now=now)
                            status = UPDATED
                    else:
                        order = Order.objects.select_for_update().get(pk=order.pk)
                        _update_one(order, clean, actor=actor, writes=writes, now=now)
                        status = UPDATED
            except OrderInvalid as exc:
                results[index] = OrderResult(index, clean.external_ref, ERROR, errors=exc.errors)
            except PermissionDenied as exc:
                results[index] = OrderResult(index, clean.external_ref, ERROR,
                                             errors={"non_field_errors": [str(exc)]})
            except (DatabaseError, Order.DoesNotExist) as exc:
                results[index] = OrderResult(index, clean.external_ref, ERROR, errors={
                    "non_field_errors": [_("The database refused this order: %(error)s") % {"error": exc}]})
            else:
                results[index] = OrderResult(index, order.external_ref, status, id=order.pk, order=order)
        writes.flush()
    return results


def _reload_for_update(external_ref, actor):
    """The order another request has just stored under ``external_ref``, if the actor may change it."""
    if not external_ref:
        return None
    order = Order.objects.select_for_update().filter(external_ref=external_ref).first()
    if order is None:
        return None
    if not Customer.objects.visible_to(actor).filter(pk=order.customer_id).exists():
        raise OrderInvalid({"external_ref": [_ref_taken()]})
    if not can_change_order(actor):
        raise PermissionDenied(_role_error(CHANGE_ORDER)["non_field_errors"][0])
    return order


# --- orders: the verbs ------------------------------------------------------------------------------

def _require_any(actor, *codes):
    if not has_any(actor, *codes):
        require(actor, codes[0])


def _ensure_customer_visible(actor, customer):
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def _ensure_order_visible(actor, order):
    if not Order.objects.visible_to(actor).filter(pk=order.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def _raise_result(result: OrderResult):
    if result.status == ERROR:
        raise OrderInvalid(result.errors)
    return result


def order_payload(order: Order) -> dict:
    """An existing order as a payload (ids), the base that a partial update is laid over."""
    return {
        "customer": order.customer_id, "number": order.number, "order_date": order.order_date,
        "status": order.status, "channel": order.channel, "partner": order.partner_id,
        "seller": order.seller_id, "is_promotion": order.is_promotion, "currency": order.currency,
        "notes": order.notes, "external_ref": order.external_ref,
        "lines": [{"product": x.product_id, "quantity": x.quantity, "unit_price": x.unit_price,
                   "discount_rate": x.discount_rate, "unit_cost": x.unit_cost}
                  for x in order.lines.order_by("position", "id")],
    }


def create_order(*, actor, customer=None, data: dict, lines: list | None = None, source=None) -> Order:
    """Record an order.  ``customer`` is an instance the actor can see, or ``None`` when ``data`` names
    it (``customer`` id or ``customer_ref``); ``data`` holds the order's fields (see the module
    docstring) and ``lines`` its lines (default ``data["lines"]``).  Totals are computed here."""
    require(actor, ADD_ORDER)
    payload = {**data, "lines": lines if lines is not None else data.get("lines")}
    if customer is not None:
        _ensure_customer_visible(actor, customer)
        payload.update(customer=customer.pk, customer_ref=None)
    ref = _ref(payload.get("external_ref"))
    if ref and Order.objects.filter(external_ref=ref).exists():
        raise OrderInvalid({"external_ref": [_ref_taken()]})
    result = _raise_result(_run_batch(actor=actor, items=[(0, payload)], source=source, require_ref=False)[0])
    return result.order


def update_order(order: Order, *, actor, data: dict, lines: list | None = None, source=None) -> Order:
    """Change an order: ``data`` is laid over its current values; ``lines`` given replace all lines.

    A change of status to cancelled or returned needs ``data["reason"]`` (as :func:`set_order_status`)."""
    require(actor, CHANGE_ORDER)
    _ensure_order_visible(actor, order)
    base = order_payload(order)
    payload = {**base, **{k: v for k, v in data.items() if k != "reason"}}
    if "customer" in data or "customer_ref" in data:
        payload["customer"], payload["customer_ref"] = data.get("customer"), data.get("customer_ref")
    if lines is not None:
        payload["lines"] = lines
    reason = data.get("reason")
    try:
        reason = _text(reason, 500)
    except _Invalid as exc:
        raise OrderInvalid({"reason": [exc.message]}) from None
    new_status = payload.get("status")
    if isinstance(new_status, str) and new_status != order.status and new_status in REASON_REQUIRED and not reason:
        raise OrderInvalid({"reason": [_("Give a reason to cancel or return an order.")]})
    ref = _ref(payload.get("external_ref"))
    if ref and ref != order.external_ref and Order.objects.filter(external_ref=ref).exists():
        raise OrderInvalid({"external_ref": [_ref_taken()]})
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        clean = _clean_order(payload, _Lookups.load(actor, [payload]), today=timezone.localdate())
        if _order_unchanged(locked, clean, _existing_lines([locked.pk]).get(locked.pk, [])):
            return locked
        locked._status_reason = reason
        with acting_as(actor, source=source):
            writes = _Writes()
            _update_one(locked, clean, actor=actor, writes=writes, now=timezone.now())
            writes.flush()
    return locked


@transaction.atomic
def set_order_status(order: Order, *, actor, status, reason="") -> Order:
    """Move an order to another status by hand.  Cancelling or returning needs a reason; the step
    must be one of :data:`STATUS_TRANSITIONS`.  The timeline records the change with the reason."""
    require(actor, CHANGE_ORDER)
    _ensure_order_visible(actor, order)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if status not in OrderStatus.values:
        raise ValidationError({"status": [_("Choose one of: %(values)s.") % {
            "values": ", ".join(OrderStatus.values)}]})
    if status == order.status:
        return order
    if status not in STATUS_TRANSITIONS[order.status]:
        raise ValidationError({"status": [_("A %(from)s order cannot become %(to)s.") % {
            "from": order.get_status_display(), "to": OrderStatus(status).label}]})
    reason = (reason or "").strip()
    if status in REASON_REQUIRED and not reason:
        raise ValidationError({"reason": [_("Give a reason to cancel or return an order.")]})
    now = timezone.now()
    with acting_as(actor):
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        order._status_reason = reason[:500]
        writes = _Writes()
        writes.events.append(_order_event(order, actor=actor, now=now, created=False))
        writes.flush()
    return order


@transaction.atomic
def delete_order(order: Order, *, actor):
    """Delete a draft order.  Orders that were confirmed stay as history: cancel them instead."""
    require(actor, DELETE_ORDER)
    _ensure_order_visible(actor, order)
    if not order_is_deletable(order):
        raise ValidationError({"status": [_("Only draft orders can be deleted; cancel the order instead.")]})
    with acting_as(actor):
        order.delete()


def upsert_order(*, actor, external_ref, payload: dict, source="api") -> OrderResult:
    """Create or update the order a back-office system knows as ``external_ref``.

    Idempotent: sending the same order again answers ``unchanged`` and writes nothing; a retry after
    a timeout finds the order the first attempt stored; two requests racing to insert the same
    reference end with one order (the loser's insert becomes an update).  Lines are replaced.
    Raises :class:`OrderInvalid` for bad input."""
    _require_any(actor, ADD_ORDER, CHANGE_ORDER)
    if not isinstance(payload, dict):
        raise OrderInvalid({"non_field_errors": [_("The order must be a JSON object.")]})
    payload = {**payload, "external_ref": external_ref}
    return _raise_result(_run_batch(actor=actor, items=[(0, payload)], source=source, require_ref=True)[0])


def bulk_upsert_orders(*, actor, payloads: list, source="api") -> list[OrderResult]:
    """Upsert many orders by external reference; one :class:`OrderResult` per payload, in order.

    Each payload is validated alone: the good ones are stored (each with its lines, atomically), the
    bad ones reported with their errors by field."""
    _require_any(actor, ADD_ORDER, CHANGE_ORDER)
    limit = bulk_max_orders()
    if len(payloads) > limit:
        raise ValidationError({"non_field_errors": [
            _("At most %(n)d orders per request.") % {"n": limit}]})
    return _run_batch(actor=actor, items=list(enumerate(payloads)), source=source, require_ref=True)


# --- catalogue ------------------------------------------------------------------------------------

CATEGORY_FIELDS = ("name", "code", "parent")
PRODUCT_FIELDS = ("code", "name", "category", "unit", "list_price", "standard_cost", "active", "external_ref")
PARTNER_FIELDS = ("name", "region", "contact_name", "phone", "active", "external_ref")


def _save_master(instance, *, actor, data, fields, exclude=()):
    require_catalogue(actor)
    for key, value in data.items():
        if key in fields:
            setattr(instance, key, value.strip() if isinstance(value, str) else value)
    if getattr(instance, "external_ref", None) == "":
        instance.external_ref = None
    instance.full_clean(exclude=list(exclude))
    with acting_as(actor):
        instance.save()
    return instance


@transaction.atomic
def save_category(category: ProductCategory | None = None, *, actor, data: dict) -> ProductCategory:
    category = category or ProductCategory()
    parent = data.get("parent", category.parent)
    if parent is not None and category.pk and (parent.pk == category.pk or _is_below(parent, category)):
        raise ValidationError({"parent": [_("A category cannot sit below itself.")]})
    return _save_master(category, actor=actor, data=data, fields=CATEGORY_FIELDS)


def _is_below(candidate, category):
    seen = set()
    node = candidate
    while node is not None and node.pk not in seen:
        if node.parent_id == category.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


@transaction.atomic
def create_product(*, actor, data: dict) -> Product:
    return _save_master(Product(), actor=actor, data=data, fields=PRODUCT_FIELDS)


@transaction.atomic
def update_product(product: Product, *, actor, data: dict) -> Product:
    return _save_master(product, actor=actor, data=data, fields=PRODUCT_FIELDS)


@transaction.atomic
def delete_product(product: Product, *, actor):
    """Delete a product nobody ordered yet (one on orders is kept: make it inactive instead)."""
    require_catalogue(actor)
    if product.order_lines.exists():
        raise ValidationError({"non_field_errors": [
            _("This product is on orders; make it inactive instead of deleting it.")]})
    with acting_as(actor):
        product.stock_movements.all().delete()
        product.delete()


@transaction.atomic
def delete_category(category: ProductCategory, *, actor):
    """Delete a category with no products and no sub-categories (the database refuses otherwise)."""
    require_catalogue(actor)
    with acting_as(actor):
        category.delete()


@transaction.atomic
def delete_partner(partner: ChannelPartner, *, actor):
    """Delete a channel partner named on no order (make it inactive instead)."""
    require_catalogue(actor)
    with acting_as(actor):
        partner.delete()


@transaction.atomic
def create_partner(*, actor, data: dict) -> ChannelPartner:
    return _save_master(ChannelPartner(), actor=actor, data=data, fields=PARTNER_FIELDS)


@transaction.atomic
def update_partner(partner: ChannelPartner, *, actor, data: dict) -> ChannelPartner:
    return _save_master(partner, actor=actor, data=data, fields=PARTNER_FIELDS)


@transaction.atomic
def record_stock_movement(product: Product, *, actor, kind, quantity, occurred_on=None, unit_cost=None,
                          reference="") -> StockMovement:
    """Record stock in or out and move ``stock_on_hand`` with it (an atomic ``F()`` update, safe
    against concurrent movements).  Receipts, returns and opening balances take a positive quantity,
    a shipment a positive quantity shipped (stored negative); an adjustment takes either sign."""
    require_catalogue(actor)
    errors = {}
    if kind not in StockMovementKind.values:
        errors["kind"] = [_("Choose one of: %(values)s.") % {"values": ", ".join(StockMovementKind.values)}]
    try:
        quantity = _decimal(quantity, places=3)
        if quantity == 0:
            raise _Invalid(_("The quantity cannot be zero."))
        if kind in STOCK_IN and quantity < 0:
            raise _Invalid(_("Stock coming in takes a positive quantity."))
    except _Invalid as exc:
        errors["quantity"] = [exc.message]
    try:
        unit_cost = _decimal(unit_cost, places=2, minimum=0, required=False)
    except _Invalid as exc:
        errors["unit_cost"] = [exc.message]
    try:
        occurred_on = _date(occurred_on) if occurred_on else timezone.localdate()
        if occurred_on > timezone.localdate():
            raise _Invalid(_("A stock movement cannot be in the future."))
    except _Invalid as exc:
        errors["occurred_on"] = [exc.message]
    if errors:
        raise ValidationError(errors)
    if kind in STOCK_OUT and quantity > 0:
        quantity = -quantity
    quantity = quantity.quantize(Decimal("0.001"))
    unit_cost = money(unit_cost) if unit_cost is not None else None
    movement = StockMovement.objects.create(
        product=product, kind=kind, quantity=quantity, occurred_on=occurred_on, unit_cost=unit_cost,
        reference=(reference or "")[:100], created_by=actor,
    )
    Product.objects.filter(pk=product.pk).update(stock_on_hand=F("stock_on_hand") + quantity)
    product.refresh_from_db(fields=["stock_on_hand"])
    return movement
