"""Order, catalogue and stock services: arithmetic, validation, idempotent upserts, bulk ingestion, scope."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.activities.models import TimelineEvent
from crm.core.models import AuditEntry
from crm.customers.tests.factories import CustomerFactory
from crm.sales import services
from crm.sales.choices import OrderStatus, SalesChannel, StockMovementKind
from crm.sales.models import Order, OrderLine, Product
from crm.sales.queries import order_summary
from crm.sales.services import ingestion
from crm.sales.tests.factories import ChannelPartnerFactory, ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal


def today():
    return timezone.localdate()


@pytest.fixture
def catalogue(db):
    return {
        "bearing": ProductFactory(code="BRG-6204", name="深沟球轴承", list_price=D("120.00"), standard_cost=D("70.00")),
        "glove": ProductFactory(code="GLV-01", name="劳保手套", list_price=D("39.99"), standard_cost=D("25.50")),
    }


@pytest.fixture
def customer(org):
    return CustomerFactory(owner=org.rep, name="华通测试客户", external_ref="ERP-C-1")


def two_lines(catalogue):
    return [
        {"product": catalogue["bearing"].pk, "quantity": "3", "discount_rate": "10"},
        {"product_code": "GLV-01", "quantity": "2.5"},
    ]


def written():
    return Order.objects.count(), OrderLine.objects.count(), AuditEntry.objects.count(), TimelineEvent.objects.count()


# --- arithmetic -------------------------------------------------------------------------------------

def test_line_totals_round_half_up_to_the_cent():
    assert services.line_totals(D("0.5"), D("0.05"), 0, 0) == (D("0.03"), D("0.00"), D("0.03"))
    assert services.line_totals("3", "120.00", "10", "70.00") == (D("324.00"), D("210.00"), D("114.00"))
    assert services.line_totals("2.5", "39.99", None, "25.50") == (D("99.98"), D("63.75"), D("36.23"))


def test_two_line_order_with_a_discount_by_hand(org, customer, catalogue):
    order = services.create_order(actor=org.rep, customer=customer,
                                  data={"order_date": today()}, lines=two_lines(catalogue))
    # Line 1: 3 × 120.00 less 10% = 324.00; cost 3 × 70.00 = 210.00; margin 114.00.
    # Line 2: 2.5 × 39.99 = 99.975 → 99.98; cost 2.5 × 25.50 = 63.75; margin 36.23.
    lines = list(order.lines.order_by("position"))
    assert [(x.amount, x.cost, x.margin) for x in lines] == [
        (D("324.00"), D("210.00"), D("114.00")), (D("99.98"), D("63.75"), D("36.23"))]
    assert [x.unit_price for x in lines] == [D("120.00"), D("39.99")]  # list price by default
    order.refresh_from_db()
    assert order.list_amount == D("459.98")       # 360.00 + 99.98
    assert order.discount_amount == D("36.00")
    assert order.total_amount == D("423.98")
    assert order.total_cost == D("273.75")
    assert order.gross_margin == D("150.23")
    assert round(order.margin_rate, 4) == D("0.3543")
    assert order.is_promotion is True             # derived: a line has a discount
    assert order.seller is None and order.created_by == org.rep


def test_unit_cost_is_a_snapshot(org, customer, catalogue):
    order = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=two_lines(catalogue))
    Product.objects.filter(pk=catalogue["bearing"].pk).update(standard_cost=D("99.00"))
    line = order.lines.get(position=1)
    assert line.unit_cost == D("70.00")
    explicit = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                     lines=[{"product": catalogue["glove"].pk, "quantity": 1, "unit_cost": "20"}])
    assert explicit.lines.get().cost == D("20.00")


def test_explicit_promotion_flag_wins(org, customer, catalogue):
    order = services.create_order(actor=org.rep, customer=customer,
                                  data={"order_date": today(), "is_promotion": False}, lines=two_lines(catalogue))
    assert order.is_promotion is False
    plain = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": catalogue["glove"].pk, "quantity": 1}])
    assert plain.is_promotion is False


# --- revenue ----------------------------------------------------------------------------------------

def test_revenue_excludes_draft_cancelled_and_returned(org, customer, catalogue):
    for status in OrderStatus.values:
        services.create_order(actor=org.rep, customer=customer, data={"order_date": today(), "status": status},
                              lines=[{"product": catalogue["bearing"].pk, "quantity": 1}])  # 120.00, margin 50.00
    assert Order.objects.count() == 6
    assert set(Order.objects.revenue().values_list("status", flat=True)) == {"confirmed", "delivered", "paid"}
    summary = order_summary(customer)
    assert summary["count"] == 3
    assert summary["revenue"] == D("360.00")
    assert summary["gross_margin"] == D("150.00")
    assert round(summary["margin_rate"], 4) == D("0.4167")
    assert summary["last_order_date"] == today()
    assert len(summary["recent_orders"]) == 5


def test_summary_of_a_customer_without_orders(customer):
    summary = order_summary(customer)
    assert (summary["count"], summary["revenue"], summary["margin_rate"], summary["last_order_date"]) == (
        0, 0, None, None)


# --- bad input: refused with its message, nothing written --------------------------------------------

@pytest.mark.parametrize(("line", "field", "message"), [
    ({"product": 999999, "quantity": 1}, "product", "Unknown product: 999999."),
    ({"product_code": "NO-SUCH", "quantity": 1}, "product_code", "Unknown product: NO-SUCH."),
    ({"product_code": "GLV-01", "quantity": "-2"}, "quantity", "Must be greater than zero."),
    ({"product_code": "GLV-01", "quantity": "0"}, "quantity", "Must be greater than zero."),
    ({"product_code": "GLV-01", "quantity": 1, "unit_price": "12.345"}, "unit_price", "Use at most 2 decimal places."),
    ({"product_code": "GLV-01", "quantity": 1, "discount_rate": "5.125"}, "discount_rate",
     "Use at most 2 decimal places."),
    ({"product_code": "GLV-01", "quantity": 1, "discount_rate": "101"}, "discount_rate", "Must be at most 100."),
    ({"product_code": "GLV-01", "quantity": 1, "unit_price": "-1"}, "unit_price", "Must be at least 0."),
    ({"product_code": "GLV-01", "quantity": "abc"}, "quantity", "Enter a number."),
])
def test_bad_line_is_refused_with_its_message_and_nothing_written(org, customer, catalogue, line, field, message):
    before = written()
    good = {"product": catalogue["bearing"].pk, "quantity": 1}
    with pytest.raises(services.OrderInvalid) as exc:
        services.create_order(actor=org.rep, customer=customer, data={"order_date": today()}, lines=[good, line])
    assert exc.value.errors["lines"] == [{}, {field: [message]}]
    assert f"Line 2: {message}" in exc.value.message_dict["lines"]
    assert written() == before


def test_far_future_date_is_refused(org, customer, catalogue, settings):
    settings.CRM_ORDER_MAX_FUTURE_DAYS = 10
    before = written()
    lines = [{"product": catalogue["bearing"].pk, "quantity": 1}]
    with pytest.raises(services.OrderInvalid) as exc:
        services.create_order(actor=org.rep, customer=customer,
                              data={"order_date": today() + datetime.timedelta(days=11)}, lines=lines)
    assert exc.value.errors == {"order_date": ["The order date is more than 10 days in the future."]}
    assert written() == before
    ok = services.create_order(actor=org.rep, customer=customer,
                               data={"order_date": today() + datetime.timedelta(days=10)}, lines=lines)
    assert ok.pk


def test_order_needs_lines_and_valid_choices(org, customer):
    with pytest.raises(services.OrderInvalid) as exc:
        services.create_order(actor=org.rep, customer=customer,
                              data={"order_date": "2024-13-01", "status": "shipped", "channel": "fax"}, lines=[])
    errors = exc.value.errors
    assert errors["lines"] == ["An order needs at least one line."]
    assert errors["order_date"] == ["Enter a valid date (YYYY-MM-DD)."]
    assert "Choose one of" in errors["status"][0] and "Choose one of" in errors["channel"][0]


def test_only_dealer_orders_name_a_partner(org, customer, catalogue):
    partner = ChannelPartnerFactory(external_ref="D-7")
    lines = [{"product": catalogue["bearing"].pk, "quantity": 1}]
    with pytest.raises(services.OrderInvalid) as exc:
        services.create_order(actor=org.rep, customer=customer,
                              data={"order_date": today(), "partner": partner.pk}, lines=lines)
    assert exc.value.errors == {"partner": ["Only dealer orders name a channel partner."]}
    order = services.create_order(actor=org.rep, customer=customer, lines=lines, data={
        "order_date": today(), "channel": SalesChannel.DEALER, "partner_ref": "D-7"})
    assert order.partner == partner


# --- scope and role ---------------------------------------------------------------------------------

def test_customer_outside_scope_is_refused(org, catalogue):
    hidden = CustomerFactory(owner=org.teammate, external_ref="HIDDEN")
    lines = [{"product": catalogue["bearing"].pk, "quantity": 1}]
    with pytest.raises(PermissionDenied):
        services.create_order(actor=org.rep, customer=hidden, data={"order_date": today()}, lines=lines)
    with pytest.raises(services.OrderInvalid) as exc:
        services.upsert_order(actor=org.rep, external_ref="R1", payload={
            "customer_ref": "HIDDEN", "order_date": today().isoformat(), "lines": lines})
    assert exc.value.errors == {"customer_ref": ["customer not found"]}
    with pytest.raises(services.OrderInvalid) as exc:
        services.upsert_order(actor=org.rep, external_ref="R1", payload={
            "customer": hidden.pk, "order_date": today().isoformat(), "lines": lines})
    assert exc.value.errors == {"customer": ["customer not found"]}
    assert not Order.objects.exists()


def test_role_without_create_cannot_record_orders(org, customer, catalogue):
    with pytest.raises(PermissionDenied):
        services.create_order(actor=org.viewer, customer=customer, data={"order_date": today()},
                              lines=[{"product": catalogue["bearing"].pk, "quantity": 1}])
    with pytest.raises(PermissionDenied):
        services.bulk_upsert_orders(actor=org.viewer, payloads=[])


def test_an_existing_reference_of_an_invisible_order_is_not_taken_over(org, catalogue):
    other = CustomerFactory(owner=org.teammate)
    mine = CustomerFactory(owner=org.rep)
    lines = [{"product": catalogue["bearing"].pk, "quantity": 1}]
    services.upsert_order(actor=org.teammate, external_ref="SHARED", payload={
        "customer": other.pk, "order_date": today().isoformat(), "lines": lines})
    with pytest.raises(services.OrderInvalid) as exc:
        services.upsert_order(actor=org.rep, external_ref="SHARED", payload={
            "customer": mine.pk, "order_date": today().isoformat(), "lines": lines})
    assert exc.value.errors == {"external_ref": ["An order with this reference already exists."]}
    assert Order.objects.get().customer == other


# --- upsert -----------------------------------------------------------------------------------------

def payload(for_customer, catalogue, **overrides):
    data = {"customer_ref": for_customer.external_ref, "order_date": today().isoformat(), "status": "confirmed",
            "lines": [{"product_code": "BRG-6204", "quantity": "2", "unit_price": "110.00"},
                      {"product_code": "GLV-01", "quantity": "10", "discount_rate": "5"}]}
    data.update(overrides)
    return data


def test_upsert_twice_gives_one_order(org, customer, catalogue):
    first = services.upsert_order(actor=org.rep, external_ref="ERP-1", payload=payload(customer, catalogue))
    assert first.status == "created"
    counts = written()
    again = services.upsert_order(actor=org.rep, external_ref="ERP-1", payload=payload(customer, catalogue))
    assert (again.status, again.id) == ("unchanged", first.id)
    assert written() == counts  # nothing written: no order, line, audit entry or timeline event
    assert Order.objects.filter(external_ref="ERP-1").count() == 1


def test_upsert_update_replaces_the_lines(org, customer, catalogue):
    first = services.upsert_order(actor=org.rep, external_ref="ERP-1", payload=payload(customer, catalogue))
    changed = payload(customer, catalogue, lines=[{"product_code": "GLV-01", "quantity": "1"}], status="paid")
    result = services.upsert_order(actor=org.rep, external_ref="ERP-1", payload=changed)
    assert (result.status, result.id) == ("updated", first.id)
    order = Order.objects.get()
    assert list(order.lines.values_list("product__code", "quantity")) == [("GLV-01", D("1.000"))]
    assert (order.total_amount, order.status) == (D("39.99"), "paid")
    entry = AuditEntry.objects.filter(object_id=str(order.pk), action="update").get()
    assert entry.changes["total_amount"][1] == "39.99" and entry.source == "api" and entry.actor == org.rep
    # The status change is on the timeline.
    assert TimelineEvent.objects.filter(customer=customer, data__status="paid").exists()


def test_concurrent_retry_turns_the_losing_insert_into_an_update(org, customer, catalogue, monkeypatch):
    """A retry arrives while the first attempt is still being written: both read "no such order",
    the first inserts, the retry's insert hits the unique reference and becomes an update."""
    first = services.upsert_order(actor=org.rep, external_ref="ERP-9", payload=payload(customer, catalogue))
    monkeypatch.setattr(ingestion, "_existing_orders", lambda refs: {})  # the retry read before the commit
    results = services.bulk_upsert_orders(actor=org.rep, payloads=[
        payload(customer, catalogue, external_ref="ERP-9", notes="retry"),
        payload(customer, catalogue, external_ref="ERP-10"),
    ])
    assert [(r.status, r.external_ref) for r in results] == [("updated", "ERP-9"), ("created", "ERP-10")]
    assert results[0].id == first.id
    assert Order.objects.filter(external_ref="ERP-9").count() == 1
    assert Order.objects.get(external_ref="ERP-9").notes == "retry"
    assert Order.objects.get(external_ref="ERP-9").lines.count() == 2


