"""What a user sees follows their role: an admin's change applies from the user's next page."""

import pytest
from playwright.sync_api import expect

from crm.accounts.choices import DataScopeKind
from crm.accounts.tests.factories import SALES_ACTIONS, RoleFactory
from crm.customers.tests.factories import CustomerFactory
from e2e.pages import CustomerDetailPage, CustomerListPage, RoleEditorPage, UserAdminPage

pytestmark = pytest.mark.e2e


def test_admin_widening_a_role_scope_changes_what_the_user_sees(org, login):
    team_role = RoleFactory(name="团队销售", data_scope=DataScopeKind.TEAM, actions=list(SALES_ACTIONS))
    own = CustomerFactory(name="北京星通科技有限公司", owner=org.rep)
    teammates = CustomerFactory(name="北京华宇建材有限公司", owner=org.teammate)
    other_team = CustomerFactory(name="北京二组客户有限公司", owner=org.other_team_rep)
    other_branch = CustomerFactory(name="上海浦江物流有限公司", owner=org.sh_rep)

    rep_page = login("rep")
    admin_page = login("admin")
    rep_list = CustomerListPage(rep_page)
    expect(rep_list.names).to_have_text([own.name])
    response = rep_page.goto(CustomerDetailPage(rep_page).url(teammates.pk))
    assert response.status == 404

    users = UserAdminPage(admin_page).open()
    expect(users.row("rep")).to_be_visible()
    users.edit("rep").set_role(team_role).save()
    expect(users.row("rep").get_by_test_id("user-row-role")).to_have_text(team_role.name)

    rep_list.open()
    expect(rep_list.rows).to_have_count(2)
    expect(rep_list.row(own.name)).to_be_visible()
    expect(rep_list.row(teammates.name)).to_be_visible()
    for hidden in (other_team, other_branch):
        expect(rep_list.row(hidden.name)).to_have_count(0)
    detail = rep_list.open_customer(teammates.name)
    expect(detail.owner_name).to_have_text(org.teammate.display_name)


def test_admin_grants_a_right_in_its_apps_group_and_the_user_gets_the_button(org, login):
    customer = CustomerFactory(name="北京星通科技有限公司", owner=org.rep)
    role = org.rep.role
    assert not org.rep.can("customers.delete_customer")
    detail = CustomerDetailPage(login("rep")).open(customer.pk)
    expect(detail.page.get_by_test_id("customer-delete")).to_have_count(0)

    editor = RoleEditorPage(login("admin")).open(role.pk)
    customers = editor.group("customers")
    expect(customers.locator("legend")).to_have_text(["客户" if editor.html_lang.startswith("zh") else "Customers"])
    expect(customers.get_by_test_id("role-permission-customers.view_customer")).to_be_checked()
    expect(editor.group("sales").get_by_test_id("role-permission-sales.view_order")).to_be_visible()
    customers.get_by_test_id("role-permission-customers.delete_customer").check()
    editor.save()

    detail.open(customer.pk)
    expect(detail.page.get_by_test_id("customer-delete")).to_be_visible()
