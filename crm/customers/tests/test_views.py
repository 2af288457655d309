"""The server-rendered customer pages: access, scope, flows, search, export and query counts."""

import csv
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.core.choices import CustomFieldType
from crm.core.models import CustomFieldDefinition
from crm.customers import services
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.customers.tests.factories import ContactFactory, CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"customers:{name}", args=args)


def form_data(**overrides):
    data = {
        "kind": "company", "name": "北京星通科技有限公司", "phone": "13812345678", "email": "sales@xingtong.cn",
        "website": "", "province": "北京市", "city": "北京", "district": "海淀区", "address": "中关村大街1号",
        "industry": "it", "source": "referral", "status": "prospect", "customer_type": "unknown", "notes": "",
    }
    data.update(overrides)
    return data


def snapshot(customer):
    customer = Customer.objects.get(pk=customer.pk)
    return (customer.name, customer.phone, customer.owner_id, customer.branch_id, customer.custom_fields,
            sorted(customer.tags.values_list("pk", flat=True)), customer.contacts.count())


def custom_field(key, field_type, **kwargs):
    return CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Customer), key=key, label=kwargs.pop("label", key),
        field_type=field_type, **kwargs,
    )


# --- access ---------------------------------------------------------------------------------------

def _all_urls(customer, contact):
    return [
        ("get", url("list")), ("get", url("create")), ("get", url("export")),
        ("get", url("detail", customer.pk)), ("get", url("edit", customer.pk)),
        ("get", url("assign", customer.pk)), ("post", url("delete", customer.pk)),
        ("get", url("contact_create", customer.pk)),
        ("get", url("contact_edit", customer.pk, contact.pk)),
        ("post", url("contact_delete", customer.pk, contact.pk)),
    ]


def test_anonymous_is_sent_to_log_in(client, org):
    contact = ContactFactory(customer=CustomerFactory(owner=org.rep))
    for method, address in _all_urls(contact.customer, contact):
        response = getattr(client, method)(address)
        assert response.status_code == 302, address
        assert response.url.startswith(reverse("login")), address
    assert Customer.objects.count() == 1 and Contact.objects.count() == 1


@pytest.mark.parametrize("name,method,needs_record", [
    ("create", "get", False), ("create", "post", False), ("export", "get", False),
    ("edit", "get", True), ("edit", "post", True), ("assign", "get", True), ("assign", "post", True),
    ("delete", "get", True), ("delete", "post", True), ("contact_create", "post", True),
])
def test_role_without_the_action_gets_403(client, org, name, method, needs_record):
    customer = CustomerFactory(owner=org.rep)  # visible to the viewer (team scope, view only)
    before = snapshot(customer)
    login(client, org.viewer)
    args = (customer.pk,) if needs_record else ()
    response = getattr(client, method)(url(name, *args), form_data(name="改名"))
    assert response.status_code == 403
    assert b'data-testid="error-403"' in response.content
    assert snapshot(customer) == before
    assert Customer.objects.count() == 1


def test_sales_role_cannot_assign_or_delete(client, org):
    customer = CustomerFactory(owner=org.rep)
    before = snapshot(customer)
    login(client, org.rep)
    assert client.post(url("assign", customer.pk), {"owner": org.teammate.pk}).status_code == 403
    assert client.post(url("delete", customer.pk)).status_code == 403
    assert snapshot(customer) == before


def test_out_of_scope_record_is_404_and_refused_writes_change_nothing(client, org):
    customer = CustomerFactory(owner=org.sh_rep, name="上海客户")  # outside the manager's subordinates
    TagFactory(name="VIP")
    contact = ContactFactory(customer=customer, name="上海联系人")
    before = snapshot(customer)
    contact_before = Contact.objects.filter(pk=contact.pk).values().get()
    login(client, org.manager)  # has change, assign and delete
    requests = [
        ("get", url("detail", customer.pk), {}),
        ("get", url("edit", customer.pk), {}),
        ("post", url("edit", customer.pk), form_data(name="被改了", owner=org.manager.pk)),
        ("get", url("assign", customer.pk), {}),
        ("post", url("assign", customer.pk), {"owner": org.manager.pk, "reason": "grab"}),
        ("get", url("delete", customer.pk), {}),
        ("post", url("delete", customer.pk), {}),
        ("get", url("contact_create", customer.pk), {}),
        ("post", url("contact_create", customer.pk), {"name": "新联系人"}),
        ("get", url("contact_edit", customer.pk, contact.pk), {}),
        ("post", url("contact_edit", customer.pk, contact.pk), {"name": "改名"}),
        ("post", url("contact_delete", customer.pk, contact.pk), {}),
    ]
    for method, address, data in requests:
        response = getattr(client, method)(address, data)
        assert response.status_code == 404, (method, address)
        assert "上海客户".encode() not in response.content
    assert snapshot(customer) == before
    assert Contact.objects.filter(pk=contact.pk).values().get() == contact_before
    assert not OwnershipChange.objects.filter(customer=customer).exists()


