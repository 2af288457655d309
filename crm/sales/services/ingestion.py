"""Order ingestion: the one cleaning path of an order payload and the batch engine that stores orders.

Every way an order arrives (page, ``POST /api/orders/``, upsert by external reference, bulk) is
cleaned by :func:`clean_order`, which applies the field rules of :mod:`.rules` and turns a payload
into typed values or into errors by field.  A payload is a dict::

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
* Totals are computed here, never taken from the caller (:func:`.money.order_totals`).
* A customer the actor cannot see answers "customer not found" (nothing about it is revealed).

What a payload refers to (customers, products, partners, sellers, existing orders) is looked up by
hand-written queries, one each per batch (:class:`Lookups`), not per field as a serializer would.
Bulk ingestion (:func:`bulk_upsert_orders`) inserts orders and lines in bulk and writes the audit
entries, timeline events and last-activity dates in bulk too.  Should the bulk write hit a database
error (another request inserting the same reference at the same moment), the batch is written again
order by order, each in its own savepoint, and a reference that now exists turns into an update: one
bad order never loses the good ones.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.activities.services import record_events
from crm.core import audit
from crm.core.audit import acting_as
from crm.core.choices import AuditAction
from crm.core.permissions import has_any, require
from crm.core.permissions import label as permission_label
from crm.customers.models import Customer
from crm.customers.services import touch_activity

from ..choices import ORDER_EVENT, OrderStatus, SalesChannel
from ..models import ChannelPartner, Order, OrderLine, Product
from ..permissions import ADD_ORDER, CHANGE_ORDER, can_add_order, can_change_order
from .money import QUANTUM, line_totals, money, order_totals
from .rules import (
    DEFAULT_CHANNEL,
    DEFAULT_STATUS,
    LINE_NUMBERS,
    MAX_LINES_PER_ORDER,
    TEXT_LIMITS,
    Invalid,
    OrderInvalid,
    choice_value,
    currency_value,
    date_value,
    decimal_value,
    int_id,
    ref_taken,
    ref_value,
    text_value,
)

# Most orders one bulk request may carry; CRM_ORDER_BULK_MAX in the settings overrides it.
BULK_MAX_ORDERS = 5000


def bulk_max_orders() -> int:
    return int(getattr(settings, "CRM_ORDER_BULK_MAX", BULK_MAX_ORDERS))


@dataclass
class _ProductRow:
    id: int
    code: str
    list_price: Decimal
    standard_cost: Decimal


@dataclass
class Lookups:
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
    pk = int_id(value)
    if pk is not None:
        ids.add(pk)
    ref = ref_value(ref)
    if ref is not None:
        refs.add(ref)


def _resolve(payload, name, ref_key, known_ids, known_refs, *, required, missing):
    """``(id, None)`` for a reference given by id (``name``) or by its other key (``ref_key``), or
    ``(None, {key: [message]})`` naming the key that was sent (``{}`` when an optional one is absent)."""
    value, ref = payload.get(name), payload.get(ref_key)
    if value not in (None, ""):
        pk = int_id(value)
        if pk is None or pk not in known_ids:
            return None, {name: [missing]}
        return pk, None
    if ref not in (None, ""):
        if not isinstance(ref, str):
            return None, {ref_key: [_("Enter text.")]}
        pk = known_refs.get(ref_value(ref))
        return (pk, None) if pk is not None else (None, {ref_key: [missing]})
    return None, ({name: [_("This field is required.")]} if required else {})


# --- cleaning one order -----------------------------------------------------------------------------

@dataclass
class CleanOrder:
    fields: dict      # Order attribute values (``customer_id``, …, totals)
    lines: list       # dicts of OrderLine attribute values
    external_ref: str | None


def clean_order(payload, lk: Lookups, *, today, defaults=None) -> CleanOrder:
    """Typed order values from a payload, or :class:`OrderInvalid` with every error by field."""
    if not isinstance(payload, dict):
        raise OrderInvalid({"non_field_errors": [_("Each order must be a JSON object.")]})
    data = {**(defaults or {}), **payload}
    errors: dict = {}
    values: dict = {}

    def check(name, fn):
        try:
            values[name] = fn()
        except Invalid as exc:
            errors[name] = [exc.message]

    customer_id, error = _resolve(data, "customer", "customer_ref", lk.customers, lk.customer_refs,
                                  required=True, missing=_("customer not found"))
    errors.update(error or {})
    values["customer_id"] = customer_id

    def order_date():
        if data.get("order_date") in (None, ""):
            raise Invalid(_("This field is required."))
        day = date_value(data.get("order_date"))
        limit = settings.CRM_ORDER_MAX_FUTURE_DAYS
        if day > today + datetime.timedelta(days=limit):
            raise Invalid(_("The order date is more than %(days)d days in the future.") % {"days": limit})
        if day.year < 1900:
            raise Invalid(_("Enter a valid date (YYYY-MM-DD)."))
        return day

    check("order_date", order_date)
    check("status", lambda: choice_value(data.get("status") or DEFAULT_STATUS, OrderStatus))
    check("channel", lambda: choice_value(data.get("channel") or DEFAULT_CHANNEL, SalesChannel))
    check("number", lambda: text_value(data.get("number"), TEXT_LIMITS["number"]))
    check("notes", lambda: text_value(data.get("notes"), TEXT_LIMITS["notes"], multiline=True))
    check("currency", lambda: currency_value(data.get("currency")))

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
        ref = text_value(ref, TEXT_LIMITS["external_ref"]) or None
    except Invalid as exc:
        errors["external_ref"] = [exc.message]
    if errors:
        raise OrderInvalid(errors)

    values["is_promotion"] = (promotion if isinstance(promotion, bool)
                              else any(line["discount_rate"] > 0 for line in lines))
    values.update(order_totals(lines))
    return CleanOrder(fields=values, lines=lines, external_ref=ref)


# The line rules as keyword arguments, built once: the loop below runs for every line of a batch.
_LINE_NUMBER_ARGUMENTS = tuple((name, rule.arguments()) for name, rule in LINE_NUMBERS.items())


def _clean_lines(raw, lk: Lookups):
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
        for name, arguments in _LINE_NUMBER_ARGUMENTS:
            try:
                values[name] = decimal_value(line.get(name), **arguments)
            except Invalid as exc:
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


def order_unchanged(order: Order, clean: CleanOrder, existing_lines) -> bool:
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
class Writes:
    """What a batch writes besides orders and lines, collected and then written in bulk."""

    audit: list = field(default_factory=list)
    events: list = field(default_factory=list)
    touched: dict = field(default_factory=dict)

    def created(self, order, *, actor, now):
        self.audit.append((order.pk, order, audit.created_changes(audit.snapshot(order)), AuditAction.CREATE))
        self.events.append(order_event(order, actor=actor, now=now, created=True))
        self._touch(order, now)

    def updated(self, order, before, *, actor, now, status_before):
        changes = audit.updated_changes(before, audit.snapshot(order))
        if changes:
            self.audit.append((order.pk, order, changes, AuditAction.UPDATE))
        if status_before != order.status:
            self.events.append(order_event(order, actor=actor, now=now, created=False))
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


def order_event(order, *, actor, now, created):
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


def _new_order(clean: CleanOrder, *, actor):
    order = Order(external_ref=clean.external_ref, created_by=actor if getattr(actor, "pk", None) else None,
                  **clean.fields)
    return order


def _line_rows(order, clean: CleanOrder):
    return [{**line, "order_id": order.pk} for line in clean.lines]


def _apply(order, clean: CleanOrder, now):
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


def update_one(order, clean, *, actor, writes, now):
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


def stored_lines(order_ids):
    lines: dict = {}
    if not order_ids:
        return lines
    rows = (OrderLine.objects.filter(order_id__in=order_ids).order_by("order_id", "position", "id")
            .values("order_id", *LINE_KEY_FIELDS))
    for row in rows:
        lines.setdefault(row["order_id"], []).append(row)
    return lines


def run_batch(*, actor, items, source, require_ref):
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
            ref = text_value(payload.get("external_ref"), TEXT_LIMITS["external_ref"]) or None
        except Invalid as exc:
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
    lk = Lookups.load(actor, [p for _i, p in pending],
                       extra_customer_ids={o.customer_id for o in existing.values()})
    existing_lines = stored_lines([o.pk for o in existing.values() if o.customer_id in lk.customers])
    can_create, can_change = can_add_order(actor), can_change_order(actor)

    creates, updates = [], []
    for index, payload in pending:
        ref = refs.get(index)
        order = existing.get(ref) if ref else None
        try:
            if order is not None and order.customer_id not in lk.customers:
                raise OrderInvalid({"external_ref": [ref_taken()]})
            clean = clean_order(payload, lk, today=today)
        except OrderInvalid as exc:
            results[index] = OrderResult(index, ref, ERROR, errors=exc.errors)
            continue
        if order is None:
            if not can_create:
                results[index] = OrderResult(index, ref, ERROR, errors=role_error(ADD_ORDER))
                continue
            creates.append((index, clean))
        elif order_unchanged(order, clean, existing_lines.get(order.pk, [])):
            results[index] = OrderResult(index, ref, UNCHANGED, id=order.pk, order=order)
        elif not can_change:
            results[index] = OrderResult(index, ref, ERROR, errors=role_error(CHANGE_ORDER))
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


def role_error(code):
    return {"non_field_errors": [_("Your role does not allow: %(action)s.") % {"action": permission_label(code)}]}


def _write_bulk(creates, updates, *, actor, now):
    writes = Writes()
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
    writes = Writes()
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
                            update_one(order, clean, actor=actor, writes=writes, now=now)
                            status = UPDATED
                    else:
                        order = Order.objects.select_for_update().get(pk=order.pk)
                        update_one(order, clean, actor=actor, writes=writes, now=now)
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
        raise OrderInvalid({"external_ref": [ref_taken()]})
    if not can_change_order(actor):
        raise PermissionDenied(role_error(CHANGE_ORDER)["non_field_errors"][0])
    return order


def _require_any(actor, *codes):
    if not has_any(actor, *codes):
        require(actor, codes[0])


def raise_for_error(result: OrderResult):
    """``result`` itself, or :class:`OrderInvalid` with its errors when the order was refused."""
    if result.status == ERROR:
        raise OrderInvalid(result.errors)
    return result


# --- the verbs of ingestion ---------------------------------------------------------------------------

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
    return raise_for_error(run_batch(actor=actor, items=[(0, payload)], source=source, require_ref=True)[0])


def bulk_upsert_orders(*, actor, payloads: list, source="api") -> list[OrderResult]:
    """Upsert many orders by external reference; one :class:`OrderResult` per payload, in order.

    Each payload is validated alone: the good ones are stored (each with its lines, atomically), the
    bad ones reported with their errors by field."""
    _require_any(actor, ADD_ORDER, CHANGE_ORDER)
    limit = bulk_max_orders()
    if len(payloads) > limit:
        raise ValidationError({"non_field_errors": [
            _("At most %(n)d orders per request.") % {"n": limit}]})
    return run_batch(actor=actor, items=list(enumerate(payloads)), source=source, require_ref=True)

