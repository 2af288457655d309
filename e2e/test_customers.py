"""The customer archive in the browser: create with a contact, find by pinyin, the 360° page, errors."""

import pytest
from playwright.sync_api import expect

from crm.customers.models import Customer
from crm.customers.tests.factories import ContactFactory, CustomerFactory
from e2e.pages import CustomerFormPage, CustomerListPage

pytestmark = pytest.mark.e2e

XINGTONG = "北京星通科技有限公司"


@pytest.fixture
def rep_page(org, login):
    return login("rep")


def test_create_customer_with_a_contact(rep_page, org):
    form = CustomerListPage(rep_page).open().new_customer()
    form.fill(name=XINGTONG, phone="138 0013 8000", email="Info@XingTong.example.cn", city="北京")

    detail = form.save()

    expect(detail.title).to_have_text(XINGTONG)
    expect(detail.phone).to_contain_text("138")
    expect(detail.owner_name).to_have_text(org.rep.display_name)
    expect(detail.page.get_by_test_id("contacts-empty")).to_be_visible()

    detail.add_contact(name="张伟", title="采购经理", mobile="13900139000", email="zhang.wei@example.cn",
                       primary=True)

    row = detail.contact_row("张伟")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("contact-primary")).to_be_visible()
    expect(row).to_contain_text("采购经理")
    # Stored, not only swapped into the page.
    detail.page.reload()
    expect(detail.contact_row("张伟")).to_be_visible()
    customer = Customer.objects.get(name=XINGTONG)
    assert customer.phone == "+8613800138000"
    assert customer.owner == org.rep
    assert list(customer.contacts.values_list("name", "is_primary")) == [("张伟", True)]


def test_find_a_customer_by_pinyin_initials(rep_page, org):
    CustomerFactory(name=XINGTONG, owner=org.rep)
    CustomerFactory(name="上海华联贸易有限公司", owner=org.rep)
    CustomerFactory(name="北京华星食品有限公司", owner=org.rep)
    customers = CustomerListPage(rep_page).open()
    expect(customers.rows).to_have_count(3)

    customers.search("bjxt")

    expect(customers.names).to_have_text([XINGTONG])
    assert "q=bjxt" in rep_page.url  # the search is in the address bar, so it can be shared or reloaded
    rep_page.reload()
    expect(customers.search_box).to_have_value("bjxt")
    expect(customers.names).to_have_text([XINGTONG])


def test_open_the_customer_360_page(rep_page, org):
    customer = CustomerFactory(name=XINGTONG, owner=org.rep, phone="+8613800138000")
    ContactFactory(customer=customer, name="张伟", title="总经理", is_primary=True)
    ContactFactory(customer=customer, name="李娜", title="财务")

    detail = CustomerListPage(rep_page).open().open_customer(XINGTONG)

    assert rep_page.url.endswith(detail.url(customer.pk))
    expect(detail.profile).to_be_visible()
    expect(detail.phone).to_contain_text("138")
    expect(detail.contact_rows).to_have_count(2)
    expect(detail.contact_row("张伟").get_by_test_id("contact-primary")).to_be_visible()
    expect(detail.contact_row("李娜").get_by_test_id("contact-primary")).to_have_count(0)
    expect(detail.owner_name).to_have_text(org.rep.display_name)
    expect(detail.ownership_history).to_be_visible()
    expect(detail.timeline).to_be_visible()


def test_a_bad_phone_number_shows_a_field_error_and_keeps_the_input(rep_page):
    form = CustomerFormPage(rep_page).open()
    form.fill(name=XINGTONG, phone="12345", email="info@xingtong.example.cn", city="北京")

    form.submit()

    expect(form.field_error("phone")).to_be_visible()
    expect(form.errors).to_have_count(1)
    expect(form.field("name")).to_have_value(XINGTONG)
    expect(form.field("phone")).to_have_value("12345")
    expect(form.field("email")).to_have_value("info@xingtong.example.cn")
    expect(form.field("city")).to_have_value("北京")
    assert not Customer.objects.exists()

    form.fill(phone="010-6552 8888")
    detail = form.save()

    expect(detail.title).to_have_text(XINGTONG)
    assert Customer.objects.get().phone == "+861065528888"
