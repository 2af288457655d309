"""Orders in the browser: record an order with two lines and see its margin; a bad line keeps what was typed."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from crm.customers.tests.factories import CustomerFactory
from crm.sales.models import Order
from crm.sales.tests.factories import ProductFactory
from e2e.pages import OrderFormPage, amount

pytestmark = pytest.mark.e2e

D = Decimal


@pytest.fixture
def catalogue(db):
    return {
        "pump": ProductFactory(code="PUMP-125", name="离心泵", list_price=D("1250.00"), standard_cost=D("830.00")),
        "glove": ProductFactory(code="GLV-01", name="劳保手套", list_price=D("39.99"), standard_cost=D("25.50")),
    }


@pytest.fixture
def customer(org):
    return CustomerFactory(owner=org.rep, name="上海恒顺机电有限公司")


def test_record_an_order_with_two_lines_and_see_the_margin(org, login, catalogue, customer):
    form = OrderFormPage(login("rep")).open_for(customer)
    expect(form.rows).to_have_count(1)

    # Line 1, chosen in the list: 4 × 1,250.00 less 12.5% = 4,375.00; cost 4 × 830.00 = 3,320.00.
    form.fill_line(form.rows.nth(0), product=catalogue["pump"], quantity="4", discount="12.5")
    # Line 2, added through htmx and found by its code, at list price: 2.5 × 39.99 = 99.975 → 99.98;
    # cost 2.5 × 25.50 = 63.75.
    form.fill_line(form.add_line(), code="GLV-01", quantity="2.5")

    detail = form.save()

    expect(detail.lines).to_have_count(2)
    assert [amount(t) for t in detail.lines.get_by_test_id("line-amount").all_inner_texts()] == [
        D("4375.00"), D("99.98")]
    assert [amount(t) for t in detail.lines.get_by_test_id("line-margin").all_inner_texts()] == [
        D("1055.00"), D("36.23")]
    assert detail.figure("order-list-amount") == D("5099.98")
    assert detail.figure("order-discount") == D("625.00")
    assert detail.figure("order-total") == D("4474.98")
    assert detail.figure("order-cost") == D("3383.75")
    assert detail.figure("order-margin") == D("1091.23")
    # 1,091.23 / 4,474.98 = 24.385…%, shown to one decimal.
    expected_rate = (D("1091.23") / D("4474.98") * 100).quantize(D("0.1"), rounding=ROUND_HALF_UP)
    assert expected_rate == D("24.4")
    assert detail.figure("order-margin-rate") == expected_rate
    expect(detail.page.get_by_test_id("order-promotion")).to_be_visible()  # a line had a discount

    order = Order.objects.get(customer=customer)
    assert (order.total_amount, order.total_cost, order.gross_margin) == (D("4474.98"), D("3383.75"), D("1091.23"))
    assert order.seller == org.rep


def test_a_negative_quantity_shows_a_field_error_and_keeps_what_was_typed(login, catalogue, customer):
    form = OrderFormPage(login("rep")).open_for(customer)
    form.fill_line(form.rows.nth(0), product=catalogue["pump"], quantity="3", price="1199.50")
    form.fill_line(form.add_line(), product=catalogue["glove"], quantity="-2", discount="5")

    form.submit()

    expect(form.rows).to_have_count(2)
    bad = form.rows.nth(1)
    expect(form.line_error(bad, "quantity")).to_be_visible()
    expect(form.line_error(bad, "quantity")).to_contain_text("greater than zero")
    expect(bad.get_by_test_id("line-quantity")).to_have_value("-2")
    expect(bad.get_by_test_id("line-product")).to_have_value(str(catalogue["glove"].pk))
    expect(bad.get_by_test_id("line-discount")).to_have_value("5")
    good = form.rows.nth(0)
    expect(form.line_error(good, "quantity")).to_have_count(0)
    expect(good.get_by_test_id("line-product")).to_have_value(str(catalogue["pump"].pk))
    expect(good.get_by_test_id("line-quantity")).to_have_value("3")
    expect(good.get_by_test_id("line-price")).to_have_value("1199.50")
    assert not Order.objects.filter(customer=customer).exists()
