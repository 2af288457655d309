import io

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q

from crm.accounts.choices import DataScopeKind
from crm.accounts.models import OrgUnit, Role, User
from crm.core.models import CustomFieldDefinition
from crm.core.text import pinyin_keys
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.demo import reference as ref
from crm.demo.fake import Faker
from crm.demo.org import DEFAULT_DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **{"customers": 300, "seed": 7, **options})
    return out.getvalue()


def snapshot():
    customers = Customer.objects.order_by("name", "phone").values_list(
        "name", "phone", "email", "city", "status", "owner__username", "branch__name", "custom_fields")
    contacts = Contact.objects.order_by("customer__name", "name", "mobile").values_list(
        "customer__name", "name", "title", "mobile", "is_primary", "preferences")
    return list(customers), list(contacts)


def test_org_tree_paths_and_roles():
    seed()
    units = {u.pk: u for u in OrgUnit.objects.all()}
    assert len(units) >= 10
    for unit in units.values():
        expected = f"{units[unit.parent_id].path if unit.parent_id else '/'}{unit.pk}/"
        assert unit.path == expected
    tianjin = OrgUnit.objects.get(name="天津办事处")
    assert tianjin.parent.name == "北京分公司"
    scopes = dict(Role.objects.values_list("name", "data_scope"))
    assert scopes["系统管理员"] == scopes["总经理"] == DataScopeKind.ALL
    assert scopes["分公司经理"] == DataScopeKind.BRANCH_TREE
    assert scopes["销售代表"] == DataScopeKind.OWN
    assert 25 <= User.objects.count() <= 40
    rep = User.objects.get(username="chenjing")
    assert rep.check_password(DEFAULT_DEMO_PASSWORD)
    assert rep.manager.username == "liuyang" and rep.manager.manager.username == "lizhiqiang"
    assert User.objects.get(username="admin").is_superuser
    assert CustomFieldDefinition.objects.filter(key__in=["annual_budget", "credit_rating"]).count() == 2


def test_customers_are_valid_and_owned_within_their_branch():
    out = seed()
    assert "admin" in out and DEFAULT_DEMO_PASSWORD in out
    assert Customer.objects.count() == 300
    assert Customer.objects.filter(name="北京星通科技有限公司", name_initials__startswith="bjxt").exists()
    for customer in Customer.objects.select_related("owner__org_unit", "branch"):
        if customer.owner is None:  # in the pool: it got there by a release
            assert customer.ownership_changes.order_by("-at", "-id").first().to_owner_id is None
            continue
        assert customer.owner.org_unit.path.startswith(customer.branch.path)
        assert (customer.name_pinyin, customer.name_initials) == pinyin_keys(customer.name)
        assert customer.province and customer.city and customer.district
        assert customer.created_at <= customer.updated_at
    phones = [p for p in Customer.objects.values_list("phone", flat=True) if p]
    phones += [p for row in Contact.objects.values_list("mobile", "phone") for p in row if p]
    assert len(phones) > 300
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone


def test_addresses_follow_the_branch_region():
    seed()
    tianjin = OrgUnit.objects.get(name="天津办事处")
    provinces = {"北京分公司": {"北京市", "河北省"}, "上海分公司": {"上海市", "江苏省", "浙江省"},
                 "广州分公司": {"广东省", "福建省"}, "天津办事处": {"天津市"}}
    for name, allowed in provinces.items():
        branch = OrgUnit.objects.get(name=name)
        own = Customer.objects.filter(branch__path__startswith=branch.path)
        if name == "北京分公司":
            own = own.exclude(branch__path__startswith=tianjin.path)
        found = set(own.values_list("province", flat=True))
        assert found and found <= allowed, (name, found)


def test_contacts_one_primary_and_ownership_history():
    seed()
    per_customer = Customer.objects.annotate(n=Count("contacts"), primaries=Count("contacts", filter=Q(
        contacts__is_primary=True)))
    assert all(1 <= c.n <= 4 and c.primaries == 1 for c in per_customer)
    assert Contact.objects.exclude(preferences="").exists()
    assert Customer.objects.filter(tags__isnull=False).distinct().count() > 50
    changed = OwnershipChange.objects.exclude(from_owner=None)
    assert changed.exists()
    for change in changed.select_related("customer"):
        assert change.at >= change.customer.created_at
    # The last change of each customer hands it to its current owner.
    for customer in Customer.objects.filter(ownership_changes__isnull=False).distinct():
        last = customer.ownership_changes.order_by("-at", "-id").first()
        assert last.to_owner_id == customer.owner_id