def test_contact_of_another_customer_is_404(client, org):
    mine = CustomerFactory(owner=org.rep)
    other = ContactFactory(customer=CustomerFactory(owner=org.rep), name="别家的")
    login(client, org.rep)
    assert client.get(url("contact_edit", mine.pk, other.pk)).status_code == 404
    assert client.post(url("contact_delete", mine.pk, other.pk)).status_code == 404
    assert Contact.objects.filter(pk=other.pk).exists()


# --- list -----------------------------------------------------------------------------------------

def test_list_shows_only_visible_customers(client, org):
    CustomerFactory(owner=org.rep, name="我的客户")
    CustomerFactory(owner=org.teammate, name="同事的客户")
    CustomerFactory(owner=org.sh_rep, name="上海的客户")
    login(client, org.rep)
    response = client.get(url("list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "我的客户" in text
    assert "同事的客户" not in text and "上海的客户" not in text
    assert text.count('data-testid="customer-row"') == 1


def test_owner_and_branch_filters_offer_only_what_the_viewer_may_see(client, org):
    login(client, org.rep)
    text = client.get(url("list")).content.decode()
    assert org.rep.full_name in text
    for outsider in (org.teammate, org.sh_rep, org.manager, org.ceo):
        assert outsider.full_name not in text
    for unit in (org.sh1, org.bj2, org.tj1):
        assert f">{unit.name}<" not in text
    login(client, org.manager)
    text = client.get(url("list")).content.decode()
    assert org.sub.full_name in text and org.subsub.full_name in text
    assert org.teammate.full_name not in text


def test_filter_by_owner_and_status(client, org):
    CustomerFactory(owner=org.rep, name="李的客户", status="active")
    CustomerFactory(owner=org.sub, name="赵的客户", status="active")
    CustomerFactory(owner=org.sub, name="赵的潜在客户", status="prospect")
    login(client, org.manager)
    text = client.get(url("list"), {"owner": org.sub.pk, "status": "active"}).content.decode()
    assert "赵的客户" in text
    assert "李的客户" not in text and "赵的潜在客户" not in text


def test_filter_by_someone_outside_scope_is_refused(client, org):
    CustomerFactory(owner=org.rep, name="我的客户")
    login(client, org.rep)
    response = client.get(url("list"), {"owner": org.sh_rep.pk})
    assert response.status_code == 200
    assert b'data-testid="filter-error-owner"' in response.content
    assert org.sh_rep.full_name.encode() not in response.content


def test_search_by_pinyin_initials(client, org):
    CustomerFactory(owner=org.rep, name="北京星通科技")
    CustomerFactory(owner=org.rep, name="上海远洋贸易")
    login(client, org.rep)
    text = client.get(url("list"), {"q": "bjxt"}).content.decode()
    assert "北京星通科技" in text and "上海远洋贸易" not in text


def test_search_by_phone_prefix_as_typed(client, org):
    CustomerFactory(owner=org.rep, name="电话客户", phone="+8613912345678")
    CustomerFactory(owner=org.rep, name="别的客户", phone="+8613800000000")
    login(client, org.rep)
    text = client.get(url("list"), {"q": "139 1234"}).content.decode()
    assert "电话客户" in text and "别的客户" not in text
    assert "139 1234 5678" in text  # shown in national format


def test_search_by_email(client, org):
    CustomerFactory(owner=org.rep, name="邮件客户", email="zhang@xingtong.cn")
    CustomerFactory(owner=org.rep, name="别的客户", email="li@other.cn")
    login(client, org.rep)
    text = client.get(url("list"), {"q": "zhang@xing"}).content.decode()
    assert "邮件客户" in text and "别的客户" not in text


def test_search_never_finds_customers_outside_scope(client, org):
    CustomerFactory(owner=org.sh_rep, name="北京星通科技")
    login(client, org.rep)
    text = client.get(url("list"), {"q": "bjxt"}).content.decode()
    assert "北京星通科技" not in text
    assert 'data-testid="customer-empty"' in text


def test_htmx_request_gets_only_the_rows(client, org):
    CustomerFactory(owner=org.rep, name="北京星通科技")
    login(client, org.rep)
    response = client.get(url("list"), {"q": "bjxt"}, **HTMX)
    text = response.content.decode()
    assert "<html" not in text and 'data-testid="customer-row"' in text
    assert 'hx-swap-oob="true"' in text  # keeps the sort order of the filter form in step
    full = client.get(url("list"), {"q": "bjxt"}).content.decode()
    assert "<html" in full and 'data-testid="customer-search"' in full


def test_ordering_whitelist(client, org):
    for name in ["b客户", "a客户", "c客户"]:
        CustomerFactory(owner=org.rep, name=name)
    login(client, org.rep)

    def names(**params):
        page = client.get(url("list"), params).context["customers"]
        return [c.name for c in page]

    assert names(ordering="name") == ["a客户", "b客户", "c客户"]
    assert names(ordering="-name") == ["c客户", "b客户", "a客户"]
    assert names(ordering="-created_at") == ["c客户", "a客户", "b客户"]
    assert names(ordering="email") == names()  # not whitelisted: the default order
    assert names(ordering="owner__password") == names()


def test_keyset_pages_walk_the_whole_list(client, org):
    created = [CustomerFactory(owner=org.rep, name=f"客户{i:02d}") for i in range(7)]
    login(client, org.rep)
    seen = []
    address = url("list") + "?ordering=name&page_size=3"
    while address:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(address)
        assert "7 customers" in response.content.decode()
        seen += [c.pk for c in response.context["customers"]]
        address = response.context["next_url"]
        assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)
    assert seen == [c.pk for c in sorted(created, key=lambda c: c.name)]


def test_count_is_capped(client, org, settings):
    settings.CRM_LIST_COUNT_CAP = 3
    for _ in range(5):
        CustomerFactory(owner=org.rep)
    login(client, org.rep)
    text = client.get(url("list")).content.decode()
    assert "More than 3 customers" in text


def test_invalid_cursor_is_404(client, org):
    login(client, org.rep)
    assert client.get(url("list"), {"cursor": "garbage"}).status_code == 404


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("list"))
    assert response.status_code == 200
    return len(ctx), len(response.context["customers"])


