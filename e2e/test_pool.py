"""The customer pool in the browser: claim a customer within the cap; a manager hands over a leaving
user's customers to a team."""

import pytest
from playwright.sync_api import expect

from crm.customers.models import Customer
from crm.customers.tests.factories import CustomerFactory
from e2e.pages import HandoverPage, PoolPage

pytestmark = pytest.mark.e2e


def test_claim_a_customer_from_the_pool(org, login):
    org.rep.role.max_customers = 1
    org.rep.role.save()
    CustomerFactory(owner=None, branch=org.bj2, name="北京公海一号")
    CustomerFactory(owner=None, branch=org.bj2, name="北京公海二号")
    pool = PoolPage(login("rep")).open()
    expect(pool.rows).to_have_count(2)
    expect(pool.cap).to_contain_text("0 of your cap of 1")

    row = pool.claim("北京公海一号")

    expect(row.get_by_test_id("pool-claimed")).to_be_visible()
    expect(pool.cap).to_contain_text("1 of your cap of 1")
    assert Customer.objects.get(name="北京公海一号").owner == org.rep

    refused = pool.claim("北京公海二号")
    expect(refused.get_by_test_id("pool-claim-error")).to_contain_text("at most 1")
    assert Customer.objects.get(name="北京公海二号").owner is None


def test_manager_hands_over_a_leaving_users_customers_to_a_team(org, login):
    for n in range(4):
        CustomerFactory(owner=org.rep, name=f"交接客户{n}")
    handover = HandoverPage(login("team_lead")).open()

    counts = handover.choose_leaving_user(org.rep)
    expect(counts).to_contain_text("owns 4 customers")

    result = handover.hand_over(to_unit=org.bj1, reason="离职交接")

    expect(result).to_contain_text("4 customers")
    assert not Customer.objects.filter(owner=org.rep).exists()
    assert Customer.objects.filter(name__startswith="交接客户").values("owner").distinct().count() == 4