def wipe():
    """Remove the demo data (raw deletes: the audit log is not what these tests look at)."""
    from crm.activities.models import Interaction, TimelineEvent, Todo
    from crm.customers.models import PoolRule
    from crm.sales.models import ChannelPartner, Order, OrderLine, Product, ProductCategory, StockMovement

    for model in (TimelineEvent, Todo, Interaction, OrderLine, Order, StockMovement, Product, ProductCategory,
                  ChannelPartner, PoolRule, Contact, OwnershipChange, Customer.tags.through, Customer):
        model.objects.all()._raw_delete(model.objects.db)
    User.objects.update(manager=None)
    User.objects.all().delete()
    for unit in OrgUnit.objects.order_by("-path"):
        unit.delete()


def test_reproducible_with_the_same_seed():
    seed(customers=120)
    first = snapshot()
    wipe()
    seed(customers=120)
    assert snapshot() == first
    wipe()
    seed(customers=120, seed=8)
    assert snapshot() != first


def test_if_empty_is_a_no_op_the_second_time():
    seed()
    before = (User.objects.count(), Customer.objects.count(), Contact.objects.count())
    out = seed(if_empty=True)
    assert "already" in out
    assert (User.objects.count(), Customer.objects.count(), Contact.objects.count()) == before


def test_demo_password_from_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-Secret-42")
    out = seed()
    assert "another-Secret-42" in out
    assert User.objects.get(username="admin").check_password("another-Secret-42")


def test_a_demo_password_that_breaks_the_password_rules_is_refused(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "12345678")
    with pytest.raises(CommandError, match="entirely numeric"):
        seed()
    assert not User.objects.exists()


def test_generate_on_an_empty_database_creates_the_organisation():
    out, err = io.StringIO(), io.StringIO()
    call_command("generate", customers=500, batch=200, seed=3, stdout=out, stderr=err)
    assert Customer.objects.count() == 500
    assert 600 <= Contact.objects.count() <= 900
    assert "customers 500/500" in err.getvalue()
    assert User.objects.filter(username="admin").exists()
    # Every customer is owned by a sales user in the customer's unit, with one primary contact.
    assert not Customer.objects.exclude(owner__org_unit=F("branch")).exists()
    assert not Customer.objects.annotate(p=Count("contacts", filter=Q(contacts__is_primary=True))).filter(
        p__gt=1).exists()
    # New rows get ids after the generated ones (sequences moved on).
    assert Customer.objects.create(name="新客户").pk > Customer.objects.exclude(name="新客户").order_by(
        "-pk").first().pk
    years = {d.year for d in Customer.objects.dates("created_at", "year")}
    assert len(years) >= 4


def test_generate_adds_to_an_existing_demo():
    seed()
    call_command("generate", customers=500, batch=300, contacts_per_customer=1.0, stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert Customer.objects.count() == 800
    assert User.objects.count() == 31  # the demo organisation was reused, not created again


def test_generated_name_keys_match_pinyin_of_the_whole_name():
    from crm.core.text import _pinyin_pair

    faker = Faker(11)
    for _ in range(3000):
        place = faker.place()
        for name in (faker.company(place)[0], faker.person()):
            assert (name.pinyin, name.initials) == _pinyin_pair.__wrapped__(name.text), name.text


def test_reference_mobile_prefixes_are_valid():
    for prefix in ref.MOBILE_PREFIXES:
        assert phonenumbers.is_valid_number(phonenumbers.parse(f"+86{prefix}12345678")), prefix


@pytest.mark.parametrize("inline", [1000, 0])
def test_search_by_contact_phone_finds_the_same_rows_inlined_or_not(monkeypatch, inline):
    from crm.customers import queries

    seed()
    monkeypatch.setattr(queries, "_INLINE_CONTACT_MATCHES", inline)
    contact = Contact.objects.exclude(mobile="").order_by("id").first()
    for typed in (contact.mobile[3:10], contact.mobile[3:7]):  # phone search starts at four digits
        found = set(Customer.objects.filter(queries.search_q(typed)).values_list("pk", flat=True))
        expected = set(Customer.objects.filter(
            Q(name__icontains=typed) | Q(phone__startswith=f"+86{typed}") |
            Q(contacts__mobile__startswith=f"+86{typed}") | Q(contacts__phone__startswith=f"+86{typed}")
        ).values_list("pk", flat=True))
        assert contact.customer_id in found and found == expected
    email = Contact.objects.exclude(email="").order_by("id").first().email
    prefix = email[: email.index("@") + 1]
    found = set(Customer.objects.filter(queries.search_q(prefix)).values_list("pk", flat=True))
    expected = set(Customer.objects.filter(
        Q(name__icontains=prefix) | Q(email__startswith=prefix) | Q(contacts__email__startswith=prefix)
    ).values_list("pk", flat=True))
    assert found and found == expected
