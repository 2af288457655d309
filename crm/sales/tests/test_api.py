"""The sales endpoints: scope, filters, nested errors, the idempotent upsert, bulk ingestion, query counts."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from crm.customers.tests.factories import CustomerFactory
from crm.sales import services
from crm.sales.models import Order, Product, StockMovement
from crm.sales.tests.factories import OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db

ORDERS = "/api/orders/"
BULK = "/api/orders/bulk/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def today():
    return timezone.localdate()


@pytest.fixture
def products(db):
    return [ProductFactory(code="BRG-6204", list_price=Decimal("120.00"), standard_cost=Decimal("70.00")),
            ProductFactory(code="GLV-01", list_price=Decimal("39.99"), standard_cost=Decimal("25.50"))]


@pytest.fixture
def book(org, products):
    """A customer and an order for each of: the rep, the rep's teammate, Shanghai."""
    data = {}
    for name in ("rep", "teammate", "sh_rep"):
        customer = CustomerFactory(owner=getattr(org, name), name=f"{name}的客户", external_ref=f"C-{name}")
        order = services.create_order(actor=getattr(org, name), customer=customer,
                                      data={"order_date": today(), "external_ref": f"O-{name}"},
                                      lines=[{"product": products[0].pk, "quantity": 1}])
        data[name] = (customer, order)
    return data


def body(customer_ref="C-rep", **overrides):
    data = {"customer_ref": customer_ref, "order_date": today().isoformat(),
            "lines": [{"product_code": "BRG-6204", "quantity": "3", "discount_rate": "10"},
                      {"product_code": "GLV-01", "quantity": "2.5"}]}
    data.update(overrides)
    return data


# --- access and scope ---------------------------------------------------------------------------------

def test_orders_of_invisible_customers_are_404_and_never_listed(org, book):
    rep = client_for(org.rep)
    listed = rep.get(ORDERS, {"page_size": 200}).data
    assert {row["external_ref"] for row in listed["results"]} == {"O-rep"}
    assert listed["count"] == 1
    hidden = book["teammate"][1]
    assert rep.get(f"{ORDERS}{hidden.pk}/").status_code == 404
    assert rep.patch(f"{ORDERS}{hidden.pk}/", {"notes": "x"}, format="json").status_code == 404
    assert rep.post(f"{ORDERS}{hidden.pk}/status/", {"status": "cancelled", "reason": "x"},
                    format="json").status_code == 404
    assert rep.get(f"{ORDERS}by-ref/O-teammate/").status_code == 404
    assert rep.get(ORDERS, {"external_ref": "O-teammate"}).data["count"] == 0
    hidden.refresh_from_db()
    assert hidden.status == "confirmed" and hidden.notes == ""
    everyone = client_for(org.ceo).get(ORDERS).data
    assert everyone["count"] == 3


def test_filters(org, book, products):
    services.create_order(actor=org.rep, customer=book["rep"][0], lines=[{"product": products[1].pk, "quantity": 1}],
                          data={"order_date": today() - datetime.timedelta(days=40), "status": "draft",
                                "channel": "online", "seller": org.rep.pk})
    ceo = client_for(org.ceo)

    def refs(**params):
        return sorted(row["external_ref"] or "-" for row in ceo.get(ORDERS, params).data["results"])

    assert refs(status="draft") == ["-"]
    assert refs(channel="online") == ["-"]
    assert refs(seller=org.rep.pk) == ["-"]
    assert refs(customer=book["sh_rep"][0].pk) == ["O-sh_rep"]
    assert refs(customer_ref="C-teammate") == ["O-teammate"]
    assert refs(date_to=(today() - datetime.timedelta(days=30)).isoformat()) == ["-"]
    assert refs(date_from=today().isoformat()) == ["O-rep", "O-sh_rep", "O-teammate"]
    assert refs(external_ref="O-rep") == ["O-rep"]
    assert ceo.get(ORDERS, {"ordering": "total_cost"}).status_code == 400