def test_list_query_count_does_not_depend_on_rows(client, org):
    tags = [TagFactory(name=f"标签{i}") for i in range(3)]

    def add(n):
        for _ in range(n):
            CustomerFactory(owner=org.rep, city="北京").tags.set(tags)

    login(client, org.rep)
    add(5)
    _list_queries(client)  # warm caches (content types, sessions)
    small, rows_small = _list_queries(client)
    add(35)
    large, rows_large = _list_queries(client)
    assert (rows_small, rows_large) == (5, 40)
    assert small == large


# --- create and edit ------------------------------------------------------------------------------

def test_create_customer(client, org):
    vip = TagFactory(name="VIP")
    login(client, org.rep)
    form_page = client.get(url("create")).content.decode()
    assert 'name="owner"' not in form_page  # the rep may not assign
    response = client.post(url("create"), form_data(tags=[vip.pk], phone="138-1234-5678"))
    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == url("detail", customer.pk)
    assert (customer.owner, customer.branch, customer.phone) == (org.rep, org.bj1, "+8613812345678")
    assert list(customer.tags.all()) == [vip]


def test_overlong_notes_and_a_far_birthday_are_form_errors(client, org):
    login(client, org.rep)
    response = client.post(url("create"), form_data(notes="x" * 10001))
    assert response.status_code == 200 and 'data-testid="field-error-notes"' in response.content.decode()
    assert not Customer.objects.exists()
    customer = CustomerFactory(owner=org.rep)
    response = client.post(url("contact_create", customer.pk), {"name": "新联系人", "birthday": "1800-01-01"})
    assert response.status_code in (200, 400) and 'data-testid="field-error-birthday"' in response.content.decode()
    assert not customer.contacts.exists()


