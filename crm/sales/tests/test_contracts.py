"""Access contracts of the sales pages and endpoints (crm.core.testing): an order follows its customer's
scope; the catalogue is company-wide (view to read, manage settings to change)."""

import pytest

from crm.core.testing import EndpointContract, PageContract
from crm.customers.tests.factories import CustomerFactory
from crm.sales.tests.factories import (
    ChannelPartnerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


class OrderRecord:
    scoped_out = "sh_rep"

    def make_record(self, org):
        order = OrderFactory(customer=CustomerFactory(owner=org.rep, name="订单合约客户"))
        OrderLineFactory(order=order)
        return order

    def shows_record(self, response, record):
        return record.customer.name.encode() in response.content


class GrowOrders(OrderRecord):
    def grow(self, org, record):
        for _ in range(5):
            OrderLineFactory(order=OrderFactory(customer=CustomerFactory(owner=org.rep), seller=org.rep))


class GrowLines(OrderRecord):
    def grow(self, org, record):
        for _ in range(5):
            OrderLineFactory(order=record)


class ProductRecord:
    def make_record(self, org):
        return ProductFactory(name="合约产品")


# --- pages --------------------------------------------------------------------------------------------------

class TestOrderList(GrowOrders, PageContract):
    url_name, list_view, row_attr = "sales:order_list", True, "data-order-id"


class TestOrderDetail(GrowLines, PageContract):
    url_name = "sales:order_detail"


class TestOrderCreate(PageContract):
    """A new order for a customer named in the query string (one outside the scope is not found)."""

    url_name, denied, scoped_out = "sales:order_create", ("viewer", "no_role"), "sh_rep"

    def make_record(self, org):
        return CustomerFactory(owner=org.rep, name="新订单合约客户")

    def url_kwargs(self, record):
        return {}

    def query(self, record):
        return {"customer": record.pk}


class TestOrderEdit(OrderRecord, PageContract):
    url_name, denied = "sales:order_edit", ("viewer",)


class TestOrderLineRow(PageContract):
    url_name, headers = "sales:order_line_row", {"HTTP_HX_REQUEST": "true"}  # a row of the order form


class TestProductList(ProductRecord, PageContract):
    url_name, list_view, row_attr = "sales:product_list", True, "data-product-id"


class TestProductDetail(ProductRecord, PageContract):
    url_name = "sales:product_detail"


class TestProductCreate(PageContract):
    url_name, allowed, denied = "sales:product_create", "admin", ("rep", "viewer", "no_role")


class TestProductEdit(ProductRecord, PageContract):
    url_name, allowed, denied = "sales:product_edit", "admin", ("rep", "viewer", "no_role")


# --- API ----------------------------------------------------------------------------------------------------

class TestOrderListAPI(GrowOrders, EndpointContract):
    url_name, list_view = "api-order-list", True


class TestOrderDetailAPI(GrowLines, EndpointContract):
    url_name = "api-order-detail"


class TestProductListAPI(ProductRecord, EndpointContract):
    url_name, list_view = "api-product-list", True


class TestProductDetailAPI(ProductRecord, EndpointContract):
    url_name = "api-product-detail"


class TestProductCategoryListAPI(EndpointContract):
    url_name, list_view = "api-productcategory-list", True

    def make_record(self, org):
        return ProductCategoryFactory(name="合约类别")


class TestPartnerListAPI(EndpointContract):
    url_name, list_view = "api-partner-list", True

    def make_record(self, org):
        return ChannelPartnerFactory(name="合约经销商")


class TestStockMovementListAPI(EndpointContract):
    url_name = "api-stockmovement-list"


class TestStockMovementCreate(ProductRecord, PageContract):
    """Posting a stock movement needs manage settings (an empty form comes back with its errors)."""

    url_name, method, allowed, denied = "sales:stock_create", "post", "admin", ("rep", "viewer", "no_role")


class TestOrderBulkAPI(EndpointContract):
    """Bulk ingestion checks each order's customer inside (test_api.py); here the gate: create and change."""

    url_name, method, denied = "api-order-bulk", "post", ("viewer", "no_role")

    def data(self, org, record):
        return []
