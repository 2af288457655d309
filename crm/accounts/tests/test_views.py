"""Administration pages: organisation tree, users, roles, and the API token page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.accounts.choices import Action, DataScopeKind, UnitKind
from crm.accounts.models import OrgUnit, Role, User
from crm.accounts.tests.factories import OrgUnitFactory, UserFactory
from crm.core.models import AuditEntry
from crm.core.permissions import codes_for_verbs, registered
from crm.customers.models import Customer
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

STRONG = "Lotus-blossom-2024!"


def _pages(org):
    return [
        reverse("accounts:unit_list"),
        reverse("accounts:unit_create"),
        reverse("accounts:unit_edit", args=[org.bj1.pk]),
        reverse("accounts:unit_delete", args=[org.bj2.pk]),
        reverse("accounts:user_list"),
        reverse("accounts:user_create"),
        reverse("accounts:user_edit", args=[org.rep.pk]),
        reverse("accounts:role_list"),
        reverse("accounts:role_create"),
        reverse("accounts:role_edit", args=[org.rep.role.pk]),
    ]


@pytest.fixture
def admin_client(client, org):
    client.force_login(org.admin)
    return client


# --- permissions ------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client, org):
    for url in [*_pages(org), reverse("accounts:token")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("username", ["rep", "manager", "team_lead", "bj_region_mgr", "viewer", "no_role"])
def test_users_without_manage_settings_get_403(client, org, username):
    client.force_login(getattr(org, username))
    for url in _pages(org):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url
    assert OrgUnit.objects.filter(name="x").count() == 0


@pytest.mark.parametrize("username", ["admin", "ceo"])
def test_users_with_manage_settings_see_every_page(client, org, username):
    client.force_login(getattr(org, username))
    for url in _pages(org):
        assert client.get(url).status_code == 200, url


def test_role_with_manage_settings_only_is_enough(client, org):
    org.rep.role = Role.objects.create(name="settings", permissions=codes_for_verbs([Action.MANAGE_SETTINGS]))
    org.rep.save()
    client.force_login(org.rep)
    assert client.get(reverse("accounts:user_list")).status_code == 200


# --- organisation tree ----------------------------------------------------------------------------
def test_unit_tree_shows_units_in_order_with_member_counts(admin_client, org):
    response = admin_client.get(reverse("accounts:unit_list"))
    units = response.context["units"]
    assert [u.pk for u in units] == list(OrgUnit.objects.order_by("path").values_list("pk", flat=True))
    by_name = {u.name: u for u in units}
    bj1_members = User.objects.filter(org_unit=org.bj1, is_active=True).count()
    assert by_name["北京一组"].member_count == bj1_members
    assert by_name["北京分公司"].subtree_member_count == User.objects.filter(
        org_unit__path__startswith=org.bj.path, is_active=True).count()
    assert by_name["北京一组"].tree_depth == 2
    assert b'data-testid="unit-row"' in response.content


def test_create_unit(admin_client, org):
    response = admin_client.post(reverse("accounts:unit_create"),
                                 {"name": "北京三组", "kind": UnitKind.TEAM, "parent": org.bj.pk})
    assert response.status_code == 302
    unit = OrgUnit.objects.get(name="北京三组")
    assert unit.path == f"{org.bj.path}{unit.pk}/"
    assert AuditEntry.objects.filter(object_id=str(unit.pk), action="create", actor=org.admin).exists()


def test_create_unit_without_parent_must_be_head_office(admin_client, org):
    response = admin_client.post(reverse("accounts:unit_create"), {"name": "孤儿", "kind": UnitKind.TEAM})
    assert response.status_code == 400
    assert "parent" in response.context["form"].errors
    assert not OrgUnit.objects.filter(name="孤儿").exists()


def test_moving_a_unit_moves_its_subtree(admin_client, org):
    response = admin_client.post(reverse("accounts:unit_edit", args=[org.tj.pk]),
                                 {"name": org.tj.name, "kind": UnitKind.BRANCH, "parent": org.sh.pk})
    assert response.status_code == 302
    org.tj.refresh_from_db()
    org.tj1.refresh_from_db()
    assert org.tj.path == f"{org.sh.path}{org.tj.pk}/"
    assert org.tj1.path == f"{org.tj.path}{org.tj1.pk}/"
    # The moved team's members now belong to the Shanghai branch's tree.
    assert org.tj_rep.org_unit.path.startswith(org.sh.path) or OrgUnit.objects.get(
        pk=org.tj_rep.org_unit_id).path.startswith(org.sh.path)


@pytest.mark.parametrize("target", ["bj", "bj1", "tj", "tj1"])
def test_moving_a_unit_under_itself_or_its_subtree_is_refused(admin_client, org, target):
    before = dict(OrgUnit.objects.values_list("pk", "path"))
    parents = dict(OrgUnit.objects.values_list("pk", "parent_id"))
    response = admin_client.post(reverse("accounts:unit_edit", args=[org.bj.pk]),
                                 {"name": "北京分公司", "kind": UnitKind.BRANCH, "parent": getattr(org, target).pk})
    assert response.status_code == 400
    assert response.context["form"].errors["parent"]
    assert dict(OrgUnit.objects.values_list("pk", "path")) == before
    assert dict(OrgUnit.objects.values_list("pk", "parent_id")) == parents


def test_deleting_a_unit_with_members_or_sub_units_is_refused(admin_client, org):
    for unit in (org.bj1, org.bj):  # bj1 has members; bj has sub-units
        response = admin_client.post(reverse("accounts:unit_delete", args=[unit.pk]))
        assert response.status_code == 400
        assert response.context["error"]
        assert b'data-testid="unit-delete-error"' in response.content
        unit_after = OrgUnit.objects.get(pk=unit.pk)
        assert (unit_after.name, unit_after.path, unit_after.parent_id) == (unit.name, unit.path, unit.parent_id)
    assert User.objects.filter(org_unit=org.bj1).count() > 0


def test_deleting_an_empty_unit(admin_client, org):
    empty = OrgUnitFactory(name="空组", kind=UnitKind.TEAM, parent=org.bj)
    assert admin_client.get(reverse("accounts:unit_delete", args=[empty.pk])).status_code == 200
    response = admin_client.post(reverse("accounts:unit_delete", args=[empty.pk]))
    assert response.status_code == 302
    assert not OrgUnit.objects.filter(pk=empty.pk).exists()
    assert AuditEntry.objects.filter(object_id=str(empty.pk), action="delete").exists()


# --- users --------------------------------------------------------------------------------------------
def _user_data(**overrides):
    data = {"username": "newbie", "full_name": "新同事", "email": "newbie@example.com", "phone": "13800138000",
            "org_unit": "", "manager": "", "role": "", "is_active": "on", "password1": STRONG, "password2": STRONG}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_user_list_shows_users_with_unit_role_and_manager(admin_client, org):
    response = admin_client.get(reverse("accounts:user_list"))
    content = response.content.decode()
    assert content.count('data-testid="user-row"') == User.objects.count()
    assert 'data-username="rep"' in content
    assert "王经理" in content  # the rep's manager


def test_user_list_search(admin_client, org):
    response = admin_client.get(reverse("accounts:user_list"), {"q": "上海"})
    assert [u.username for u in response.context["users"]] == ["sh_rep"]
    response = admin_client.get(reverse("accounts:user_list"), {"q": "tj_"})
    assert [u.username for u in response.context["users"]] == ["tj_rep"]


def test_user_list_search_with_htmx_returns_the_rows_only(admin_client, org):
    response = admin_client.get(reverse("accounts:user_list"), {"q": "rep"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert 'data-username="rep"' in content and 'data-username="ceo"' not in content


def test_user_list_query_count_does_not_grow_with_rows(admin_client, org):
    url = reverse("accounts:user_list")
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for i in range(15):
        UserFactory(username=f"extra{i}", org_unit=org.sh1, manager=org.sh_rep)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert len(response.context["users"]) == User.objects.count()
    assert len(many) == len(few)


def test_create_user(admin_client, org):
    own = org.rep.role
    response = admin_client.post(reverse("accounts:user_create"), _user_data(
        org_unit=org.bj2.pk, manager=org.manager.pk, role=own.pk))
    assert response.status_code == 302, response.context and response.context["form"].errors
    user = User.objects.get(username="newbie")
    assert (user.org_unit, user.manager, user.role, user.is_active) == (org.bj2, org.manager, own, True)
    assert user.check_password(STRONG)
    assert AuditEntry.objects.filter(object_id=str(user.pk), action="create", actor=org.admin).exists()
    assert "password" not in AuditEntry.objects.get(object_id=str(user.pk), action="create").changes


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "newbie123"])
def test_create_user_refuses_weak_passwords(admin_client, org, password):
    response = admin_client.post(reverse("accounts:user_create"),
                                 _user_data(password1=password, password2=password))
    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(username="newbie").exists()


def test_create_user_needs_a_password_and_matching_repeat(admin_client, org):
    response = admin_client.post(reverse("accounts:user_create"), _user_data(password1="", password2=""))
    assert response.context["form"].errors["password1"]
    response = admin_client.post(reverse("accounts:user_create"), _user_data(password2=STRONG + "x"))
    assert response.context["form"].errors["password2"]
    assert not User.objects.filter(username="newbie").exists()


def test_edit_user_keeps_password_when_left_empty(admin_client, org):
    response = admin_client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _user_data(
        username="rep", full_name="李销售", email="rep@example.com", org_unit=org.bj1.pk,
        manager=org.manager.pk, role=org.rep.role.pk, password1="", password2=""))
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert org.rep.check_password("pw-Secret-123")


def test_edit_user_sets_a_new_password(admin_client, org):
    admin_client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _user_data(
        username="rep", role=org.rep.role.pk, org_unit=org.bj1.pk))
    org.rep.refresh_from_db()
    assert org.rep.check_password(STRONG)


def test_manager_loop_is_refused(admin_client, org):
    # manager <- sub <- subsub: making subsub the manager's manager would close a loop.
    response = admin_client.post(reverse("accounts:user_edit", args=[org.manager.pk]), _user_data(
        username="manager", org_unit=org.bj1.pk, manager=org.subsub.pk, role=org.manager.role.pk,
        password1="", password2=""))
    assert response.status_code == 400
    assert response.context["form"].errors["manager"]
    org.manager.refresh_from_db()
    assert org.manager.manager_id is None


def test_deactivating_a_user_keeps_their_customers(admin_client, org):
    customer = CustomerFactory(owner=org.rep)
    response = admin_client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _user_data(
        username="rep", org_unit=org.bj1.pk, role=org.rep.role.pk, is_active=None, password1="", password2=""))
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert not org.rep.is_active
    customer.refresh_from_db()
    assert customer.owner_id == org.rep.pk
    assert Customer.objects.visible_to(org.team_lead).filter(pk=customer.pk).exists()


def test_admin_cannot_deactivate_themselves(admin_client, org):
    response = admin_client.post(reverse("accounts:user_edit", args=[org.admin.pk]), _user_data(
        username="admin", org_unit=org.hq.pk, is_active=None, password1="", password2=""))
    assert response.status_code == 400
    org.admin.refresh_from_db()
    assert org.admin.is_active


def test_changing_a_users_role_changes_what_they_see(admin_client, client, org):
    mine = CustomerFactory(owner=org.rep)
    teammates = CustomerFactory(owner=org.teammate)
    shanghai = CustomerFactory(owner=org.sh_rep)
    assert set(Customer.objects.visible_to(User.objects.get(pk=org.rep.pk))) == {mine}

    team_role = org.team_lead.role
    response = admin_client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _user_data(
        username="rep", full_name="李销售", org_unit=org.bj1.pk, manager=org.manager.pk, role=team_role.pk,
        password1="", password2=""))
    assert response.status_code == 302
    rep = User.objects.get(pk=org.rep.pk)  # as the next request loads them
    assert rep.data_scope().unit_ids == frozenset({org.bj1.pk})
    seen = set(Customer.objects.visible_to(rep))
    assert {mine, teammates} <= seen and shanghai not in seen


# --- roles ------------------------------------------------------------------------------------------------
def test_role_page_explains_every_scope_and_has_stable_test_ids(admin_client, org):
    content = admin_client.get(reverse("accounts:role_create")).content.decode()
    for scope in DataScopeKind.values:
        assert f'data-testid="scope-{scope}"' in content
        assert f'data-testid="scope-help-{scope}"' in content
    for permission in registered():
        assert f'data-testid="role-permission-{permission.code}"' in content
    assert 'data-testid="role-save"' in content


def test_role_editor_groups_rights_by_app(admin_client, org):
    role = org.rep.role
    content = admin_client.get(reverse("accounts:role_edit", args=[role.pk])).content.decode()
    for app_label, verbose_name in (("customers", "Customers"), ("activities", "Activities"), ("sales", "Sales"),
                                    ("analytics", "Analytics"), ("accounts", "Accounts and access"), ("core", "Core")):
        start = content.index(f'data-testid="role-permissions-{app_label}"')
        group = content[start:content.index("</fieldset>", start)]
        assert f"<legend>{verbose_name}</legend>" in group
        codes = [p.code for p in registered() if p.app_label == app_label]
        assert codes and all(f'data-testid="role-permission-{code}"' in group for code in codes), app_label
    # the boxes of the rights the role grants are ticked
    assert _ticked(content, "customers.view_customer")
    assert not _ticked(content, "customers.delete_customer")


def _ticked(content, code):
    tag = content[content.rindex("<input", 0, content.index(f'data-testid="role-permission-{code}"')):]
    return " checked" in tag[:tag.index(">")]


def test_create_role(admin_client, org):
    response = admin_client.post(reverse("accounts:role_create"), {
        "name": "客服", "description": "售后", "permissions": ["sales.change_order", "customers.view_customer"],
        "data_scope": DataScopeKind.BRANCH})
    assert response.status_code == 302
    role = Role.objects.get(name="客服")
    assert role.permissions == ["customers.view_customer", "sales.change_order"]
    assert role.data_scope == DataScopeKind.BRANCH


def test_role_needs_a_valid_scope_and_unique_name(admin_client, org):
    response = admin_client.post(reverse("accounts:role_create"), {"name": org.rep.role.name,
                                                                   "data_scope": "galaxy"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "name" in errors and "data_scope" in errors


def test_changing_a_roles_scope_changes_its_users_data_scope(admin_client, org):
    role = org.rep.role  # "own", shared by several reps
    response = admin_client.post(reverse("accounts:role_edit", args=[role.pk]), {
        "name": role.name, "permissions": role.permissions, "data_scope": DataScopeKind.ALL})
    assert response.status_code == 302
    assert User.objects.get(pk=org.rep.pk).data_scope().all
    assert User.objects.get(pk=org.sh_rep.pk).data_scope().all


# --- API token --------------------------------------------------------------------------------------------
def test_token_page_creates_shows_once_and_regenerates(client, org):
    client.force_login(org.rep)
    response = client.get(reverse("accounts:token"))
    assert response.status_code == 200 and response.context["existing"] is None
    response = client.post(reverse("accounts:token"), {"action": "generate"})
    key = Token.objects.get(user=org.rep).key
    assert response.context["new_key"] == key and key in response.content.decode()
    assert key not in client.get(reverse("accounts:token")).content.decode()  # shown only once
    client.post(reverse("accounts:token"), {"action": "generate"})
    assert Token.objects.get(user=org.rep).key != key
    client.post(reverse("accounts:token"), {"action": "revoke"})
    assert not Token.objects.filter(user=org.rep).exists()
    entries = AuditEntry.objects.filter(object_id=str(org.rep.pk), changes__has_key="api_token")
    assert entries.count() == 3
    assert all(key not in str(e.changes) for e in entries)
