"""The product catalogue: categories, products, channel partners and stock movements."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.audit import acting_as

from ..choices import StockMovementKind
from ..models import ChannelPartner, Product, ProductCategory, StockMovement
from ..permissions import require_catalogue
from .money import money
from .rules import Invalid, date_value, decimal_value

# Stock movement kinds whose quantity has a fixed direction; an adjustment takes either sign.
STOCK_IN = {StockMovementKind.OPENING, StockMovementKind.RECEIPT, StockMovementKind.RETURN}
STOCK_OUT = {StockMovementKind.SHIPMENT}


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
        quantity = decimal_value(quantity, places=3)
        if quantity == 0:
            raise Invalid(_("The quantity cannot be zero."))
        if kind in STOCK_IN and quantity < 0:
            raise Invalid(_("Stock coming in takes a positive quantity."))
    except Invalid as exc:
        errors["quantity"] = [exc.message]
    try:
        unit_cost = decimal_value(unit_cost, places=2, minimum=0, required=False)
    except Invalid as exc:
        errors["unit_cost"] = [exc.message]
    try:
        occurred_on = date_value(occurred_on) if occurred_on else timezone.localdate()
        if occurred_on > timezone.localdate():
            raise Invalid(_("A stock movement cannot be in the future."))
    except Invalid as exc:
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