def test_order_representation_has_lines_with_read_only_amounts(org, book):
    order = book["rep"][1]
    data = client_for(org.rep).get(f"{ORDERS}{order.pk}/").data
    assert data["total_amount"] == "120.00" and data["gross_margin"] == "50.00" and data["margin_rate"] == "0.4167"
    assert data["lines"][0]["product_code"] == "BRG-6204"
    assert {"amount", "cost", "margin", "unit_cost"} <= set(data["lines"][0])


# --- create / update ----------------------------------------------------------------------------------

def test_create_computes_totals(org, book):
    response = client_for(org.rep).post(ORDERS, body(), format="json")
    assert response.status_code == 201, response.data
    assert (response.data["total_amount"], response.data["gross_margin"]) == ("423.98", "150.23")
    assert response.data["is_promotion"] is True
    assert response.data["customer"] == book["rep"][0].pk


@pytest.mark.parametrize("customer", [-6 * 10**33, 10**19, "¹"])
def test_ids_no_record_can_have_are_unknown_not_server_errors(org, book, customer):
    count = Order.objects.count()
    response = client_for(org.rep).post(ORDERS, body(customer=customer), format="json")
    assert response.status_code == 400
    assert "customer" in response.data
    lines = [{"product": 10**40, "quantity": "1"}]
    response = client_for(org.rep).post(ORDERS, body(lines=lines), format="json")
    assert response.status_code == 400
    assert "product" in response.data["lines"][0]
    assert Order.objects.count() == count


def test_bad_input_gives_nested_field_errors_and_writes_nothing(org, book, settings):
    settings.CRM_ORDER_MAX_FUTURE_DAYS = 5
    count = Order.objects.count()
    bad = body(order_date=(today() + datetime.timedelta(days=6)).isoformat(), lines=[
        {"product_code": "BRG-6204", "quantity": "1"},
        {"product_code": "NOPE", "quantity": "-1", "unit_price": "1.999"},
    ])
    response = client_for(org.rep).post(ORDERS, bad, format="json")
    assert response.status_code == 400
    assert response.data == {
        "order_date": ["The order date is more than 5 days in the future."],
        "lines": [{}, {"product_code": ["Unknown product: NOPE."], "quantity": ["Must be greater than zero."],
                       "unit_price": ["Use at most 2 decimal places."]}],
    }
    assert client_for(org.rep).post(ORDERS, body(customer_ref="C-teammate"), format="json").data == {
        "customer_ref": ["customer not found"]}
    assert client_for(org.rep).post(ORDERS, [1, 2], format="json").status_code == 400
    assert Order.objects.count() == count


