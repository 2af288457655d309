"""Access contracts of the framework pages and endpoints (crm.core.testing): the audit log and the custom
field definitions need manage settings (reading the definitions only a sign-in: forms are built from them);
the home page is every signed-in user's."""

import pytest
from django.contrib.contenttypes.models import ContentType

from crm.core.models import AuditEntry, CustomFieldDefinition
from crm.core.testing import EndpointContract, PageContract
from crm.customers.models import Customer
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SETTINGS_DENIED = ("rep", "viewer", "bj_branch_mgr", "no_role")


class AuditRecord:
    allowed, denied = "admin", SETTINGS_DENIED

    def make_record(self, org):
        CustomerFactory(owner=org.rep, name="审计合约客户")  # the audit log records its creation
        return AuditEntry.objects.order_by("pk").last()

    def shows_record(self, response, record):
        return "审计合约客户".encode() in response.content

    def grow(self, org, record):
        for _ in range(5):
            CustomerFactory(owner=org.rep)


class FieldRecord:
    def make_record(self, org):
        return CustomFieldDefinition.objects.create(
            content_type=ContentType.objects.get_for_model(Customer), key="credit", label="合约额度",
            field_type="number")

    def shows_record(self, response, record):
        return record.label.encode() in response.content


class TestHome(PageContract):
    url_name, denied, ok_status = "core:home", (), (302,)  # on to the customer list


class TestAuditList(AuditRecord, PageContract):
    url_name, list_view, row_attr = "core:audit_list", True, "data-entry-id"


class TestAuditDetail(AuditRecord, PageContract):
    url_name, grow = "core:audit_detail", None


class TestCustomFieldList(FieldRecord, PageContract):
    url_name, allowed, denied = "core:customfield_list", "admin", SETTINGS_DENIED


class TestCustomFieldEdit(FieldRecord, PageContract):
    url_name, allowed, denied = "core:customfield_edit", "admin", SETTINGS_DENIED


class TestAuditListAPI(AuditRecord, EndpointContract):
    url_name, list_view = "api-auditentry-list", True


class TestAuditDetailAPI(AuditRecord, EndpointContract):
    url_name, grow = "api-auditentry-detail", None


class TestCustomFieldListAPI(FieldRecord, EndpointContract):
    url_name, list_view, denied = "api-customfield-list", True, ()