# --- bulk -------------------------------------------------------------------------------------------

def test_bulk_keeps_every_good_order_and_reports_each_bad_one(org, customer, catalogue):
    hidden = CustomerFactory(owner=org.sh_rep)
    good = [payload(customer, catalogue, external_ref=f"B-{i}") for i in range(3)]
    bad = [
        payload(customer, catalogue, external_ref="B-bad-product", lines=[{"product_code": "NOPE", "quantity": 1}]),
        payload(customer, catalogue, external_ref="B-bad-date", order_date="2999-01-01"),
        payload(customer, catalogue, external_ref="B-hidden", customer_ref=None, customer=hidden.pk),
        payload(customer, catalogue, external_ref=None),
        payload(customer, catalogue, external_ref="B-0"),  # twice in one request
        "not an order",
    ]
    payloads = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3], bad[4], bad[5]]
    results = services.bulk_upsert_orders(actor=org.rep, payloads=payloads)
    assert [r.index for r in results] == list(range(9))
    assert [r.status for r in results] == ["created", "error", "created", "error", "error", "created", "error",
                                           "error", "error"]
    assert results[1].errors == {"lines": [{"product_code": ["Unknown product: NOPE."]}]}
    assert "order_date" in results[3].errors
    assert results[4].errors == {"customer": ["customer not found"]}
    assert "external_ref" in results[6].errors and "external_ref" in results[7].errors
    assert "non_field_errors" in results[8].errors
    assert set(Order.objects.values_list("external_ref", flat=True)) == {"B-0", "B-1", "B-2"}
    assert OrderLine.objects.count() == 6
    assert all(o.total_amount == D("599.91") for o in Order.objects.all())  # 220.00 + 379.905 → 379.91
    # Bulk writes bypass the audit signal: the entries are written in bulk, with actor and source.
    entries = AuditEntry.objects.filter(action="create", content_type__model="order")
    assert entries.count() == 3 and set(entries.values_list("source", flat=True)) == {"api"}
    assert set(entries.values_list("actor", flat=True)) == {org.rep.pk}
    assert TimelineEvent.objects.filter(customer=customer, kind="order").count() == 3
    customer.refresh_from_db()
    assert customer.last_activity_at is not None