def test_update_replaces_lines_and_status_action(org, book):
    order = book["rep"][1]
    rep = client_for(org.rep)
    response = rep.patch(f"{ORDERS}{order.pk}/", {"notes": "加急", "lines": [
        {"product_code": "GLV-01", "quantity": "1"}]}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["total_amount"] == "39.99" and len(response.data["lines"]) == 1
    assert rep.post(f"{ORDERS}{order.pk}/status/", {"status": "cancelled"}, format="json").data == {
        "reason": ["Give a reason to cancel or return an order."]}
    response = rep.post(f"{ORDERS}{order.pk}/status/", {"status": "cancelled", "reason": "客户取消"}, format="json")
    assert response.status_code == 200 and response.data["status"] == "cancelled"
    assert rep.delete(f"{ORDERS}{order.pk}/").status_code == 403  # the sales role has no delete action
    assert client_for(org.manager).delete(f"{ORDERS}{order.pk}/").status_code == 400  # not a draft


def test_delete_takes_drafts_and_refuses_confirmed_orders(org, book, products):
    customer, confirmed = book["rep"]
    draft = services.create_order(actor=org.rep, customer=customer, data={"order_date": today(), "status": "draft"},
                                  lines=[{"product": products[0].pk, "quantity": 1}])
    manager = client_for(org.manager)
    refused = manager.delete(f"{ORDERS}{confirmed.pk}/")
    assert refused.status_code == 400
    assert refused.data == {"status": ["Only draft orders can be deleted; cancel the order instead."]}
    assert manager.delete(f"{ORDERS}{draft.pk}/").status_code == 204
    assert set(Order.objects.filter(customer=customer)) == {confirmed}


# --- upsert by reference ----------------------------------------------------------------------------------

def test_put_by_ref_creates_then_updates_one_order(org, book):
    rep = client_for(org.rep)
    url = f"{ORDERS}by-ref/ERP-2024-001/"
    first = rep.put(url, body(), format="json")
    assert first.status_code == 201, first.data
    again = rep.put(url, body(), format="json")  # a retry after a timeout
    assert again.status_code == 200 and again.data["id"] == first.data["id"]
    changed = rep.put(url, body(status="paid"), format="json")
    assert changed.status_code == 200 and changed.data["status"] == "paid"
    assert Order.objects.filter(external_ref="ERP-2024-001").count() == 1
    assert rep.get(url).data["id"] == first.data["id"]
    assert rep.put(url, body(lines=[{"product": 999999, "quantity": 1}]), format="json").data == {
        "lines": [{"product": ["Unknown product: 999999."]}]}


def test_put_by_ref_of_another_scope_is_refused(org, book):
    response = client_for(org.rep).put(f"{ORDERS}by-ref/O-teammate/", body(), format="json")
    assert response.status_code == 400
    assert response.data == {"external_ref": ["An order with this reference already exists."]}
    assert client_for(org.viewer).put(f"{ORDERS}by-ref/NEW/", body(), format="json").status_code == 403


def test_a_taken_reference_answers_the_same_whoever_holds_it(org, book):
    """References are unique across the company.  A reference held by an order outside the caller's
    scope is reported exactly as one held by the caller's own order: taken, and nothing more."""
    rep = client_for(org.rep)
    own, foreign = "O-rep", "O-teammate"
    assert rep.get(f"{ORDERS}by-ref/{foreign}/").status_code == 404
    answers = {
        "post own": rep.post(ORDERS, body(external_ref=own), format="json"),
        "post foreign": rep.post(ORDERS, body(external_ref=foreign), format="json"),
        "put foreign": rep.put(f"{ORDERS}by-ref/{foreign}/", body(), format="json"),
        "patch to foreign": rep.patch(f"{ORDERS}{book['rep'][1].pk}/", {"external_ref": foreign}, format="json"),
    }
    other = rep.post(ORDERS, body(external_ref="O-new"), format="json").data["id"]
    answers["patch to own"] = rep.patch(f"{ORDERS}{other}/", {"external_ref": own}, format="json")
    assert {name: (r.status_code, r.data) for name, r in answers.items()} == dict.fromkeys(
        answers, (400, {"external_ref": ["An order with this reference already exists."]}))
    bulk = rep.post(BULK, [body(external_ref=foreign)], format="json").data["results"][0]
    assert bulk["errors"] == {"external_ref": ["An order with this reference already exists."]}
    assert Order.objects.get(external_ref=foreign).customer == book["teammate"][0]


# --- bulk ---------------------------------------------------------------------------------------------

def test_bulk_stores_good_orders_and_reports_bad_ones(org, book):
    payloads = [
        body(external_ref="B-1"),
        body(external_ref="B-2", lines=[{"product_code": "NOPE", "quantity": 1}]),
        body(external_ref="B-3", customer_ref="C-sh_rep"),
        body(external_ref="B-4", customer_ref=None, customer=book["rep"][0].pk),
        body(external_ref="O-rep"),  # an existing order: updated
    ]
    response = client_for(org.rep).post(BULK, payloads, format="json")
    assert response.status_code == 200
    assert {k: response.data[k] for k in ("created", "updated", "unchanged", "errors")} == {
        "created": 2, "updated": 1, "unchanged": 0, "errors": 2}
    results = response.data["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "created", "updated"]
    assert results[1]["errors"] == {"lines": [{"product_code": ["Unknown product: NOPE."]}]}
    assert results[2]["errors"] == {"customer_ref": ["customer not found"]}  # no hint that it exists
    assert "errors" not in results[0]
    again = client_for(org.rep).post(BULK, payloads, format="json").data
    assert (again["created"], again["unchanged"], again["errors"]) == (0, 3, 2)
    assert Order.objects.filter(external_ref__startswith="B-").count() == 2


def test_bulk_body_must_be_a_list_within_the_limit(org, book, settings):
    rep = client_for(org.rep)
    assert rep.post(BULK, {"orders": []}, format="json").status_code == 400
    settings.CRM_ORDER_BULK_MAX = 2
    response = rep.post(BULK, [body(external_ref=f"L-{i}") for i in range(3)], format="json")
    assert response.status_code == 400
    assert not Order.objects.filter(external_ref__startswith="L-").exists()
    assert client_for(org.viewer).post(BULK, [body(external_ref="V-1")], format="json").status_code == 403


# --- catalogue ----------------------------------------------------------------------------------------

def test_catalogue_reads_for_everyone_writes_need_manage_settings(org, products):
    rep, ceo = client_for(org.rep), client_for(org.ceo)
    listed = rep.get("/api/products/", {"q": "BRG"}).data
    assert [row["code"] for row in listed["results"]] == ["BRG-6204"]
    assert listed["results"][0]["margin_rate"] == "0.4167"
    new = {"code": "NEW-1", "name": "新品", "list_price": "10.00", "standard_cost": "6.00", "unit": "件"}
    assert rep.post("/api/products/", new, format="json").status_code == 403
    created = ceo.post("/api/products/", new, format="json")
    assert created.status_code == 201, created.data
    duplicate = ceo.post("/api/products/", new, format="json")
    assert duplicate.status_code == 400 and "code" in duplicate.data
    assert ceo.post("/api/product-categories/", {"code": "C1", "name": "轴承"}, format="json").status_code == 201
    assert ceo.post("/api/partners/", {"name": "华北经销商", "external_ref": "D-1"}, format="json").status_code == 201
    assert rep.get("/api/partners/").status_code == 200


def test_stock_movement_endpoint(org, products):
    ceo = client_for(org.ceo)
    response = ceo.post("/api/stock-movements/", {"product": products[0].pk, "kind": "shipment", "quantity": "4"},
                        format="json")
    assert response.status_code == 201, response.data
    assert response.data["quantity"] == "-4.000"
    assert Product.objects.get(pk=products[0].pk).stock_on_hand == Decimal("-4.000")
    bad = ceo.post("/api/stock-movements/", {"product": products[0].pk, "kind": "receipt", "quantity": "-1"},
                   format="json")
    assert bad.status_code == 400 and "quantity" in bad.data
    assert client_for(org.rep).post("/api/stock-movements/", {"product": products[0].pk, "kind": "receipt",
                                                              "quantity": "1"}, format="json").status_code == 403
    assert StockMovement.objects.count() == 1
    assert client_for(org.rep).get("/api/stock-movements/", {"product": products[0].pk}).data["count"] == 1
    for bad in ("-1.3894197097562903e+119", "abc", "99999999"):  # never a 500, a 400 naming the filter
        response = client_for(org.rep).get("/api/stock-movements/", {"product": bad})
        assert response.status_code == 400 and "product" in response.data, bad


# --- query counts -------------------------------------------------------------------------------------

def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def test_order_list_and_detail_query_counts_do_not_grow(org, products):
    customer = CustomerFactory(owner=org.rep)
    rep = client_for(org.rep)

    def add(n, lines):
        for _ in range(n):
            services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": products[i % 2].pk, "quantity": 1} for i in range(lines)])

    add(2, 1)
    _queries(rep, ORDERS)
    small = _queries(rep, ORDERS)
    detail_small = _queries(rep, f"{ORDERS}{Order.objects.first().pk}/")
    add(10, 6)
    assert _queries(rep, ORDERS) == small
    assert _queries(rep, f"{ORDERS}{Order.objects.order_by('-id').first().pk}/") == detail_small


# --- malformed rows ---------------------------------------------------------------------------------

BAD_VALUES = {
    "external_ref": [["B-x"], {"a": 1}, 7, True],
    "customer": [[1], {"id": 1}, 10**30, -5, 1.5],
    "customer_ref": [["C-rep"], {"a": "C-rep"}, 7, "C\x00rep"],
    "order_date": [["2025-01-01"], {"d": 1}, 20250101, "9999-12-31"],
    "status": [["paid"], {"s": 1}, 3],
    "channel": [["direct"], {"c": 1}, 3],
    "number": [["SO"], {"n": 1}, 5, "x" * 41],
    "notes": [["n"], {"n": 1}, 5, "x" * 10001],
    "currency": [["CNY"], {"c": 1}, 156],
    "partner": [[1], {"p": 1}, 10**30],
    "partner_ref": [["D-1"], {"p": 1}, "D\x00"],
    "seller": [[1], {"s": 1}, 10**30],
    "seller_username": [["rep"], {"u": "rep"}, "r\x00p"],
    "is_promotion": [["x"], {"x": 1}, "yes", 1],
    "lines": [{"product_code": "BRG-6204"}, "BRG-6204", 3],
}
BAD_LINE_VALUES = {
    "product": [[1], {"id": 1}, 10**30, True],
    "product_code": [["BRG-6204"], {"c": 1}, 6204, "BRG\x00"],
    "quantity": [[1], {"q": 1}, "abc", True, "1e400"],
    "unit_price": [[1], {"p": 1}, "NaN"],
    "discount_rate": [[1], {"d": 1}, "101"],
    "unit_cost": [[1], {"c": 1}, -1],
}


def _bad_rows():
    rows = []
    for name, values in BAD_VALUES.items():
        for value in values:
            rows.append((name, body(**{name: value})))
    for name, values in BAD_LINE_VALUES.items():
        for value in values:
            line = {"product_code": "BRG-6204", "quantity": "1", name: value}
            if name == "product":
                line.pop("product_code")
            rows.append(("lines", body(lines=[line])))
    return rows


def test_bulk_reports_every_malformed_row_and_keeps_the_good_ones(org, book):
    rows = _bad_rows()
    payloads = [body(external_ref="GOOD-1")]
    for index, (_name, row) in enumerate(rows):
        payloads.append({"external_ref": f"BAD-{index}", **row} if "external_ref" not in row else row)
    payloads.append(body(external_ref="GOOD-2"))
    response = client_for(org.rep).post(BULK, payloads, format="json")
    assert response.status_code == 200, response.content[:500]
    results = response.data["results"]
    assert [results[0]["status"], results[-1]["status"]] == ["created", "created"]
    for (name, row), result in zip(rows, results[1:-1], strict=True):
        assert result["status"] == "error", (name, row, result)
        assert name in result["errors"], (name, row, result)
    assert set(Order.objects.filter(external_ref__in=["GOOD-1", "GOOD-2"]).values_list(
        "external_ref", flat=True)) == {"GOOD-1", "GOOD-2"}
    assert not Order.objects.filter(external_ref__startswith="BAD-").exists()


@pytest.mark.parametrize(("name", "row"), _bad_rows(), ids=lambda v: v if isinstance(v, str) else "")
def test_post_and_patch_answer_400_for_a_malformed_field(org, book, name, row):
    rep = client_for(org.rep)
    created = rep.post(ORDERS, row, format="json")
    assert created.status_code == 400, created.content[:500]
    assert name in created.data
    order = book["rep"][1]
    changed = rep.patch(f"{ORDERS}{order.pk}/", {name: row[name]}, format="json")
    assert changed.status_code == 400, changed.content[:500]
    assert name in changed.data


def test_options_on_by_ref_describes_the_upsert(org, book):
    rep = client_for(org.rep)
    for ref in ("O-rep", "NO-SUCH", "O-teammate"):
        response = rep.options(f"{ORDERS}by-ref/{ref}/")
        assert response.status_code == 200, response.content[:300]
        assert response.data["name"]


def test_seller_filter_accepts_only_people_the_caller_may_see(org):
    OrderFactory(customer=CustomerFactory(owner=org.rep), seller=org.rep)
    OrderFactory(customer=CustomerFactory(owner=org.sh_rep), seller=org.sh_rep)
    lead = client_for(org.team_lead)
    response = lead.get(ORDERS, {"seller": org.rep.pk})
    assert response.status_code == 200 and response.data["count"] == 1
    response = lead.get(ORDERS, {"seller": org.sh_rep.pk})
    assert response.status_code == 400 and list(response.data) == ["seller"]
    assert client_for(org.ceo).get(ORDERS, {"seller": org.sh_rep.pk}).data["count"] == 1
