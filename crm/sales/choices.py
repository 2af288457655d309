from django.db import models
from django.utils.translation import gettext_lazy as _

# The kind of timeline event the sales app contributes (registered in apps.py).
ORDER_EVENT = "order"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    CONFIRMED = "confirmed", _("confirmed")
    DELIVERED = "delivered", _("delivered")
    PAID = "paid", _("paid")
    CANCELLED = "cancelled", _("cancelled")
    RETURNED = "returned", _("returned")


# Only these count as revenue anywhere (reports, analytics, timelines' totals).  Drafts are not yet
# sales; cancelled and returned orders never were.
REVENUE_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.DELIVERED, OrderStatus.PAID)


class SalesChannel(models.TextChoices):
    DIRECT = "direct", _("direct sales")
    DEALER = "dealer", _("dealer / channel partner")
    ONLINE = "online", _("online")
    PHONE = "phone", _("phone")


class StockMovementKind(models.TextChoices):
    OPENING = "opening", _("opening balance")
    RECEIPT = "receipt", _("goods received")
    SHIPMENT = "shipment", _("goods shipped")
    RETURN = "return", _("customer return")
    ADJUSTMENT = "adjustment", _("stock-take adjustment")
