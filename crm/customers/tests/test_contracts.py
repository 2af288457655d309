"""Access contracts of the customer pages and endpoints (crm.core.testing): anonymous, denied, allowed,
allowed but outside the scope — and query-count guards on the lists and the 360° page."""

import pytest

from crm.core.testing import EndpointContract, PageContract
from crm.customers.models import PoolRule
from crm.customers.tests.factories import ContactFactory, CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def customers_with_tags(owner, n=5):
    tags = [TagFactory(name=f"合约标签{i}") for i in range(2)]
    for _ in range(n):
        CustomerFactory(owner=owner).tags.set(tags)


class CustomerRecord:
    """The record is a customer of the sales rep, outside the Shanghai rep's scope."""

    scoped_out = "sh_rep"

    def make_record(self, org):
        return CustomerFactory(owner=org.rep, name="合约客户")


# --- pages --------------------------------------------------------------------------------------------------

class TestCustomerList(CustomerRecord, PageContract):
    url_name, list_view, row_attr = "customers:list", True, "data-customer-id"

    def grow(self, org, record):
        customers_with_tags(org.rep)


class TestCustomerDetail(CustomerRecord, PageContract):
    url_name = "customers:detail"

    def grow(self, org, record):
        for _ in range(5):
            ContactFactory(customer=record)


class TestCustomerCreate(PageContract):
    url_name, denied = "customers:create", ("viewer", "no_role")


class TestCustomerEdit(CustomerRecord, PageContract):
    url_name, denied = "customers:edit", ("viewer",)


class TestCustomerAssign(PageContract):
    """A Tianjin customer: the regional manager may assign it, the Beijing branch manager (who may assign
    too) does not see the sub-branch."""

    url_name, allowed, denied, scoped_out = "customers:assign", "bj_region_mgr", ("tj_rep",), "bj_branch_mgr"

    def make_record(self, org):
        return CustomerFactory(owner=org.tj_rep, name="天津合约客户")


class TestCustomerExport(PageContract):
    url_name, denied = "customers:export", ("viewer", "no_role")


class PoolRecord:
    """The pool shows the customers without owner of the caller's branch (pool_for), not visible_to."""

    list_view, scoped_out = True, "sh_rep"

    def make_record(self, org):
        return CustomerFactory(owner=None, branch=org.bj1, name="公海合约客户")


class TestPool(PoolRecord, PageContract):
    url_name, row_attr = "customers:pool", "data-customer-id"


class TestHandover(PageContract):
    url_name, allowed, denied = "customers:handover", "manager", ("rep", "viewer", "no_role")


class TestPoolRules(PageContract):
    url_name, allowed, denied = "customers:pool_rules", "admin", ("rep", "viewer", "no_role")


class TestPoolRuleEdit(PageContract):
    url_name, allowed, denied = "customers:pool_rule_edit", "admin", ("rep", "viewer", "no_role")

    def make_record(self, org):
        return PoolRule.objects.create(days_without_activity=90)

    def shows_record(self, response, record):
        return False  # a rule has no name of its own to give away


# --- API ----------------------------------------------------------------------------------------------------

class TestCustomerListAPI(CustomerRecord, EndpointContract):
    url_name, list_view = "api-customer-list", True

    def grow(self, org, record):
        customers_with_tags(org.rep)


class TestCustomerDetailAPI(CustomerRecord, EndpointContract):
    url_name = "api-customer-detail"

    def grow(self, org, record):
        record.tags.set([TagFactory(name=f"详情标签{i}") for i in range(5)])
        for _ in range(5):
            ContactFactory(customer=record)


class TestCustomerHistoryAPI(CustomerRecord, EndpointContract):
    url_name = "api-customer-history"


class TestContactListAPI(EndpointContract):
    url_name, list_view, scoped_out = "api-contact-list", True, "sh_rep"

    def make_record(self, org):
        return ContactFactory(customer=CustomerFactory(owner=org.rep), name="合约联系人")

    def grow(self, org, record):
        for _ in range(5):
            ContactFactory(customer=CustomerFactory(owner=org.rep))


class TestContactDetailAPI(TestContactListAPI):
    url_name, list_view, grow = "api-contact-detail", False, None


class TestTagListAPI(EndpointContract):
    url_name = "api-tag-list"  # tags are shared by everyone who may view customers


class TestPoolListAPI(PoolRecord, EndpointContract):
    url_name = "api-pool-list"


class TestPoolRuleListAPI(EndpointContract):
    url_name, allowed, denied = "api-pool-rule-list", "admin", ("rep", "viewer", "no_role")
