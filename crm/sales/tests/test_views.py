"""The server-rendered sales pages: access, scope, the order editor, status changes and query counts."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.customers.tests.factories import CustomerFactory
from crm.sales import services
from crm.sales.models import Order, Product, StockMovement
from crm.sales.queries import order_summary
from crm.sales.tests.factories import ProductCategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"sales:{name}", args=args)


def login(client, user):
    client.force_login(user)
    return client


def today():
    return timezone.localdate()


@pytest.fixture
def products(db):
    bearings = ProductCategoryFactory(code="BRG", name="轴承")
    return [
        ProductFactory(code="BRG-6204", name="深沟球轴承", category=bearings, list_price=Decimal("120.00"),
                       standard_cost=Decimal("70.00")),
        ProductFactory(code="GLV-01", name="劳保手套", list_price=Decimal("39.99"), standard_cost=Decimal("25.50")),
        ProductFactory(code="OLD-1", name="停产品", active=False),
    ]


def order_post(customer=None, lines=(), **fields):
    data = {"order_date": today().isoformat(), "status": "confirmed", "channel": "direct", "partner": "",
            "seller": "", "number": "", "is_promotion": "", "notes": "",
            "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000"}
    for i, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    data.update(fields)
    return data


# --- access -----------------------------------------------------------------------------------------

def test_roles(client, org, products):
    login(client, org.no_role)
    assert client.get(url("order_list")).status_code == 403
    login(client, org.rep)
    assert client.get(url("product_list")).status_code == 200
    assert client.get(url("product_create")).status_code == 403
    assert client.post(url("stock_create", products[0].pk), {"kind": "receipt", "quantity": "5",
                                                             "occurred_on": today().isoformat()}).status_code == 403
    login(client, org.viewer)
    customer = CustomerFactory(owner=org.rep)
    assert client.get(url("order_create") + f"?customer={customer.pk}").status_code == 403


def test_out_of_scope_orders_and_customers_are_404(client, org, products):
    hidden_customer = CustomerFactory(owner=org.teammate)
    hidden = services.create_order(actor=org.teammate, customer=hidden_customer, data={"order_date": today()},
                                   lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.rep)
    assert client.get(url("order_create") + f"?customer={hidden_customer.pk}").status_code == 404
    assert client.get(url("order_create")).status_code == 404
    for name in ("order_detail", "order_edit"):
        assert client.get(url(name, hidden.pk)).status_code == 404
    assert client.post(url("order_status", hidden.pk), {"status": "cancelled", "reason": "x"}).status_code == 404
    assert client.post(url("order_edit", hidden.pk), order_post(notes="tampered")).status_code == 404
    response = client.get(url("order_list"))
    assert hidden.display_number not in response.content.decode()
    hidden.refresh_from_db()
    assert hidden.status == "confirmed" and hidden.notes == ""


# --- products ---------------------------------------------------------------------------------------

def test_product_list_search_and_filters(client, org, products):
    login(client, org.rep)
    page = client.get(url("product_list")).content.decode()
    assert "BRG-6204" in page and "GLV-01" in page and 'data-testid="product-row"' in page
    found = client.get(url("product_list"), {"q": "BRG"}).content.decode()
    assert "BRG-6204" in found and "GLV-01" not in found
    assert "GLV-01" in client.get(url("product_list"), {"q": "手套"}).content.decode()
    by_category = client.get(url("product_list"), {"category": products[0].category_id}).content.decode()
    assert "BRG-6204" in by_category and "GLV-01" not in by_category
    inactive = client.get(url("product_list"), {"active": "false"}, **HTMX)
    assert "OLD-1" in inactive.content.decode() and "<html" not in inactive.content.decode()


def test_product_create_edit_and_stock(client, org, products):
    login(client, org.ceo)
    response = client.post(url("product_create"), {"code": "NEW-9", "name": "新品", "unit": "件",
                                                   "list_price": "80.00", "standard_cost": "50.00", "active": "on"})
    product = Product.objects.get(code="NEW-9")
    assert response.status_code == 302 and response["Location"] == url("product_detail", product.pk)
    bad = client.post(url("product_edit", product.pk), {"code": "NEW-9", "name": "新品", "unit": "件",
                                                        "list_price": "80.123", "standard_cost": "50.00"})
    assert bad.status_code == 200 and "80.123" in bad.content.decode()
    assert 'data-testid="error-list_price"' in bad.content.decode()
    detail = client.get(url("product_detail", product.pk)).content.decode()
    assert 'data-testid="product-margin">37.5%' in detail
    client.post(url("stock_create", product.pk), {"kind": "receipt", "quantity": "12", "reference": "入库单1",
                                                  "occurred_on": today().isoformat()})
    refused = client.post(url("stock_create", product.pk), {"kind": "receipt", "quantity": "-3",
                                                            "occurred_on": today().isoformat()})
    assert "Stock coming in takes a positive quantity." in refused.content.decode()
    product.refresh_from_db()
    assert product.stock_on_hand == Decimal("12.000") and StockMovement.objects.count() == 1


# --- the order editor -----------------------------------------------------------------------------

def test_new_order_form_has_a_line_row(client, org, products):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    page = client.get(url("order_create") + f"?customer={customer.pk}").content.decode()
    for testid in ("order-line-row", "add-line", "line-product", "line-quantity", "line-price", "line-discount",
                   "order-save"):
        assert f'data-testid="{testid}"' in page, testid
    assert "OLD-1" not in page  # inactive products are not offered
    assert "<script>" not in page and " style=" not in page  # CSP: no inline script or style


def test_add_line_row_returns_the_next_row_and_moves_the_count(client, org, products):
    login(client, org.rep)
    response = client.get(url("order_line_row"), {"lines-TOTAL_FORMS": "2"}, **HTMX)
    html = response.content.decode()
    assert 'name="lines-2-product"' in html and 'name="lines-2-quantity"' in html
    assert 'id="id_lines-TOTAL_FORMS" hx-swap-oob="true"' in html and 'value="3"' in html


def test_record_an_order_with_two_lines_and_see_the_margin(client, org, products):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    lines = [{"product": str(products[0].pk), "quantity": "3", "discount_rate": "10"},
             {"product_code": "GLV-01", "quantity": "2.5"},
             {}]  # an untouched row is skipped
    response = client.post(url("order_create") + f"?customer={customer.pk}", order_post(lines=lines))
    order = Order.objects.get(customer=customer)
    assert response.status_code == 302 and response["Location"] == url("order_detail", order.pk)
    assert order.seller is None and order.lines.count() == 2
    page = client.get(url("order_detail", order.pk)).content.decode()
    assert 'data-testid="order-total">423.98' in page
    assert 'data-testid="order-margin">150.23' in page
    assert 'data-testid="order-margin-rate">35.4%' in page
    assert 'data-testid="line-margin">114.00' in page and 'data-testid="line-margin">36.23' in page


def test_bad_lines_show_their_errors_and_keep_what_was_typed(client, org, products, settings):
    settings.CRM_ORDER_MAX_FUTURE_DAYS = 5
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    lines = [{"product_code": "NOPE-1", "quantity": "2"},
             {"product": str(products[0].pk), "quantity": "-4", "unit_price": "9.999", "discount_rate": "3"}]
    future = (today().replace(year=today().year + 1)).isoformat()
    response = client.post(url("order_create") + f"?customer={customer.pk}",
                           order_post(lines=lines, order_date=future, notes="务必周五前送到"))
    html = response.content.decode()
    assert response.status_code == 200
    assert not Order.objects.exists()
    assert "Unknown product: NOPE-1." in html
    assert "Must be greater than zero." in html and "Use at most 2 decimal places." in html
    assert "The order date is more than 5 days in the future." in html
    for typed in ('value="NOPE-1"', 'value="-4"', 'value="9.999"', f'value="{future}"', "务必周五前送到"):
        assert typed in html, typed
    assert 'data-testid="line-error-quantity"' in html


def test_edit_order_keeps_unit_cost_and_replaces_lines(client, org, products):
    customer = CustomerFactory(owner=org.rep)
    order = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": products[0].pk, "quantity": 1}])
    Product.objects.filter(pk=products[0].pk).update(standard_cost=Decimal("99.00"))
    login(client, org.rep)
    form = client.get(url("order_edit", order.pk)).content.decode()
    assert 'value="70.00"' in form  # the recorded cost travels with the row
    lines = [{"product": str(products[0].pk), "quantity": "2", "unit_price": "120.00", "unit_cost": "70.00",
              "cost_for": str(products[0].pk)}]
    data = order_post(lines=lines, **{"lines-INITIAL_FORMS": "1"})
    data.pop("status")
    response = client.post(url("order_edit", order.pk), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.total_amount, order.total_cost) == (Decimal("240.00"), Decimal("140.00"))


def test_status_change_needs_a_reason_to_cancel(client, org, products):
    customer = CustomerFactory(owner=org.rep)
    order = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.rep)
    refused = client.post(url("order_status", order.pk), {"status": "cancelled", "reason": ""})
    assert "Give a reason to cancel or return an order." in refused.content.decode()
    client.post(url("order_status", order.pk), {"status": "cancelled", "reason": "客户取消"})
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert 'data-testid="order-not-revenue"' in client.get(url("order_detail", order.pk)).content.decode()


def test_delete_draft(client, org, products):
    customer = CustomerFactory(owner=org.manager)
    draft = services.create_order(actor=org.manager, customer=customer, data={"order_date": today(),
                                                                              "status": "draft"},
                                  lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.manager)
    assert 'data-testid="order-delete"' in client.get(url("order_detail", draft.pk)).content.decode()
    response = client.post(url("order_delete", draft.pk))
    assert response.status_code == 302 and not Order.objects.exists()


def test_a_confirmed_order_cannot_be_deleted_from_its_page(client, org, products):
    customer = CustomerFactory(owner=org.manager)
    confirmed = services.create_order(actor=org.manager, customer=customer, data={"order_date": today()},
                                      lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.manager)
    assert 'data-testid="order-delete"' not in client.get(url("order_detail", confirmed.pk)).content.decode()
    response = client.post(url("order_delete", confirmed.pk), follow=True)
    assert response.redirect_chain == [(url("order_detail", confirmed.pk), 302)]
    assert "Only draft orders can be deleted; cancel the order instead." in response.content.decode()
    assert list(Order.objects.all()) == [confirmed]


# --- list, partial and query counts ---------------------------------------------------------------

def test_order_list_filters(client, org, products):
    a = CustomerFactory(owner=org.rep, name="北京星通科技有限公司")
    b = CustomerFactory(owner=org.rep, name="上海明达贸易有限公司")
    services.create_order(actor=org.rep, customer=a, data={"order_date": today()},
                          lines=[{"product": products[0].pk, "quantity": 1}])
    services.create_order(actor=org.rep, customer=b, data={"order_date": today(), "status": "draft",
                                                           "channel": "online"},
                          lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.rep)

    def customers(**params):
        html = client.get(url("order_list"), params, **HTMX).content.decode()
        return {name for name in (a.name, b.name) if name in html}

    assert customers() == {a.name, b.name}
    assert customers(q="星通") == {a.name}
    assert customers(q="shmd") == {b.name}
    assert customers(status="draft") == {b.name}
    assert customers(channel="online") == {b.name}
    assert customers(customer=a.pk) == {a.name}
    assert customers(date_from=(today().replace(year=today().year + 1)).isoformat()) == set()


def _export(client, **params):
    response = client.get(url("order_export"), params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_order_export_has_the_lists_filters_and_scope(client, org, products):
    a = CustomerFactory(owner=org.rep, name="北京星通科技有限公司")
    b = CustomerFactory(owner=org.rep, name="=上海明达")
    services.create_order(actor=org.rep, customer=a, data={"order_date": today()},
                          lines=[{"product": products[0].pk, "quantity": 2}])
    services.create_order(actor=org.rep, customer=b, data={"order_date": today(), "status": "draft"},
                          lines=[{"product": products[1].pk, "quantity": 1}])
    services.create_order(actor=org.sh_rep, customer=CustomerFactory(owner=org.sh_rep),
                          data={"order_date": today()}, lines=[{"product": products[0].pk, "quantity": 1}])
    login(client, org.rep)
    assert 'data-testid="order-export"' in client.get(url("order_list")).content.decode()
    rows = _export(client)
    header = rows[0]
    assert header[:3] == ["ID", "Order", "Date"] and "Customer" in header and "Margin rate" in header
    name = header.index("Customer")
    assert sorted(r[name] for r in rows[1:]) == ["'=上海明达", a.name]  # scope, and no spreadsheet formulas
    assert [r[name] for r in _export(client, status="draft")[1:]] == ["'=上海明达"]
    assert [r[header.index("Total")] for r in _export(client, q="bjxt")[1:]] == ["240.00"]
    response = client.get(url("order_export"), {"seller": org.sh_rep.pk})
    assert response.status_code == 400 and "seller" in response.content.decode()


def test_order_export_needs_the_export_right(client, org):
    login(client, org.viewer)
    assert client.get(url("order_export")).status_code == 403
    assert 'data-testid="order-export"' not in client.get(url("order_list")).content.decode()


def test_customer_orders_partial(org, products):
    customer = CustomerFactory(owner=org.rep)
    for status in ("confirmed", "cancelled"):
        services.create_order(actor=org.rep, customer=customer, data={"order_date": today(), "status": status},
                              lines=[{"product": products[0].pk, "quantity": 1}])
    html = render_to_string("sales/partials/customer_orders.html",
                            {"customer": customer, "order_summary": order_summary(customer)})
    assert 'data-testid="summary-revenue">120.00' in html
    assert 'data-testid="summary-count">1' in html
    assert html.count('data-testid="customer-order-row"') == 2
    assert f"{url('order_create')}?customer={customer.pk}" in html


def _count(client, target):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(target)
    assert response.status_code == 200
    return len(ctx)


def test_list_and_detail_query_counts_do_not_grow(client, org, products):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)

    def add(n, lines):
        return [services.create_order(actor=org.rep, customer=customer, data={"order_date": today(),
                                                                              "seller": org.rep.pk},
                                      lines=[{"product": products[i % 2].pk, "quantity": 1} for i in range(lines)])
                for _ in range(n)]

    small_order = add(2, 1)[0]
    _count(client, url("order_list"))
    list_small = _count(client, url("order_list"))
    detail_small = _count(client, url("order_detail", small_order.pk))
    big_order = add(20, 8)[-1]
    assert _count(client, url("order_list")) == list_small
    assert _count(client, url("order_detail", big_order.pk)) == detail_small
    _count(client, url("product_list"))
    products_small = _count(client, url("product_list"))
    for i in range(10):
        ProductFactory(code=f"X-{i}")
    assert _count(client, url("product_list")) == products_small