def test_bulk_resend_is_unchanged_and_cheap(org, customer, catalogue, django_assert_max_num_queries):
    payloads = [payload(customer, catalogue, external_ref=f"R-{i}") for i in range(20)]
    services.bulk_upsert_orders(actor=org.rep, payloads=payloads)
    with django_assert_max_num_queries(12):
        results = services.bulk_upsert_orders(actor=org.rep, payloads=payloads)
    assert {r.status for r in results} == {"unchanged"}


def test_bulk_query_count_does_not_grow_with_orders(org, customer, catalogue):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run(prefix, n):
        customers = [CustomerFactory(owner=org.rep, external_ref=f"{prefix}-C{i}") for i in range(n)]
        payloads = [payload(c, catalogue, external_ref=f"{prefix}-{i}", customer_ref=c.external_ref)
                    for i, c in enumerate(customers)]
        with CaptureQueriesContext(connection) as ctx:
            services.bulk_upsert_orders(actor=org.rep, payloads=payloads)
        return len(ctx)

    assert run("small", 3) == run("large", 30)


def test_bulk_size_limit(org, settings):
    settings.CRM_ORDER_BULK_MAX = 2
    with pytest.raises(ValidationError):
        services.bulk_upsert_orders(actor=org.rep, payloads=[{}, {}, {}])


