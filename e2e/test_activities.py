"""Interactions and to-dos in the browser: log a call with a follow-up and find it on "my day", filter the
customer's timeline by kind, and a leaving user's open follow-ups move with their customers."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.activities import services as activities
from crm.activities.choices import TodoKind
from crm.activities.models import Todo
from crm.customers.tests.factories import CustomerFactory
from crm.sales import services as sales
from crm.sales.tests.factories import ProductFactory
from e2e.pages import CustomerActivityPage, HandoverPage, MyDayPage

pytestmark = pytest.mark.e2e

CUSTOMER = "广州粤华五金贸易有限公司"


@pytest.fixture
def customer(org):
    return CustomerFactory(owner=org.rep, name=CUSTOMER)


def _log(customer, actor, summary, *, when, follow_up_on=None):
    return activities.log_interaction(customer, actor=actor, data={
        "kind": "visit", "summary": summary, "occurred_at": when, "follow_up_on": follow_up_on})


def test_log_a_call_with_a_follow_up_and_complete_it_on_my_day(org, login, customer):
    _log(customer, org.rep, "上周拜访，了解需求", when=timezone.now() - datetime.timedelta(days=2))
    today = timezone.localdate()
    page = login("rep")
    detail = CustomerActivityPage(page).open(customer.pk)
    expect(detail.events).to_have_count(1)

    detail.log_interaction(kind="call", summary="电话确认报价，客户要求周五前回复", follow_up_on=today)

    # The new call is on top of the timeline, the earlier visit below it.
    expect(detail.events).to_have_count(2)
    newest = detail.events.first
    expect(newest).to_have_attribute("data-kind", "interaction")
    expect(newest).to_contain_text("电话确认报价")
    expect(detail.events.nth(1)).to_contain_text("上周拜访")
    # The form is ready for the next interaction.
    expect(detail.interaction_form.get_by_test_id("interaction-summary")).to_have_value("")

    my_day = MyDayPage(page).open()
    row = my_day.follow_up_for(CUSTOMER)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("todo-title")).to_contain_text("电话确认报价")
    expect(row.get_by_test_id("todo-status")).to_have_text("open")

    done = my_day.complete(row)

    expect(done.get_by_test_id("todo-status")).to_contain_text("done")
    expect(done).to_have_class("inactive")
    expect(done.get_by_test_id("todo-reopen")).to_be_visible()
    todo = Todo.objects.get(customer=customer, kind=TodoKind.FOLLOW_UP)
    assert todo.owner == org.rep and todo.due_on == today and todo.done_at is not None
    # Still done after a reload: no longer among the follow-ups due.
    page.reload()
    expect(my_day.follow_up_for(CUSTOMER)).to_have_count(0)


def test_timeline_filter_shows_only_order_events(org, login, customer):
    product = ProductFactory(code="BRG-6204", list_price="12.50", standard_cost="8.00")
    now = timezone.now()
    _log(customer, org.rep, "首次拜访", when=now - datetime.timedelta(days=5))
    for days in (4, 2):
        sales.create_order(actor=org.rep, customer=customer,
                           data={"order_date": timezone.localdate() - datetime.timedelta(days=days)},
                           lines=[{"product": product.pk, "quantity": 10}])
    _log(customer, org.rep, "回访，确认到货", when=now - datetime.timedelta(days=1))
    detail = CustomerActivityPage(login("rep")).open(customer.pk)
    expect(detail.events).to_have_count(4)

    detail.filter_timeline("order")

    expect(detail.events).to_have_count(2)
    for event in detail.events.all():
        expect(event).to_have_attribute("data-kind", "order")
    expect(detail.filter_button("order")).to_have_attribute("aria-current", "true")

    detail.filter_timeline("all")
    expect(detail.events).to_have_count(4)


def test_a_leaving_users_open_follow_up_moves_to_the_successors_day(org, login, customer):
    today = timezone.localdate()
    _log(customer, org.rep, "催收货款", when=timezone.now() - datetime.timedelta(hours=3), follow_up_on=today)
    handover = HandoverPage(login("team_lead")).open()
    expect(handover.choose_leaving_user(org.rep)).to_contain_text("1 open to-dos")

    result = handover.hand_over(to_user=org.teammate, reason="李销售离职")

    expect(result).to_contain_text("1 customer and 1 open to-dos moved")
    page = login("teammate")
    row = MyDayPage(page).open().follow_up_for(CUSTOMER)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("todo-title")).to_contain_text("催收货款")
    detail = CustomerActivityPage(page).open(customer.pk)
    expect(detail.owner_name).to_have_text(org.teammate.display_name)
    change = detail.ownership_history.get_by_test_id("ownership-change").first
    expect(change).to_contain_text("李销售离职")
    expect(change).to_contain_text(org.team_lead.display_name)
