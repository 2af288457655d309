"""Serializers of the sales API.  Reads are plain model serializers; order writes are validated by
the order services (one validation path for pages, API and bulk ingestion).  The order write
serializers below describe the request body for the OpenAPI schema; their field definitions are built
from the services' field rules (``crm.sales.services.rules``), so a rule is written once.  For the
catalogue models they check formats."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.core.api import CustomFieldsField, DateField

from ..choices import OrderStatus, SalesChannel
from ..models import ChannelPartner, Order, OrderLine, Product, ProductCategory, StockMovement
from ..services import CATEGORY_FIELDS, PARTNER_FIELDS, PRODUCT_FIELDS
from ..services.rules import DEFAULT_CHANNEL, DEFAULT_CURRENCY, DEFAULT_STATUS, LINE_NUMBERS, TEXT_LIMITS

# A rate as the API returns it: a decimal string with four places (DRF's decimal convention), null when
# the base is 0.
RATE_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{4}$", "nullable": True}


class ProductCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductCategory
        fields = ["id", *CATEGORY_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is checked by the service (full_clean), so both paths give the same message.
        extra_kwargs = {"code": {"validators": []}}


class ProductSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    margin_rate = serializers.SerializerMethodField(
        help_text="(list price − standard cost) / list price; null when the list price is 0.")
    custom_fields = CustomFieldsField(read_only=True)

    class Meta:
        model = Product
        fields = ["id", *PRODUCT_FIELDS, "category_name", "margin_rate", "stock_on_hand", "custom_fields",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "stock_on_hand", "created_at", "updated_at"]
        extra_kwargs = {"code": {"validators": []}}

    @extend_schema_field(RATE_SCHEMA)
    def get_margin_rate(self, obj):
        rate = obj.margin_rate
        return None if rate is None else f"{rate:.4f}"


class ChannelPartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelPartner
        fields = ["id", *PARTNER_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}


class StockMovementSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    quantity = serializers.CharField(
        help_text="Receipts, returns and opening balances: a positive quantity.  Shipments: the quantity "
                  "shipped (stored negative).  Adjustments: positive or negative.")
    unit_cost = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    occurred_on = DateField(required=False, help_text="Defaults to today.")

    class Meta:
        model = StockMovement
        fields = ["id", "product", "product_code", "occurred_on", "kind", "quantity", "unit_cost", "reference",
                  "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["quantity"] = str(instance.quantity)
        data["unit_cost"] = None if instance.unit_cost is None else str(instance.unit_cost)
        return data


class OrderLineSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "position", "product", "product_code", "product_name", "quantity", "unit_price",
                  "discount_rate", "unit_cost", "amount", "cost", "margin"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    display_number = serializers.CharField(read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    partner_name = serializers.CharField(source="partner.name", read_only=True, allow_null=True)
    seller_name = serializers.CharField(source="seller.display_name", read_only=True, allow_null=True)
    margin_rate = serializers.SerializerMethodField(help_text="gross margin / total; null when the total is 0.")
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "number", "display_number", "external_ref", "customer", "customer_name", "order_date",
            "status", "channel", "partner", "partner_name", "seller", "seller_name", "is_promotion", "currency",
            "list_amount", "discount_amount", "total_amount", "total_cost", "gross_margin", "margin_rate",
            "notes", "lines", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RATE_SCHEMA)
    def get_margin_rate(self, obj):
        rate = obj.margin_rate
        return None if rate is None else f"{rate:.4f}"


# --- request bodies of the order writes (documentation; the services validate) ---------------------

def _number_field(name, **kwargs):
    """A decimal field of an order line as :data:`LINE_NUMBERS` defines it for the services."""
    rule = LINE_NUMBERS[name]
    return serializers.DecimalField(max_digits=rule.digits, decimal_places=rule.places, required=rule.required,
                                    min_value=rule.smallest, max_value=rule.maximum, **kwargs)


class OrderLineWriteSerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False, help_text="Product id (or give product_code).")
    product_code = serializers.CharField(required=False, help_text="Product code (or give product).")
    required_one_of = (("product", "product_code"),)

    quantity = _number_field("quantity", help_text="Greater than 0.")
    unit_price = _number_field("unit_price",
                               help_text="At most two decimals; defaults to the product's list price.")
    discount_rate = _number_field("discount_rate", help_text="Percent, 0–100, at most two decimals; default 0.")
    unit_cost = _number_field("unit_cost", help_text="Defaults to the product's standard cost (a snapshot).")


@extend_schema_field(serializers.ChoiceField(choices=OrderStatus.choices))
class OrderStatusText(serializers.CharField):
    """An order status in a request body, checked by the services; an inline enum in the schema, so that
    the one OrderStatusEnum component stays the Order's."""


class OrderWriteSerializer(serializers.Serializer):
    external_ref = serializers.CharField(
        required=False, max_length=TEXT_LIMITS["external_ref"],
        help_text="The order's reference in the back-office system: required in bulk, taken from the URL "
                  "by PUT /api/orders/by-ref/{external_ref}/.")
    customer = serializers.IntegerField(required=False, help_text="Customer id (or give customer_ref).")
    customer_ref = serializers.CharField(required=False, help_text="The customer's external_ref.")
    order_date = DateField(
        help_text="At most CRM_ORDER_MAX_FUTURE_DAYS days in the future.")
    status = OrderStatusText(required=False, default=DEFAULT_STATUS)
    channel = serializers.ChoiceField(choices=SalesChannel.choices, required=False, default=DEFAULT_CHANNEL)
    partner = serializers.IntegerField(required=False, allow_null=True,
                                       help_text="Channel partner id (dealer orders only), or give partner_ref.")
    partner_ref = serializers.CharField(required=False, help_text="The channel partner's external_ref.")
    seller = serializers.IntegerField(required=False, allow_null=True, help_text="User id (or seller_username).")
    seller_username = serializers.CharField(required=False)
    number = serializers.CharField(required=False, max_length=TEXT_LIMITS["number"], allow_blank=True)
    is_promotion = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="Left out or null: true when any line has a discount.")
    currency = serializers.CharField(required=False, min_length=3, max_length=3, default=DEFAULT_CURRENCY)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_LIMITS["notes"])
    reason = serializers.CharField(required=False, max_length=TEXT_LIMITS["reason"],
                                   help_text="Updates only: why an order is cancelled or returned.")
    lines = OrderLineWriteSerializer(many=True, min_length=1, help_text="At least one line.")


class OrderCreateSerializer(OrderWriteSerializer):
    """A new order names its customer by id or by external_ref."""

    required_one_of = (("customer", "customer_ref"),)


class OrderStatusSerializer(serializers.Serializer):
    status = OrderStatusText()
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Required to cancel or return an order.")


class BulkOrderResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the order in the request, from 0.")
    external_ref = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="created, updated, unchanged (already as sent: nothing written) or error.")
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="Only for status error: {field: [messages]}, lines as [{field: [messages]}, …].")


class BulkOrderResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = BulkOrderResultSerializer(many=True)

