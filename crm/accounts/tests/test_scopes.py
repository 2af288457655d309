"""The one visibility method, from every side: who sees a customer owned by whom, where."""

import pytest

from crm.customers.models import Contact, Customer
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

OWNERS = ["rep", "sub", "subsub", "teammate", "other_team_rep", "tj_rep", "sh_rep"]

# viewer -> owners of the customers they must see (each customer sits in its owner's unit)
EXPECTED = {
    "rep": {"rep"},
    "sub": {"sub"},
    "manager": {"sub", "subsub"} | {"rep"},  # rep reports to manager too
    "teammate": {"teammate"},
    "team_lead": {"rep", "sub", "subsub", "teammate"},
    "other_team_rep": {"other_team_rep"},
    "bj_branch_mgr": {"rep", "sub", "subsub", "teammate", "other_team_rep"},
    "bj_region_mgr": {"rep", "sub", "subsub", "teammate", "other_team_rep", "tj_rep"},
    "tj_rep": {"tj_rep"},
    "sh_rep": {"sh_rep"},
    "ceo": set(OWNERS),
    "admin": set(OWNERS),
    "viewer": {"rep", "sub", "subsub", "teammate"},
    "no_role": set(),
}


@pytest.fixture
def owned(org):
    return {name: CustomerFactory(owner=getattr(org, name), name=f"{name}的客户") for name in OWNERS}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_customer_visibility_by_scope(org, owned, viewer):
    user = getattr(org, viewer)
    seen = set(Customer.objects.visible_to(user).values_list("pk", flat=True))
    assert seen == {owned[o].pk for o in EXPECTED[viewer]}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_contact_visibility_follows_customer(org, owned, viewer):
    contacts = {o: ContactFactory(customer=c) for o, c in owned.items()}
    user = getattr(org, viewer)
    seen = set(Contact.objects.visible_to(user).values_list("pk", flat=True))
    assert seen == {contacts[o].pk for o in EXPECTED[viewer]}


def test_anonymous_and_inactive_see_nothing(org, owned):
    from django.contrib.auth.models import AnonymousUser

    assert not Customer.objects.visible_to(AnonymousUser()).exists()
    assert not Customer.objects.visible_to(None).exists()
    org.ceo.is_active = False
    org.ceo.save()
    org.ceo.forget_access_cache()
    assert not Customer.objects.visible_to(org.ceo).exists()


def test_own_record_outside_unit_stays_visible(org):
    """A customer that sits in another unit is still visible to its owner."""
    c = CustomerFactory(owner=org.rep, branch=org.sh1)
    assert Customer.objects.visible_to(org.rep).filter(pk=c.pk).exists()
    assert not Customer.objects.visible_to(org.teammate).filter(pk=c.pk).exists()
    assert Customer.objects.visible_to(org.manager).filter(pk=c.pk).exists()


def test_unowned_customer_visible_by_unit_only(org):
    c = CustomerFactory(owner=None, branch=org.bj2)
    assert not Customer.objects.visible_to(org.rep).filter(pk=c.pk).exists()
    assert Customer.objects.visible_to(org.bj_branch_mgr).filter(pk=c.pk).exists()
    assert not Customer.objects.visible_to(org.team_lead).filter(pk=c.pk).exists()
