"""The permission registry: codes declared per app, grouped for the role editor, checked by ``require``."""

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView  # before crm.core.api, which DRF's settings name

from crm.accounts.tests.factories import RoleFactory, UserFactory
from crm.core import permissions
from crm.core.api import ANY_USER, CodePermission


def test_every_app_declares_its_rights_and_the_editor_groups_them_by_app():
    groups = {g.app_label: g for g in permissions.grouped()}
    assert {"core", "accounts", "customers", "activities", "sales", "analytics"} <= set(groups)
    assert str(groups["customers"].verbose_name) == "Customers"
    assert "customers.export_customer" in [p.code for p in groups["customers"].permissions]
    assert all(p.app_label == label for label, g in groups.items() for p in g.permissions)
    assert {"sales.change_order", "analytics.refresh", "core.manage_settings"} <= permissions.codes()


def test_a_code_is_prefixed_by_its_app():
    with pytest.raises(ValueError):
        permissions.register("sales.view_order", "x", app_label="customers")
    with pytest.raises(ValueError):
        permissions.register("view_order", "x", app_label="sales")


@pytest.mark.django_db
def test_require_names_the_right_and_superusers_hold_every_code():
    user = UserFactory(role=RoleFactory(name="orders only", permissions=["sales.view_order"]))
    permissions.require(user, "sales.view_order")
    with pytest.raises(PermissionDenied, match="delete draft orders"):
        permissions.require(user, "sales.delete_order")
    with pytest.raises(PermissionDenied):
        permissions.require(None, "sales.view_order")
    boss = UserFactory(role=None, is_superuser=True)
    assert boss.granted_permissions == permissions.codes()
    assert not boss.can("sales.no_such_right")
    boss.is_active = False
    boss.forget_access_cache()
    assert not boss.can("sales.view_order")


@pytest.mark.django_db
def test_api_views_declare_their_codes():
    user = UserFactory(role=RoleFactory(name="reader", permissions=["sales.view_order"]))

    class View(APIView):
        action = None
        allowed_methods = ["GET", "POST"]
        permission_codes = {"GET": "sales.view_order", "POST": "sales.add_order", "special": ANY_USER}

    factory = APIRequestFactory()

    def allowed(method, action=None, view=View):
        request = getattr(factory, method)("/")
        request.user = user
        instance = view()
        instance.action = action
        return CodePermission().has_permission(request, instance)

    assert allowed("get") and allowed("head") and allowed("options")
    assert not allowed("post")
    assert allowed("post", action="special")
    assert allowed("delete")  # a method the view does not take: the view answers 405
    with pytest.raises(ImproperlyConfigured):
        allowed("get", view=type("Undeclared", (), {"action": None}))
