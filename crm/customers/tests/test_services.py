"""Business rules of the customer archive, exercised through the service functions."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.accounts.choices import Action, DataScopeKind
from crm.core.audit import history_for
from crm.core.choices import AuditAction, CustomFieldType
from crm.core.models import CustomFieldDefinition
from crm.customers import services
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def make(actor, **data):
    data.setdefault("name", "北京星通科技有限公司")
    return services.create_customer(actor=actor, data=data)


def test_create_defaults_owner_and_unit_to_actor(org):
    c = make(org.rep, phone="138 1234 5678", email="Sales@XingTong.CN")
    assert (c.owner, c.branch, c.created_by) == (org.rep, org.bj1, org.rep)
    assert c.phone == "+8613812345678"
    assert c.email == "sales@xingtong.cn"
    assert (c.name_initials, c.name_pinyin[:15]) == ("bjxtkjyxgs", "beijingxingtong")
    change = OwnershipChange.objects.get(customer=c)
    assert (change.from_owner, change.to_owner, change.changed_by) == (None, org.rep, org.rep)


@pytest.mark.parametrize("raw,expected", [
    ("13812345678", "+8613812345678"),
    ("+86 138-1234-5678", "+8613812345678"),
    ("010-12345678", "+861012345678"),
    ("0755 8888 6666", "+8675588886666"),
])
def test_phone_normalised_to_e164(org, raw, expected):
    assert make(org.rep, name=f"客户{raw}", phone=raw).phone == expected


@pytest.mark.parametrize("raw", ["12345", "1381234567", "abc", "+86 999"])
def test_bad_phone_is_a_field_error_and_nothing_saved(org, raw):
    with pytest.raises(ValidationError) as exc:
        make(org.rep, phone=raw)
    assert "phone" in exc.value.message_dict
    assert not Customer.objects.exists()


def test_bad_email_and_choice_are_field_errors(org):
    with pytest.raises(ValidationError) as exc:
        make(org.rep, email="not-an-email", status="nonsense", province="火星省")
    assert {"email", "status", "province"} <= set(exc.value.message_dict)


def test_create_requires_create_action(org):
    with pytest.raises(PermissionDenied):
        make(org.viewer)
    with pytest.raises(PermissionDenied):
        make(org.no_role)


def test_rep_cannot_assign_to_someone_else(org):
    with pytest.raises(ValidationError) as exc:
        services.create_customer(actor=org.rep, data={"name": "甲"}, owner=org.teammate)
    assert "owner" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_customer(actor=org.rep, data={"name": "乙"}, branch=org.sh1)
    assert "branch" in exc.value.message_dict
    assert not Customer.objects.exists()


def test_manager_assigns_only_within_scope(org):
    c = services.create_customer(actor=org.team_lead, data={"name": "甲"}, owner=org.teammate)
    assert (c.owner, c.branch) == (org.teammate, org.bj1)
    with pytest.raises(ValidationError):
        services.create_customer(actor=org.team_lead, data={"name": "乙"}, owner=org.sh_rep)


def test_duplicates_detected_by_name_phone_email_and_contact_phone(org):
    first = make(org.rep, phone="13812345678", email="a@b.cn")
    ContactFactory(customer=first, mobile="+8613900000001")
    for data in ({"name": first.name}, {"name": "新", "phone": "138-1234-5678"},
                 {"name": "新2", "email": "A@B.cn"}, {"name": "新3", "phone": "13900000001"}):
        with pytest.raises(services.PossibleDuplicate) as exc:
            make(org.rep, **data)
        assert exc.value.visible == [first]
    second = services.create_customer(actor=org.rep, data={"name": first.name}, allow_duplicate=True)
    assert Customer.objects.filter(name=first.name).count() == 2 and second.pk


def test_duplicate_outside_scope_is_counted_not_shown(org):
    CustomerFactory(owner=org.sh_rep, name="上海某公司", phone="+8613811112222")
    with pytest.raises(services.PossibleDuplicate) as exc:
        make(org.rep, name="上海某公司")
    assert exc.value.visible == [] and exc.value.hidden_count == 1
    assert "上海某公司" not in " ".join(exc.value.messages)


def test_update_only_visible_records(org):
    mine = make(org.rep)
    theirs = CustomerFactory(owner=org.sh_rep)
    services.update_customer(mine, actor=org.rep, data={"city": "北京"})
    with pytest.raises(PermissionDenied):
        services.update_customer(theirs, actor=org.rep, data={"city": "北京"})
    theirs.refresh_from_db()
    assert theirs.city == ""


def test_update_ignores_owner_and_unknown_fields(org):
    c = make(org.rep)
    services.update_customer(c, actor=org.rep, data={"owner": org.sh_rep, "created_by": org.sh_rep, "city": "x"})
    c.refresh_from_db()
    assert (c.owner, c.created_by, c.city) == (org.rep, org.rep, "x")




def test_edit_customer_changes_facts_and_owner_together(org):
    c = make(org.rep)
    services.edit_customer(c, actor=org.bj_branch_mgr, data={"city": "天津"}, owner=org.other_team_rep,
                           branch=org.bj1, reason="换组")
    c.refresh_from_db()
    # A new owner with the unit left as it was takes the customer into the owner's own unit.
    assert (c.city, c.owner, c.branch) == ("天津", org.other_team_rep, org.bj2)
    last = OwnershipChange.objects.filter(customer=c).first()
    assert (last.from_owner, last.to_owner, last.from_branch, last.to_branch, last.reason) == (
        org.rep, org.other_team_rep, org.bj1, org.bj2, "换组")
    services.edit_customer(c, actor=org.bj_branch_mgr, data={}, owner=org.rep, branch=org.bj)
    c.refresh_from_db()
    assert (c.owner, c.branch) == (org.rep, org.bj)  # a new unit named explicitly is kept
    services.edit_customer(c, actor=org.rep, data={"city": "北京"})  # owner and unit left out: no move needed
    c.refresh_from_db()
    assert (c.city, c.owner, c.branch) == ("北京", org.rep, org.bj)


def test_edit_customer_refuses_a_move_as_a_whole(org):
    c = make(org.rep)
    with pytest.raises(ValidationError) as refused:
        services.edit_customer(c, actor=org.rep, data={"city": "天津"}, owner=org.teammate, branch=org.bj2)
    assert set(refused.value.message_dict) == {"owner", "branch"}  # the role has no assign action
    with pytest.raises(ValidationError) as refused:
        services.edit_customer(c, actor=org.bj_branch_mgr, data={"city": "天津"}, owner=org.sh_rep)
    assert "owner" in refused.value.message_dict  # outside the manager's reach
    c.refresh_from_db()
    assert (c.city, c.owner, c.branch) == ("", org.rep, org.bj1)
    assert not OwnershipChange.objects.filter(customer=c).exclude(from_owner=None).exists()
def test_assign_records_history_and_needs_assign_action(org):
    c = make(org.rep)
    with pytest.raises(PermissionDenied):
        services.assign_customer(c, actor=org.rep, owner=org.teammate, reason="x")
    services.assign_customer(c, actor=org.manager, owner=org.sub, reason="调岗")
    c.refresh_from_db()
    assert c.owner == org.sub
    last = OwnershipChange.objects.filter(customer=c).first()
    assert (last.from_owner, last.to_owner, last.changed_by, last.reason) == (org.rep, org.sub, org.manager, "调岗")


def test_assign_outside_actor_scope_refused(org):
    c = make(org.rep)
    with pytest.raises(ValidationError):
        services.assign_customer(c, actor=org.manager, owner=org.sh_rep, reason="x")
    c.refresh_from_db()
    assert c.owner == org.rep


def test_customers_survive_owner_leaving(org):
    c = make(org.rep)
    org.rep.is_active = False
    org.rep.save()
    c.refresh_from_db()
    assert c.owner == org.rep
    assert Customer.objects.visible_to(org.manager).filter(pk=c.pk).exists()
    services.assign_customer(c, actor=org.manager, owner=org.sub, reason="离职交接")
    with pytest.raises(ValidationError):  # an inactive user cannot receive customers
        services.assign_customer(c, actor=org.manager, owner=org.rep, reason="x")


def test_delete_needs_delete_action_and_scope(org):
    c = make(org.rep)
    with pytest.raises(PermissionDenied):
        services.delete_customer(c, actor=org.rep)
    with pytest.raises(PermissionDenied):
        services.delete_customer(c, actor=org.sh_rep)
    services.delete_customer(c, actor=org.manager)
    assert not Customer.objects.filter(pk=c.pk).exists()


def test_one_primary_contact(org):
    c = make(org.rep)
    a = services.add_contact(c, actor=org.rep, data={"name": "张三", "mobile": "13900000001"})
    assert a.is_primary and a.mobile == "+8613900000001"
    b = services.add_contact(c, actor=org.rep, data={"name": "李四", "is_primary": True})
    a.refresh_from_db()
    assert b.is_primary and not a.is_primary
    services.delete_contact(b, actor=org.rep)
    a.refresh_from_db()
    assert a.is_primary
    with pytest.raises(ValidationError) as exc:
        services.add_contact(c, actor=org.rep, data={"name": "王五", "mobile": "123"})
    assert "mobile" in exc.value.message_dict
    assert Contact.objects.filter(customer=c).count() == 1


def test_contact_of_invisible_customer_refused(org):
    theirs = CustomerFactory(owner=org.sh_rep)
    with pytest.raises(PermissionDenied):
        services.add_contact(theirs, actor=org.rep, data={"name": "x"})
    assert not theirs.contacts.exists()


def test_custom_fields_validated(org):
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Customer)
    CustomFieldDefinition.objects.create(content_type=ct, key="budget", label="年采购预算",
                                         field_type=CustomFieldType.NUMBER, required=True)
    CustomFieldDefinition.objects.create(content_type=ct, key="grade", label="信用等级",
                                         field_type=CustomFieldType.CHOICE, choices=["A", "B", "C"])
    CustomFieldDefinition.objects.create(content_type=ct, key="since", label="合作开始",
                                         field_type=CustomFieldType.DATE)
    CustomFieldDefinition.objects.create(content_type=ct, key="vip", label="VIP",
                                         field_type=CustomFieldType.BOOLEAN)
    with pytest.raises(ValidationError) as exc:
        services.create_customer(actor=org.rep, data={"name": "甲"},
                                 custom_fields={"grade": "Z", "since": "2024-13-01", "vip": "maybe", "x": 1})
    assert set(exc.value.message_dict) == {"budget", "grade", "since", "vip", "x"}
    c = services.create_customer(actor=org.rep, data={"name": "甲"},
                                 custom_fields={"budget": "1200000", "grade": "A", "since": "2024-03-01",
                                                "vip": "yes"})
    assert c.custom_fields == {"budget": 1200000, "grade": "A", "since": "2024-03-01", "vip": True}


def test_every_change_is_audited_with_actor_and_values(org):
    c = make(org.rep, city="北京")
    services.update_customer(c, actor=org.rep, data={"city": "天津"})
    services.assign_customer(c, actor=org.manager, owner=org.sub, reason="r")
    entries = list(history_for(c).order_by("id"))
    assert [e.action for e in entries][:3] == [AuditAction.CREATE, AuditAction.UPDATE, AuditAction.UPDATE]
    assert entries[0].actor == org.rep and entries[0].changes["city"] == [None, "北京"]
    assert entries[1].changes == {"city": ["北京", "天津"]}
    assert entries[2].actor == org.manager and entries[2].changes["owner_id"] == [org.rep.pk, org.sub.pk]
    pk = c.pk
    services.delete_customer(c, actor=org.manager)
    c.pk = pk  # Django clears the pk of a deleted instance
    deleted = history_for(c).get(action=AuditAction.DELETE)
    assert deleted.changes["name"] == [c.name, None]


def test_role_change_changes_visibility_immediately(org):
    from crm.accounts.services import save_role, save_user
    from crm.accounts.tests.factories import RoleFactory

    mine = make(org.rep, name="我的")
    teammates = make(org.teammate, name="同事的")
    assert list(Customer.objects.visible_to(org.rep)) == [mine]
    team_role = RoleFactory(name="team", data_scope=DataScopeKind.TEAM, actions=[Action.VIEW])
    org.rep.role = team_role
    save_user(org.rep, actor=org.admin)
    assert set(Customer.objects.visible_to(org.rep)) == {mine, teammates}
    team_role.data_scope = DataScopeKind.OWN
    save_role(team_role, actor=org.admin)
    org.rep.refresh_from_db()
    org.rep.forget_access_cache()
    assert list(Customer.objects.visible_to(org.rep)) == [mine]


def test_touch_activity_moves_forward_only_and_clears_warning(org):
    import datetime

    from django.utils import timezone

    a, b = make(org.rep, name="甲"), make(org.rep, name="乙")
    now = timezone.now()
    Customer.objects.filter(pk=b.pk).update(last_activity_at=now, pool_warned_at=now)
    Customer.objects.filter(pk=a.pk).update(pool_warned_at=now)
    earlier = now - datetime.timedelta(days=3)
    services.touch_activity({a.pk: earlier, b.pk: earlier})
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.last_activity_at, a.pool_warned_at) == (earlier, None)
    assert (b.last_activity_at, b.pool_warned_at) == (now, now)  # an older event moves nothing
    services.touch_activity({b.pk: now + datetime.timedelta(hours=1)})
    b.refresh_from_db()
    assert b.last_activity_at == now + datetime.timedelta(hours=1) and b.pool_warned_at is None


def test_customer_with_orders_cannot_be_deleted(org, client):
    from crm.sales.tests.factories import OrderFactory

    c = make(org.rep)
    OrderFactory(customer=c)
    with pytest.raises(ValidationError):
        services.delete_customer(c, actor=org.manager)
    assert Customer.objects.filter(pk=c.pk).exists()
    client.force_login(org.manager)
    response = client.post(f"/customers/{c.pk}/delete/")
    assert response.status_code == 302 and Customer.objects.filter(pk=c.pk).exists()
