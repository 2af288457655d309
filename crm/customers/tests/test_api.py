"""The customer and contact endpoints: scope, validation, duplicates, assignment and pagination."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.core.models import CustomFieldDefinition
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.customers.tests.factories import ContactFactory, CustomerFactory, TagFactory

LIST = "/api/customers/"


def detail(customer):
    return f"/api/customers/{customer.pk}/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def book(org):
    """One customer per relation a scope must separate."""
    return {
        name: CustomerFactory(name=f"{name}的客户", owner=getattr(org, name))
        for name in ["rep", "teammate", "sub", "subsub", "manager", "other_team_rep", "tj_rep", "sh_rep"]
    }


def snapshot(customer):
    customer.refresh_from_db()
    return (customer.name, customer.phone, customer.owner_id, customer.branch_id, customer.updated_at)


# --- authentication and role actions ----------------------------------------------------------------

def test_role_without_action_is_refused(org, book):
    assert client_for(org.no_role).get(LIST).status_code == 403
    response = client_for(org.viewer).post(LIST, {"name": "只读新客户"}, format="json")
    assert response.status_code == 403
    assert not Customer.objects.filter(name="只读新客户").exists()


# --- scope ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "expected"), [
    ("rep", {"rep"}),
    ("manager", {"manager", "rep", "sub", "subsub"}),
    ("team_lead", {"rep", "teammate", "sub", "subsub", "manager"}),
    ("bj_branch_mgr", {"rep", "teammate", "sub", "subsub", "manager", "other_team_rep"}),
    ("bj_region_mgr", {"rep", "teammate", "sub", "subsub", "manager", "other_team_rep", "tj_rep"}),
    ("ceo", {"rep", "teammate", "sub", "subsub", "manager", "other_team_rep", "tj_rep", "sh_rep"}),
])
def test_list_returns_only_visible_records_and_counts_them(org, book, username, expected):
    response = client_for(getattr(org, username)).get(LIST)
    assert response.status_code == 200
    names = {row["name"] for row in response.data["results"]}
    assert names == {f"{n}的客户" for n in expected}
    assert response.data["count"] == len(expected)
    assert response.data["count_is_capped"] is False


def test_out_of_scope_records_are_404_and_unchanged(org, book):
    hidden = book["teammate"]
    before = snapshot(hidden)
    rep = client_for(org.rep)
    assert rep.get(detail(hidden)).status_code == 404
    assert rep.patch(detail(hidden), {"name": "改名"}, format="json").status_code == 404
    assert rep.put(detail(hidden), {"name": "改名"}, format="json").status_code == 404
    assert rep.get(detail(hidden) + "history/").status_code == 404

    manager = client_for(org.manager)  # has delete and assign, but not over Shanghai
    far = book["sh_rep"]
    far_before = snapshot(far)
    assert manager.delete(detail(far)).status_code == 404
    assert manager.post(detail(far) + "assign/", {"owner": org.manager.pk}, format="json").status_code == 404
    assert manager.patch(detail(far), {"owner": org.manager.pk}, format="json").status_code == 404
    assert snapshot(hidden) == before
    assert snapshot(far) == far_before


# --- create, read, update, delete ----------------------------------------------------------------------

def test_create_normalises_phone_and_defaults_owner_and_branch(org):
    TagFactory(name="重点")
    response = client_for(org.rep).post(LIST, {
        "name": "北京星通科技有限公司", "phone": "138 1234 5678", "email": "Info@XingTong.cn",
        "province": "北京市", "city": "北京", "status": "active", "customer_type": "relationship",
        "tags": ["重点"],
    }, format="json")
    assert response.status_code == 201, response.data
    body = response.data
    assert body["phone"] == "+8613812345678"
    assert body["email"] == "info@xingtong.cn"
    assert body["owner"] == org.rep.pk and body["branch"] == org.bj1.pk
    assert body["created_by"] == org.rep.pk
    assert body["name_initials"] == "bjxtkjyxgs"
    assert body["tags"] == ["重点"]
    customer = Customer.objects.get(pk=body["id"])
    assert customer.owner == org.rep and customer.created_by == org.rep
    assert OwnershipChange.objects.filter(customer=customer).count() == 1


def test_read_only_fields_cannot_be_set(org):
    response = client_for(org.rep).post(LIST, {
        "name": "只读字段客户", "created_by": org.ceo.pk, "created_at": "2001-01-01T00:00:00Z",
        "updated_at": "2001-01-01T00:00:00Z", "id": 999999, "name_pinyin": "hack",
    }, format="json")
    assert response.status_code == 201
    customer = Customer.objects.get(name="只读字段客户")
    assert customer.created_by == org.rep
    assert customer.created_at.year > 2001 and customer.pk != 999999
    assert customer.name_pinyin != "hack"
    before = snapshot(customer)
    response = client_for(org.rep).patch(detail(customer), {"created_by": org.ceo.pk, "created_at": "2001-01-01"},
                                         format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.created_by == org.rep and customer.created_at.year > 2001
    assert snapshot(customer)[:4] == before[:4]


def test_update_and_delete(org, book):
    customer = book["rep"]
    response = client_for(org.rep).patch(detail(customer), {"city": "北京", "phone": "010-12345678"}, format="json")
    assert response.status_code == 200, response.data
    customer.refresh_from_db()
    assert customer.city == "北京" and customer.phone == "+861012345678"
    response = client_for(org.rep).put(detail(customer), {"name": "新名字", "status": "dormant"}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.status) == ("新名字", "dormant")
    # The rep has no delete action; the manager has it and sees the rep's records.
    assert client_for(org.rep).delete(detail(customer)).status_code == 403
    assert client_for(org.manager).delete(detail(customer)).status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_owner_and_branch_need_assign(org, book):
    rep = client_for(org.rep)
    response = rep.post(LIST, {"name": "给同事的客户", "owner": org.teammate.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.data
    response = rep.post(LIST, {"name": "别组的客户", "branch": org.bj2.pk}, format="json")
    assert response.status_code == 400 and "branch" in response.data
    assert not Customer.objects.filter(name__in=["给同事的客户", "别组的客户"]).exists()

    customer = book["rep"]
    before = snapshot(customer)
    response = rep.patch(detail(customer), {"owner": org.teammate.pk, "city": "天津"}, format="json")
    assert response.status_code == 400 and "owner" in response.data
    response = rep.patch(detail(customer), {"branch": org.bj2.pk}, format="json")
    assert response.status_code == 400 and "branch" in response.data
    assert snapshot(customer) == before
    # Sending the current values back (as a PUT of a fetched record does) is not a change.
    response = rep.patch(detail(customer), {"owner": org.rep.pk, "branch": org.bj1.pk, "city": "天津"},
                         format="json")
    assert response.status_code == 200


def test_update_with_new_owner_and_unchanged_unit_follows_the_owner(org, book):
    customer = book["rep"]
    # As on the edit page: a new owner with the unit sent back unchanged takes the customer into their unit.
    response = client_for(org.bj_branch_mgr).patch(detail(customer), {"owner": org.other_team_rep.pk,
                                                                       "branch": org.bj1.pk}, format="json")
    assert response.status_code == 200, response.data
    customer.refresh_from_db()
    assert customer.owner == org.other_team_rep and customer.branch == org.bj2
    change = OwnershipChange.objects.filter(customer=customer).first()
    assert (change.changed_by, change.reason) == (org.bj_branch_mgr, "changed through the API")


def test_assign_through_update_and_action(org, book):
    customer = book["rep"]
    manager = client_for(org.manager)
    response = manager.patch(detail(customer), {"owner": org.sub.pk}, format="json")
    assert response.status_code == 200, response.data
    customer.refresh_from_db()
    assert customer.owner == org.sub and customer.branch == org.bj1

    response = manager.post(detail(customer) + "assign/", {"owner": org.rep.pk, "reason": "回到原销售"},
                            format="json")
    assert response.status_code == 200, response.data
    assert response.data["owner"] == org.rep.pk
    history = manager.get(detail(customer) + "history/")
    assert history.status_code == 200
    assert [h["reason"] for h in history.data][:1] == ["回到原销售"]
    assert history.data[0]["from_owner"] == org.sub.pk and history.data[0]["to_owner"] == org.rep.pk

    # A user outside the manager's scope cannot receive the customer.
    response = manager.post(detail(customer) + "assign/", {"owner": org.sh_rep.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.data
    # Without the assign action the action is refused outright.
    before = snapshot(customer)
    assert client_for(org.rep).post(detail(customer) + "assign/", {"owner": org.teammate.pk},
                                    format="json").status_code == 403
    assert snapshot(customer) == before


# --- validation ------------------------------------------------------------------------------------------

@pytest.fixture
def credit_limit(db):
    return CustomFieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Customer), key="credit_limit", label="信用额度",
        field_type="number",
    )


@pytest.mark.parametrize(("payload", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"status": "bogus"}, "status"),
    ({"province": "火星"}, "province"),
    ({"website": "nope"}, "website"),
    ({"tags": ["不存在的标签"]}, "tags"),
    ({"owner": 987654}, "owner"),
    ({"custom_fields": {"credit_limit": "lots"}}, "custom_fields"),
    ({"custom_fields": {"no_such_key": 1}}, "custom_fields"),
    ({"custom_fields": "text"}, "custom_fields"),
    ({"name": ""}, "name"),
])
def test_invalid_input_is_400_with_field_messages(org, credit_limit, payload, field):
    response = client_for(org.rep).post(LIST, {"name": "校验客户", **payload}, format="json")
    assert response.status_code == 400
    assert field in response.data, response.data
    assert not Customer.objects.filter(name="校验客户").exists()


def test_custom_field_errors_are_nested_per_key(org, credit_limit, book):
    response = client_for(org.rep).post(LIST, {"name": "自定义", "custom_fields": {"credit_limit": "x"}},
                                        format="json")
    assert response.status_code == 400
    assert list(response.data["custom_fields"]) == ["credit_limit"]
    response = client_for(org.rep).patch(detail(book["rep"]), {"custom_fields": {"credit_limit": "5000"}},
                                         format="json")
    assert response.status_code == 200
    assert response.data["custom_fields"] == {"credit_limit": 5000}


def test_update_with_bad_phone_leaves_record_unchanged(org, book):
    customer = book["rep"]
    before = snapshot(customer)
    response = client_for(org.rep).patch(detail(customer), {"phone": "0000", "city": "X"}, format="json")
    assert response.status_code == 400 and list(response.data) == ["phone"]
    assert snapshot(customer) == before


def test_malformed_json_and_bad_filters_are_400(org, book):
    rep = client_for(org.rep)
    response = rep.generic("POST", LIST, "{not json", content_type="application/json")
    assert response.status_code == 400
    for query in ["owner=abc", "branch=x", "tag=1.5", "status=bogus", "created_after=yesterday",
                  "ordering=phone", "ordering=-password", "page_size=abc&owner=-1"]:
        response = rep.get(f"{LIST}?{query}")
        assert response.status_code in (400,), (query, response.status_code)


def test_filters_match_the_pages(org, book):
    CustomerFactory(name="北京星通科技有限公司", owner=org.rep, status="active", city="北京")
    rep = client_for(org.rep)
    assert [r["name"] for r in rep.get(f"{LIST}?q=bjxt").data["results"]] == ["北京星通科技有限公司"]
    assert rep.get(f"{LIST}?status=active").data["count"] == 1
    assert rep.get(f"{LIST}?city=北京").data["count"] == 1
    assert rep.get(f"{LIST}?owner={org.rep.pk}").data["count"] == 2
    # Filtering by someone outside the scope is refused like any unknown choice (never a leak).
    response = client_for(org.rep).get(f"{LIST}?owner={org.sh_rep.pk}")
    assert response.status_code == 400 and "owner" in response.data


# --- duplicates ----------------------------------------------------------------------------------------

def test_duplicate_is_refused_until_confirmed(org, book):
    payload = {"name": "rep的客户", "phone": "13900001111"}
    rep = client_for(org.rep)
    response = rep.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert response.data["possible_duplicates"]
    assert response.data["duplicates"] == [{"id": book["rep"].pk, "name": "rep的客户"}]
    assert Customer.objects.filter(name="rep的客户").count() == 1
    # A duplicate outside the caller's scope is counted, never shown.
    response = rep.post(LIST, {"name": "sh_rep的客户"}, format="json")
    assert response.status_code == 400
    assert response.data["duplicates"] == [] and response.data["hidden_duplicates"] == 1
    response = rep.post(LIST, {**payload, "allow_duplicate": True}, format="json")
    assert response.status_code == 201
    assert Customer.objects.filter(name="rep的客户").count() == 2


# --- pagination ----------------------------------------------------------------------------------------

def walk(client, url):
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.data
        seen += [row["id"] for row in response.data["results"]]
        url, pages = response.data["next"], pages + 1
    return seen, pages


@pytest.mark.parametrize("ordering", ["name", "-name", "created_at", "-updated_at", None])
def test_cursor_walks_every_page_without_gaps_or_repeats(org, ordering):
    # Repeated names straddle page boundaries: the cursor must still be a total order.
    for i in range(23):
        CustomerFactory(name=f"客户{i % 4}", owner=org.rep)
    query = f"?page_size=5&ordering={ordering}" if ordering else "?page_size=5"
    ids, pages = walk(client_for(org.rep), LIST + query)
    expected = list(Customer.objects.visible_to(org.rep).values_list("pk", flat=True))
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids)) == 23
    assert pages == 5
    if ordering and ordering.lstrip("-") == "name":
        names = [Customer.objects.get(pk=i).name for i in ids]
        assert names == sorted(names, reverse=ordering.startswith("-"))


def test_list_query_count_does_not_grow_with_page_size(org):
    tags = [TagFactory(name=f"标签{i}") for i in range(3)]
    for i in range(30):
        CustomerFactory(name=f"客户{i}", owner=org.rep if i % 2 else org.sub).tags.set(tags[: i % 3])
    client = client_for(org.manager)
    client.get(LIST)  # the caller's data scope is computed once and cached on the user
    counts = []
    for size in (2, 25):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{LIST}?page_size={size}")
        assert response.status_code == 200 and len(response.data["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 3  # count, page, tags


# --- contacts ------------------------------------------------------------------------------------------

def test_contacts_follow_their_customer(org, book):
    mine = ContactFactory(customer=book["rep"], name="张三")
    hidden = ContactFactory(customer=book["teammate"], name="李四")
    rep = client_for(org.rep)
    response = rep.get("/api/contacts/")
    assert [c["name"] for c in response.data["results"]] == ["张三"] and response.data["count"] == 1
    assert rep.get(f"/api/contacts/{hidden.pk}/").status_code == 404
    assert rep.patch(f"/api/contacts/{hidden.pk}/", {"title": "x"}, format="json").status_code == 404
    assert rep.delete(f"/api/contacts/{hidden.pk}/").status_code == 404
    assert rep.get(f"/api/contacts/?customer={book['rep'].pk}").data["count"] == 1
    assert rep.get(f"/api/contacts/?customer={book['teammate'].pk}").data["count"] == 0
    assert rep.get("/api/contacts/?customer=abc").status_code == 400
    assert rep.get(f"/api/contacts/{mine.pk}/").data["customer_name"] == "rep的客户"


def test_contact_create_update_delete(org, book):
    rep = client_for(org.rep)
    response = rep.post("/api/contacts/", {
        "customer": book["rep"].pk, "name": "王采购", "mobile": "13912345678", "purchase_role": "buyer",
        "birthday": "1980-05-01", "preferences": "微信联系",
    }, format="json")
    assert response.status_code == 201, response.data
    assert response.data["mobile"] == "+8613912345678" and response.data["is_primary"] is True
    contact_id = response.data["id"]
    response = rep.patch(f"/api/contacts/{contact_id}/", {"title": "采购经理"}, format="json")
    assert response.status_code == 200 and response.data["title"] == "采购经理"
    response = rep.patch(f"/api/contacts/{contact_id}/", {"customer": book["teammate"].pk}, format="json")
    assert response.status_code == 400 and "customer" in response.data
    response = rep.patch(f"/api/contacts/{contact_id}/", {"mobile": "123"}, format="json")
    assert response.status_code == 400 and "mobile" in response.data
    assert rep.delete(f"/api/contacts/{contact_id}/").status_code == 204
    assert not Contact.objects.filter(pk=contact_id).exists()


def test_contact_for_invisible_customer_is_refused_without_writing(org, book):
    response = client_for(org.rep).post("/api/contacts/", {"customer": book["teammate"].pk, "name": "偷偷"},
                                        format="json")
    assert response.status_code == 400 and "customer" in response.data
    assert not Contact.objects.filter(name="偷偷").exists()


def test_tags_endpoint_lists_names(org):
    TagFactory(name="VIP")
    response = client_for(org.rep).get("/api/tags/")
    assert response.status_code == 200 and [t["name"] for t in response.data["results"]] == ["VIP"]


# --- authorisation matrix ------------------------------------------------------------------------------

USERS = ["rep", "sub", "subsub", "teammate", "manager", "team_lead", "other_team_rep", "bj_branch_mgr",
         "bj_region_mgr", "tj_rep", "sh_rep", "ceo", "viewer", "no_role", "admin"]


@pytest.mark.parametrize("username", USERS)
def test_every_role_sees_and_changes_exactly_its_scope(org, book, username):
    """Each caller × each relation (own, subordinate's, teammate's, other team's, other branch's):
    reads and writes succeed exactly on visible records; refused writes change nothing."""
    user = getattr(org, username)
    client = client_for(user)
    visible = set(Customer.objects.visible_to(user).values_list("pk", flat=True))
    contacts = {key: ContactFactory(customer=c) for key, c in book.items()}
    for key, customer in book.items():
        before = snapshot(customer)
        can_see = customer.pk in visible
        read = client.get(detail(customer)).status_code
        assert read == (200 if can_see else 403 if not user.can("customers.view_customer") else 404), (key, read)
        write = client.patch(detail(customer), {"notes": f"{username} was here"}, format="json").status_code
        if not user.can("customers.change_customer"):
            assert write == 403
        else:
            assert write == (200 if can_see else 404), (key, write)
        if write != 200:
            assert snapshot(customer) == before
        contact_read = client.get(f"/api/contacts/{contacts[key].pk}/").status_code
        expected = 200 if can_see else 403 if not user.can("customers.view_customer") else 404
        assert contact_read == expected, (key, contact_read)
    if user.can("customers.view_customer"):
        listed = client.get(f"{LIST}?page_size=200").data
        assert {row["id"] for row in listed["results"]} == visible and listed["count"] == len(visible)
        listed = client.get("/api/contacts/?page_size=200").data
        assert {row["customer"] for row in listed["results"]} == visible


# --- filters narrowed to the caller's scope ----------------------------------------------------------

@pytest.mark.parametrize(("param", "inside", "outside"), [("owner", "rep", "sh_rep"), ("branch", "bj1", "sh1")])
def test_owner_and_branch_filters_accept_only_what_the_caller_may_see(org, param, inside, outside):
    """A team lead filters by people and units of their team; another branch's id is a 400 under the
    parameter, as on the page; a caller who sees everything may use it."""
    CustomerFactory(owner=org.rep, branch=org.bj1)
    CustomerFactory(owner=org.sh_rep, branch=org.sh1)
    lead = client_for(org.team_lead)
    response = lead.get(LIST, {param: getattr(org, inside).pk})
    assert response.status_code == 200 and response.data["count"] == 1
    response = lead.get(LIST, {param: getattr(org, outside).pk})
    assert response.status_code == 400 and list(response.data) == [param]
    assert client_for(org.ceo).get(LIST, {param: getattr(org, outside).pk}).data["count"] == 1
