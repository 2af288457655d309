"""Django admin: every registered model opens for a superuser; history stays read-only."""

import pytest
from django.contrib import admin
from django.urls import reverse

from crm.accounts.choices import UnitKind
from crm.accounts.models import OrgUnit, User
from crm.core.models import AuditEntry, CustomFieldDefinition
from crm.customers.models import Contact, Customer, OwnershipChange, Tag
from crm.customers.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

REGISTERED = [User, OrgUnit, Customer, Contact, Tag, OwnershipChange, CustomFieldDefinition, AuditEntry]


@pytest.fixture
def admin_client(client, org):
    client.force_login(org.admin)
    return client


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_models_are_registered():
    from crm.accounts.models import Role

    for model in [*REGISTERED, Role]:
        assert admin.site.is_registered(model), model


def test_changelists_and_change_pages_open(admin_client, org):
    contact = ContactFactory()
    objects = {User: org.rep, OrgUnit: org.bj1, Customer: contact.customer, Contact: contact,
               AuditEntry: AuditEntry.objects.first()}
    for model in REGISTERED:
        assert admin_client.get(_url(model, "changelist")).status_code == 200, model
    for model, obj in objects.items():
        assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200, model


def test_audit_entries_and_ownership_changes_are_read_only(admin_client, org):
    entry = AuditEntry.objects.first()
    for model in (AuditEntry, OwnershipChange):
        model_admin = admin.site._registry[model]
        request = type("R", (), {"user": org.admin})()
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
    assert admin_client.get(_url(AuditEntry, "add")).status_code == 403
    assert admin_client.post(_url(AuditEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_admin_unit_save_goes_through_the_service(admin_client, org):
    response = admin_client.post(_url(OrgUnit, "change", org.tj.pk),
                                 {"name": "天津", "kind": UnitKind.BRANCH, "parent": org.sh.pk})
    assert response.status_code == 302
    org.tj1.refresh_from_db()
    assert org.tj1.path.startswith(OrgUnit.objects.get(pk=org.sh.pk).path)
    response = admin_client.post(_url(OrgUnit, "change", org.bj.pk),
                                 {"name": "北京", "kind": UnitKind.BRANCH, "parent": org.bj1.pk})
    assert response.status_code == 200 and response.context["adminform"].form.errors["parent"]


def test_admin_refuses_a_manager_loop(admin_client, org):
    data = {"username": "manager", "full_name": "王经理", "email": "", "phone": "", "org_unit": org.bj1.pk,
            "manager": org.subsub.pk, "role": org.manager.role.pk, "is_active": "on",
            "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00", "first_name": "", "last_name": ""}
    response = admin_client.post(_url(User, "change", org.manager.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["manager"]
    org.manager.refresh_from_db()
    assert org.manager.manager_id is None
