"""Products, stock, channel partners and orders: the customer's purchase history (R1.2, R3, R6, R10.3)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import ChangeLoggedModel, CustomFieldsModel, ExternalRefModel
from crm.core.validators import NOTES_MAX_LENGTH, validate_date_range
from crm.core.visibility import RestrictedModel, RestrictedQuerySet

from .choices import REVENUE_STATUSES, OrderStatus, SalesChannel, StockMovementKind

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 3}


class ProductCategory(ChangeLoggedModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=30, unique=True)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Product(ChangeLoggedModel, CustomFieldsModel, ExternalRefModel):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(ProductCategory, verbose_name=_("category"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="products")
    unit = models.CharField(_("unit"), max_length=20, default="个")
    list_price = models.DecimalField(_("list price"), **MONEY, validators=[MinValueValidator(0)])
    standard_cost = models.DecimalField(_("standard cost"), **MONEY, validators=[MinValueValidator(0)])
    active = models.BooleanField(_("active"), default=True)
    # Maintained by stock movements (sum of their quantities).
    stock_on_hand = models.DecimalField(_("stock on hand"), **QUANTITY, default=Decimal("0"), editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]
        indexes = [models.Index(fields=["category", "code"], name="product_category_idx")]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def margin_rate(self):
        if not self.list_price:
            return None
        return (self.list_price - self.standard_cost) / self.list_price


class StockMovement(models.Model):
    """A change of stock on hand; the history lets turnover be computed (R6.2)."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="stock_movements")
    occurred_on = models.DateField(_("date"), validators=[validate_date_range])
    kind = models.CharField(_("kind"), max_length=12, choices=StockMovementKind.choices)
    quantity = models.DecimalField(_("quantity"), **QUANTITY,
                                   help_text=_("Positive for stock in, negative for stock out."))
    unit_cost = models.DecimalField(_("unit cost"), **MONEY, null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["product", "occurred_on"], name="stock_product_date_idx")]

    def __str__(self):
        return f"{self.product_id} {self.occurred_on} {self.quantity}"


class ChannelPartner(ChangeLoggedModel, ExternalRefModel):
    """A dealer or reseller that sells on the company's behalf (R3.6)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("channel partner")
        verbose_name_plural = _("channel partners")
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrderQuerySet(RestrictedQuerySet):
    def revenue(self):
        """Orders that count as revenue: confirmed, delivered or paid (never cancelled or returned)."""
        return self.filter(status__in=REVENUE_STATUSES)


class Order(RestrictedModel, ChangeLoggedModel, ExternalRefModel):
    """An order of a customer.  Visible to whoever may see the customer: the order follows the shared
    customer record when the customer changes hands."""

    owner_path = "customer__owner"
    unit_path = "customer__branch"

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="orders")
    number = models.CharField(_("order number"), max_length=40, blank=True)
    order_date = models.DateField(_("order date"), validators=[validate_date_range])
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices,
                              default=OrderStatus.CONFIRMED)
    channel = models.CharField(_("sales channel"), max_length=10, choices=SalesChannel.choices,
                               default=SalesChannel.DIRECT)
    partner = models.ForeignKey(ChannelPartner, verbose_name=_("channel partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="orders")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sold by"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="sold_orders")
    is_promotion = models.BooleanField(_("promotion or discount applied"), default=False)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # Totals are kept in step with the lines by the order services.
    list_amount = models.DecimalField(_("amount at list price"), **MONEY, default=Decimal("0"))
    discount_amount = models.DecimalField(_("discount"), **MONEY, default=Decimal("0"))
    total_amount = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))
    total_cost = models.DecimalField(_("cost"), **MONEY, default=Decimal("0"))
    gross_margin = models.DecimalField(_("gross margin"), **MONEY, default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True, max_length=NOTES_MAX_LENGTH,
                             validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "-order_date", "-id"], name="order_customer_date_idx"),
            models.Index(fields=["-order_date", "-id"], name="order_date_idx"),
            models.Index(fields=["status", "-order_date"], name="order_status_idx"),
            models.Index(fields=["seller", "-order_date"], name="order_seller_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_ref"], name="order_unique_external_ref",
                                    condition=models.Q(external_ref__isnull=False)),
        ]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self):
        return self.number or (f"SO{self.pk:08d}" if self.pk else "")

    @property
    def counts_as_revenue(self):
        return self.status in REVENUE_STATUSES

    @property
    def margin_rate(self):
        return self.gross_margin / self.total_amount if self.total_amount else None


class OrderLine(models.Model):
    """One product on an order.  Cost is the product's standard cost when the line was written, so
    later price changes do not rewrite history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"), default=1)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="order_lines")
    quantity = models.DecimalField(_("quantity"), **QUANTITY, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = models.DecimalField(_("unit price"), **MONEY, validators=[MinValueValidator(0)])
    discount_rate = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2, default=Decimal("0"),
                                        validators=[MinValueValidator(0), MaxValueValidator(100)])
    unit_cost = models.DecimalField(_("unit cost"), **MONEY, default=Decimal("0"))
    amount = models.DecimalField(_("amount"), **MONEY, default=Decimal("0"))
    cost = models.DecimalField(_("cost"), **MONEY, default=Decimal("0"))
    margin = models.DecimalField(_("gross margin"), **MONEY, default=Decimal("0"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position", "id"]
        indexes = [models.Index(fields=["product", "order"], name="orderline_product_idx")]

    def __str__(self):
        return f"{self.order_id}/{self.position}"