def test_bulk_updates_need_the_change_action(org, customer, catalogue):
    from crm.accounts.tests.factories import RoleFactory

    services.upsert_order(actor=org.rep, external_ref="U-1", payload=payload(customer, catalogue))
    org.rep.role = RoleFactory(name="create-only", actions=["view", "create"], data_scope="own")
    org.rep.save()
    org.rep.forget_access_cache()
    results = services.bulk_upsert_orders(actor=org.rep, payloads=[
        payload(customer, catalogue, external_ref="U-1", notes="changed"),
        payload(customer, catalogue, external_ref="U-2")])
    assert [r.status for r in results] == ["error", "created"]
    assert Order.objects.get(external_ref="U-1").notes == ""


# --- status and delete -------------------------------------------------------------------------------

def test_cancel_needs_a_reason_and_leaves_revenue(org, customer, catalogue):
    order = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": catalogue["bearing"].pk, "quantity": 1}])
    with pytest.raises(ValidationError) as exc:
        services.set_order_status(order, actor=org.rep, status=OrderStatus.CANCELLED)
    assert exc.value.message_dict == {"reason": ["Give a reason to cancel or return an order."]}
    services.set_order_status(order, actor=org.rep, status=OrderStatus.CANCELLED, reason="客户取消")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert not Order.objects.revenue().exists()
    event = TimelineEvent.objects.filter(customer=customer, data__status="cancelled").get()
    assert event.detail == "客户取消" and event.actor == org.rep
    assert AuditEntry.objects.filter(object_id=str(order.pk), action="update").exists()
    with pytest.raises(ValidationError):
        services.set_order_status(order, actor=org.rep, status=OrderStatus.PAID)


