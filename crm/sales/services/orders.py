"""One order at a time: create, update, change status, delete — the verbs of the order page and the API.

Creating and updating clean the order with the same rules and the same cleaning code as bulk
ingestion (:func:`.ingestion.clean_order`); only the bulk path's batching differs."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.audit import acting_as
from crm.core.permissions import require
from crm.customers.models import Customer

from ..choices import OrderStatus
from ..models import Order
from ..permissions import ADD_ORDER, CHANGE_ORDER, DELETE_ORDER, order_is_deletable
from .ingestion import (
    Lookups,
    Writes,
    clean_order,
    order_event,
    order_unchanged,
    raise_for_error,
    run_batch,
    stored_lines,
    update_one,
)
from .rules import TEXT_LIMITS, Invalid, OrderInvalid, ref_taken, ref_value, text_value

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


def _ensure_customer_visible(actor, customer):
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


def _ensure_order_visible(actor, order):
    if not Order.objects.visible_to(actor).filter(pk=order.pk).exists():
        raise PermissionDenied(_("This record is outside your access."))


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
    it (``customer`` id or ``customer_ref``); ``data`` holds the order's fields (the payload of
    :mod:`.ingestion`) and ``lines`` its lines (default ``data["lines"]``).  Totals are computed here."""
    require(actor, ADD_ORDER)
    payload = {**data, "lines": lines if lines is not None else data.get("lines")}
    if customer is not None:
        _ensure_customer_visible(actor, customer)
        payload.update(customer=customer.pk, customer_ref=None)
    ref = ref_value(payload.get("external_ref"))
    if ref and Order.objects.filter(external_ref=ref).exists():
        raise OrderInvalid({"external_ref": [ref_taken()]})
    result = raise_for_error(run_batch(actor=actor, items=[(0, payload)], source=source, require_ref=False)[0])
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
        reason = text_value(reason, TEXT_LIMITS["reason"])
    except Invalid as exc:
        raise OrderInvalid({"reason": [exc.message]}) from None
    new_status = payload.get("status")
    if isinstance(new_status, str) and new_status != order.status and new_status in REASON_REQUIRED and not reason:
        raise OrderInvalid({"reason": [_("Give a reason to cancel or return an order.")]})
    ref = ref_value(payload.get("external_ref"))
    if ref and ref != order.external_ref and Order.objects.filter(external_ref=ref).exists():
        raise OrderInvalid({"external_ref": [ref_taken()]})
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        clean = clean_order(payload, Lookups.load(actor, [payload]), today=timezone.localdate())
        if order_unchanged(locked, clean, stored_lines([locked.pk]).get(locked.pk, [])):
            return locked
        locked._status_reason = reason
        with acting_as(actor, source=source):
            writes = Writes()
            update_one(locked, clean, actor=actor, writes=writes, now=timezone.now())
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
        order._status_reason = reason[:TEXT_LIMITS["reason"]]
        writes = Writes()
        writes.events.append(order_event(order, actor=actor, now=now, created=False))
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