def test_bad_phone_shows_field_error_and_keeps_input(client, org):
    login(client, org.rep)
    response = client.post(url("create"), form_data(phone="12345", name="我输入的名字", notes="我的备注"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="field-error-phone"' in text
    assert "Enter a valid phone number" in text
    assert 'value="我输入的名字"' in text and "我的备注" in text and 'value="12345"' in text
    assert not Customer.objects.exists()


def test_service_error_is_mapped_onto_its_field(client, org):
    login(client, org.rep)
    response = client.post(url("create"), form_data(province="火星省"))
    assert 'data-testid="field-error-province"' in response.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_warning_then_save_anyway(client, org):
    existing = CustomerFactory(owner=org.rep, name="老客户", phone="+8613812345678")
    login(client, org.rep)
    response = client.post(url("create"), form_data(name="新客户"))
    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="duplicate-warning"' in text and 'data-testid="save-anyway"' in text
    assert url("detail", existing.pk) in text and "老客户" in text
    assert 'value="新客户"' in text
    assert Customer.objects.count() == 1
    response = client.post(url("create"), form_data(name="新客户", allow_duplicate="on"))
    assert response.status_code == 302
    assert Customer.objects.filter(name="新客户").exists()


def test_duplicate_outside_scope_is_counted_not_named(client, org):
    CustomerFactory(owner=org.sh_rep, name="上海秘密客户", email="sales@xingtong.cn")
    login(client, org.rep)
    text = client.post(url("create"), form_data()).content.decode()
    assert 'data-testid="duplicate-hidden"' in text
    assert "1 similar customer exists outside your access." in text
    assert "上海秘密客户" not in text
    assert Customer.objects.count() == 1


def test_custom_fields_are_rendered_validated_and_saved(client, org):
    custom_field("fleet_size", CustomFieldType.NUMBER, label="车队规模", required=True)
    custom_field("contract_date", CustomFieldType.DATE, label="签约日期")
    custom_field("tier", CustomFieldType.CHOICE, label="等级", choices=["A", "B"])
    custom_field("has_fault", CustomFieldType.BOOLEAN, label="有故障")
    login(client, org.rep)
    page = client.get(url("create")).content.decode()
    for name in ("cf_fleet_size", "cf_contract_date", "cf_tier", "cf_has_fault"):
        assert f'name="{name}"' in page
    assert 'type="date"' in page and "车队规模" in page

    response = client.post(url("create"), form_data(cf_fleet_size="很多"))
    text = response.content.decode()
    assert 'data-testid="field-error-cf_fleet_size"' in text and "Enter a number." in text
    assert not Customer.objects.exists()

    response = client.post(url("create"), form_data(cf_contract_date=""))
    assert 'data-testid="field-error-cf_fleet_size"' in response.content.decode()  # required

    response = client.post(url("create"), form_data(cf_fleet_size="12", cf_contract_date="2024-03-01",
                                                    cf_tier="B", cf_has_fault="true"))
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.custom_fields == {"fleet_size": 12, "contract_date": "2024-03-01", "tier": "B",
                                      "has_fault": True}
    detail = client.get(url("detail", customer.pk)).content.decode()
    assert "车队规模" in detail and "签约日期" in detail and "2024-03-01" in detail


def test_edit_customer(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data())
    custom_field("fleet_size", CustomFieldType.NUMBER)
    login(client, org.rep)
    page = client.get(url("edit", customer.pk)).content.decode()
    assert 'value="北京星通科技有限公司"' in page
    response = client.post(url("edit", customer.pk), form_data(name="北京星通", status="active",
                                                              cf_fleet_size="3"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.status, customer.custom_fields) == ("北京星通", "active", {"fleet_size": 3})
    assert customer.owner == org.rep


def test_edit_with_new_owner_goes_through_assignment(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data())
    login(client, org.manager)
    page = client.get(url("edit", customer.pk)).content.decode()
    assert 'name="owner"' in page and 'name="reason"' in page
    data = form_data(owner=org.sub.pk, branch=org.bj1.pk, reason="李销售休假")
    response = client.post(url("edit", customer.pk), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.owner == org.sub
    change = OwnershipChange.objects.filter(customer=customer).first()
    assert (change.from_owner, change.to_owner, change.changed_by, change.reason) == (
        org.rep, org.sub, org.manager, "李销售休假")




def test_edit_with_new_owner_and_unchanged_unit_follows_the_owner(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data())
    login(client, org.bj_branch_mgr)
    response = client.post(url("edit", customer.pk), form_data(city="天津", owner=org.other_team_rep.pk,
                                                              branch=org.bj1.pk, reason="换组"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.city, customer.owner, customer.branch) == ("天津", org.other_team_rep, org.bj2)
def test_edit_refused_assignment_rolls_back_the_whole_save(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data())
    before = snapshot(customer)
    login(client, org.manager)
    # An owner outside the manager's reach is not even offered, so the form refuses it.
    response = client.post(url("edit", customer.pk), form_data(name="改名", owner=org.sh_rep.pk))
    assert response.status_code == 200
    assert 'data-testid="field-error-owner"' in response.content.decode()
    assert snapshot(customer) == before


# --- assign and delete ----------------------------------------------------------------------------

def test_assign_customer(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data())
    login(client, org.manager)
    page = client.get(url("assign", customer.pk)).content.decode()
    assert org.sub.full_name in page and org.teammate.full_name not in page
    response = client.post(url("assign", customer.pk), {"owner": org.sub.pk, "reason": "调整"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.owner, customer.branch) == (org.sub, org.bj1)
    assert OwnershipChange.objects.filter(customer=customer, reason="调整", changed_by=org.manager).exists()


def test_delete_customer(client, org):
    customer = CustomerFactory(owner=org.rep)
    ContactFactory(customer=customer)
    login(client, org.manager)
    assert b'data-testid="delete-confirm"' in client.get(url("delete", customer.pk)).content
    response = client.post(url("delete", customer.pk))
    assert response.status_code == 302 and response.url == url("list")
    assert not Customer.objects.exists() and not Contact.objects.exists()


# --- 360° page and contacts -----------------------------------------------------------------------

def test_detail_page(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data(), tags=[TagFactory(name="VIP")])
    services.add_contact(customer, actor=org.rep, data={
        "name": "张三", "title": "采购经理", "purchase_role": "decision_maker", "mobile": "13900001111",
        "preferences": "喜欢喝茶", "important_facts": "女儿在读大学",
    })
    services.assign_customer(customer, actor=org.manager, owner=org.sub, reason="交接")
    login(client, org.rep)
    assert client.get(url("detail", customer.pk)).status_code == 404  # no longer the rep's
    login(client, org.manager)
    text = client.get(url("detail", customer.pk)).content.decode()
    for expected in ("北京星通科技有限公司", "VIP", "张三", "采购经理", "decision maker", "139 0000 1111",
                     "喜欢喝茶", "女儿在读大学", 'data-testid="contact-primary"', "交接", org.sub.full_name,
                     'data-testid="customer-timeline"', 'data-testid="audit-entry"',
                     'data-testid="ownership-change"', "138 1234 5678"):
        assert expected in text, expected


def _detail_queries(client, customer):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("detail", customer.pk))
    assert response.status_code == 200
    return len(ctx), len(response.context["contacts"])


def test_detail_query_count_does_not_depend_on_contacts(client, org):
    customer = services.create_customer(actor=org.rep, data=form_data(), tags=[TagFactory(name="VIP")])
    custom_field("fleet_size", CustomFieldType.NUMBER)
    ContactFactory(customer=customer, is_primary=True)
    login(client, org.rep)
    _detail_queries(client, customer)
    one, n_one = _detail_queries(client, customer)
    for _ in range(19):
        ContactFactory(customer=customer)
    twenty, n_twenty = _detail_queries(client, customer)
    assert (n_one, n_twenty) == (1, 20)
    assert one == twenty


def test_add_contact_inline(client, org):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    form = client.get(url("contact_create", customer.pk), **HTMX).content.decode()
    assert "<html" not in form and 'data-testid="contact-form"' in form
    response = client.post(url("contact_create", customer.pk),
                           {"name": "王五", "mobile": "139-0000-2222", "email": "wang@x.cn"}, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text
    assert 'data-testid="contact-row"' in text and "王五" in text and 'data-testid="contact-form"' not in text
    contact = Contact.objects.get()
    assert (contact.mobile, contact.is_primary) == ("+8613900002222", True)


def test_add_contact_with_bad_mobile_keeps_the_form(client, org):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    response = client.post(url("contact_create", customer.pk), {"name": "王五", "mobile": "123"}, **HTMX)
    text = response.content.decode()
    assert 'data-testid="field-error-mobile"' in text and 'value="王五"' in text
    assert not Contact.objects.exists()


def test_add_contact_without_js(client, org):
    customer = CustomerFactory(owner=org.rep)
    login(client, org.rep)
    assert b"<html" in client.get(url("contact_create", customer.pk)).content
    response = client.post(url("contact_create", customer.pk), {"name": "王五"})
    assert response.status_code == 302 and response.url == url("detail", customer.pk) + "#contacts"
    assert Contact.objects.filter(customer=customer, name="王五").exists()


def test_edit_and_delete_contact_inline(client, org):
    customer = CustomerFactory(owner=org.rep)
    first = ContactFactory(customer=customer, name="甲", is_primary=True)
    second = ContactFactory(customer=customer, name="乙")
    login(client, org.rep)
    page = client.get(url("contact_edit", customer.pk, second.pk), **HTMX).content.decode()
    assert 'value="乙"' in page
    response = client.post(url("contact_edit", customer.pk, second.pk),
                           {"name": "乙二", "title": "总经理", "is_primary": "on"}, **HTMX)
    assert "乙二" in response.content.decode()
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.name, second.title, second.is_primary, first.is_primary) == ("乙二", "总经理", True, False)
    response = client.post(url("contact_delete", customer.pk, second.pk), **HTMX)
    assert response.status_code == 200 and "乙二" not in response.content.decode()
    first.refresh_from_db()
    assert first.is_primary and not Contact.objects.filter(pk=second.pk).exists()


def test_contact_delete_needs_post(client, org):
    contact = ContactFactory(customer=CustomerFactory(owner=org.rep))
    login(client, org.rep)
    assert client.get(url("contact_delete", contact.customer_id, contact.pk)).status_code == 405
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- export ---------------------------------------------------------------------------------------

def _export(client, **params):
    response = client.get(url("export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_is_limited_to_visible_filtered_rows(client, org):
    custom_field("fleet_size", CustomFieldType.NUMBER, label="车队规模")
    mine = CustomerFactory(owner=org.rep, name="北京星通科技", custom_fields={"fleet_size": 7})
    mine.tags.set([TagFactory(name="VIP")])
    CustomerFactory(owner=org.rep, name="上海远洋贸易")
    CustomerFactory(owner=org.teammate, name="同事的客户")
    CustomerFactory(owner=org.sh_rep, name="上海的客户")
    login(client, org.rep)
    rows = _export(client)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["ID", "Kind", "Name"] and header[-1] == "车队规模"
    assert sorted(r[2] for r in body) == ["上海远洋贸易", "北京星通科技"]
    rows = _export(client, q="bjxt")
    assert [r[2] for r in rows[1:]] == ["北京星通科技"]
    row = rows[1]
    assert row[3] == "138 " + row[3][4:] and "VIP" in row and row[-1] == "7"


def test_export_guards_against_spreadsheet_formulas(client, org):
    CustomerFactory(owner=org.rep, name="=HYPERLINK(\"http://x\")")
    login(client, org.rep)
    rows = _export(client)
    assert rows[1][2].startswith("'=")


def test_export_and_list_refuse_an_owner_outside_the_scope(client, org):
    """The filter set narrows the owner filter to the caller's scope: the page says so on the form, the
    export answers 400 instead of exporting an unfiltered list."""
    CustomerFactory(owner=org.rep, name="我的客户")
    login(client, org.rep)
    response = client.get(url("export"), {"owner": org.sh_rep.pk})
    assert response.status_code == 400 and "owner" in response.content.decode()
    assert _export(client, owner=org.rep.pk)[1][2] == "我的客户"
    page = client.get(url("list"), {"owner": org.sh_rep.pk})
    assert page.context["filterset"].errors["owner"]
    assert list(page.context["filterset"].form.fields["owner"].queryset) == [org.rep]


# --- scope matrix ---------------------------------------------------------------------------------

VIEWERS = ["rep", "manager", "team_lead", "bj_branch_mgr", "bj_region_mgr", "sh_rep", "ceo", "admin"]
OWNERS = ["rep", "sub", "subsub", "teammate", "other_team_rep", "tj_rep", "sh_rep", "manager"]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_list_detail_and_export_agree_with_the_visibility_rule(client, org, viewer):
    for owner in OWNERS:
        CustomerFactory(owner=getattr(org, owner), name=f"客户-{owner}")
    user = getattr(org, viewer)
    expected = set(Customer.objects.visible_to(user).values_list("name", flat=True))
    assert expected  # every viewer here sees something, and no viewer but the top sees everything
    login(client, user)
    listed = {c.name for c in client.get(url("list"), {"page_size": 100}).context["customers"]}
    assert listed == expected
    exported = {row[2] for row in _export(client)[1:]}
    assert exported == expected
    for customer in Customer.objects.all():
        status = client.get(url("detail", customer.pk)).status_code
        assert status == (200 if customer.name in expected else 404), (viewer, customer.name)


def test_search_box_and_filters_are_wired_for_htmx(client, org):
    login(client, org.rep)
    text = client.get(url("list"), {"status": "active"}).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in text
    assert 'hx-target="#customer-results"' in text and 'hx-push-url="true"' in text
    assert f'href="{url("export")}?status=active"' in text