def test_update_order_recomputes_totals(org, customer, catalogue):
    order = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()},
                                  lines=[{"product": catalogue["bearing"].pk, "quantity": 1}])
    services.update_order(order, actor=org.rep, data={"notes": "加急"},
                          lines=[{"product": catalogue["bearing"].pk, "quantity": 2, "discount_rate": 50}])
    order.refresh_from_db()
    assert (order.total_amount, order.gross_margin, order.notes) == (D("120.00"), D("-20.00"), "加急")
    with pytest.raises(services.OrderInvalid) as exc:
        services.update_order(order, actor=org.rep, data={"status": "cancelled"})
    assert "reason" in exc.value.errors
    with pytest.raises(PermissionDenied):
        services.update_order(order, actor=org.teammate, data={"notes": "x"})


def test_only_drafts_can_be_deleted(org, customer, catalogue):
    lines = [{"product": catalogue["bearing"].pk, "quantity": 1}]
    confirmed = services.create_order(actor=org.rep, customer=customer, data={"order_date": today()}, lines=lines)
    draft = services.create_order(actor=org.rep, customer=customer, data={"order_date": today(), "status": "draft"},
                                  lines=lines)
    with pytest.raises(PermissionDenied):
        services.delete_order(draft, actor=org.rep)  # the sales role has no delete action
    with pytest.raises(ValidationError) as refused:
        services.delete_order(confirmed, actor=org.manager)
    assert refused.value.message_dict == {"status": ["Only draft orders can be deleted; cancel the order instead."]}
    services.delete_order(draft, actor=org.manager)
    assert list(Order.objects.all()) == [confirmed]


# --- catalogue and stock -----------------------------------------------------------------------------

def test_catalogue_changes_need_manage_settings(org):
    data = {"code": "NEW-1", "name": "新产品", "list_price": D("10"), "standard_cost": D("6"), "unit": "件"}
    with pytest.raises(PermissionDenied):
        services.create_product(actor=org.rep, data=data)
    product = services.create_product(actor=org.ceo, data=data)
    assert product.margin_rate == D("0.4")
    with pytest.raises(ValidationError) as exc:
        services.create_product(actor=org.ceo, data={**data, "list_price": D("1.234")})
    assert "list_price" in exc.value.message_dict and "code" in exc.value.message_dict


def test_stock_movements_move_stock_on_hand(org, catalogue):
    product = catalogue["bearing"]
    services.record_stock_movement(product, actor=org.ceo, kind=StockMovementKind.RECEIPT, quantity="100")
    services.record_stock_movement(product, actor=org.ceo, kind=StockMovementKind.SHIPMENT, quantity="30")
    services.record_stock_movement(product, actor=org.ceo, kind=StockMovementKind.ADJUSTMENT, quantity="-2.5")
    product.refresh_from_db()
    assert product.stock_on_hand == D("67.500")
    assert list(product.stock_movements.order_by("id").values_list("quantity", flat=True)) == [
        D("100.000"), D("-30.000"), D("-2.500")]
    with pytest.raises(ValidationError) as exc:
        services.record_stock_movement(product, actor=org.ceo, kind=StockMovementKind.RECEIPT, quantity="-1")
    assert exc.value.message_dict == {"quantity": ["Stock coming in takes a positive quantity."]}
    with pytest.raises(PermissionDenied):
        services.record_stock_movement(product, actor=org.rep, kind=StockMovementKind.RECEIPT, quantity="1")
