"""Access contracts of the organisation pages and endpoints (crm.core.testing): the organisation, users and
roles need manage settings to change; the caller's own profile, token and password are open to every
signed-in user."""

import pytest

from crm.accounts.tests.factories import UserFactory
from crm.core.testing import EndpointContract, PageContract

pytestmark = pytest.mark.django_db

SETTINGS_DENIED = ("rep", "viewer", "bj_branch_mgr", "no_role")


class Unit:
    def make_record(self, org):
        return org.bj2


class Settings:
    allowed, denied = "admin", SETTINGS_DENIED


# --- pages --------------------------------------------------------------------------------------------------

class TestUnitList(Unit, Settings, PageContract):
    url_name, list_view, row_attr = "accounts:unit_list", True, "data-unit-id"


class TestUnitEdit(Unit, Settings, PageContract):
    url_name = "accounts:unit_edit"


class TestUserList(Settings, PageContract):
    url_name = "accounts:user_list"

    def grow(self, org, record):
        for i in range(5):
            UserFactory(username=f"contract{i}", org_unit=org.bj1)


class TestUserEdit(Settings, PageContract):
    url_name = "accounts:user_edit"

    def make_record(self, org):
        return org.teammate


class TestRoleList(Settings, PageContract):
    url_name = "accounts:role_list"


class TestToken(PageContract):
    url_name, denied = "accounts:token", ()


class TestPasswordChange(PageContract):
    url_name, denied = "accounts:password_change", ()


class TestTwoFactor(PageContract):
    url_name, denied = "accounts:two_factor", ()


# --- API ----------------------------------------------------------------------------------------------------

class TestMeAPI(EndpointContract):
    url_name, denied = "api-me", ()


class TestUserListAPI(EndpointContract):
    url_name, denied = "api-user-list", ()  # the names to pick an owner from


class TestUnitListAPI(Unit, EndpointContract):
    url_name, list_view, denied = "api-unit-list", True, ()


class TestRoleListAPI(Settings, EndpointContract):
    url_name = "api-role-list"
