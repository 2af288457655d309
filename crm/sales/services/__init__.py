"""Verbs of the sales app, by job.

* :mod:`.catalogue` — product categories, products, channel partners, stock movements;
* :mod:`.orders` — one order at a time: create, update, change status, delete (page and API);
* :mod:`.ingestion` — cleaning an order payload, the batch engine, upsert by external reference, bulk;
* :mod:`.rules` — the rules of an order's fields, shared by the cleaning code and the API serializers;
* :mod:`.money` — line and order arithmetic.

Pages, the API, imports and the demo generator call the verbs re-exported here.  Every verb takes the
acting user, checks the role's right, works only on customers the actor can see, and writes in one
transaction.
"""

from .catalogue import (
    CATEGORY_FIELDS,
    PARTNER_FIELDS,
    PRODUCT_FIELDS,
    create_partner,
    create_product,
    delete_category,
    delete_partner,
    delete_product,
    record_stock_movement,
    save_category,
    update_partner,
    update_product,
)
from .ingestion import (
    CREATED,
    ERROR,
    UNCHANGED,
    UPDATED,
    OrderResult,
    bulk_max_orders,
    bulk_upsert_orders,
    upsert_order,
)
from .money import LineTotals, gross_amount, line_totals, money, order_totals
from .orders import (
    REASON_REQUIRED,
    STATUS_TRANSITIONS,
    create_order,
    delete_order,
    order_payload,
    set_order_status,
    update_order,
)
from .rules import MAX_LINES_PER_ORDER, OrderInvalid

__all__ = [
    "CATEGORY_FIELDS", "CREATED", "ERROR", "MAX_LINES_PER_ORDER", "PARTNER_FIELDS", "PRODUCT_FIELDS",
    "REASON_REQUIRED", "STATUS_TRANSITIONS", "UNCHANGED", "UPDATED", "LineTotals", "OrderInvalid",
    "OrderResult", "bulk_max_orders", "bulk_upsert_orders", "create_order", "create_partner",
    "create_product", "delete_category", "delete_order", "delete_partner", "delete_product",
    "gross_amount", "line_totals", "money", "order_payload", "order_totals", "record_stock_movement",
    "save_category", "set_order_status", "update_order", "update_partner", "update_product", "upsert_order",
]
