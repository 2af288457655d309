import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.accounts.choices import Action, DataScopeKind, UnitKind
from crm.accounts.models import OrgUnit, Role
from crm.accounts.queries import assignable_users, branch_unit_ids, subordinate_ids
from crm.accounts.services import delete_unit, save_role, save_unit, save_user
from crm.core.permissions import codes_for_verbs

pytestmark = pytest.mark.django_db


def test_paths_and_branch_units(org):
    assert org.tj1.path == f"{org.hq.path}{org.bj.pk}/{org.tj.pk}/{org.tj1.pk}/"
    assert branch_unit_ids(org.bj, include_sub_branches=False) == {org.bj.pk, org.bj1.pk, org.bj2.pk}
    assert branch_unit_ids(org.bj, include_sub_branches=True) == {org.bj.pk, org.bj1.pk, org.bj2.pk, org.tj.pk,
                                                                  org.tj1.pk}
    assert org.bj1.branch_root() == org.bj and org.tj1.branch_root() == org.tj and org.hq.branch_root() == org.hq


def test_subordinates_are_transitive(org):
    assert subordinate_ids(org.manager) == {org.rep.pk, org.sub.pk, org.subsub.pk}
    assert subordinate_ids(org.rep) == set()


def test_moving_a_unit_moves_its_subtree(org):
    org.tj.parent = org.sh
    save_unit(org.tj, actor=org.admin)
    org.tj1.refresh_from_db()
    assert org.tj1.path == f"{org.sh.path}{org.tj.pk}/{org.tj1.pk}/"
    org.bj_region_mgr.forget_access_cache()
    assert org.tj1.pk not in org.bj_region_mgr.data_scope().unit_ids


def test_unit_cannot_move_under_itself(org):
    org.bj.parent = org.tj1
    with pytest.raises(ValidationError):
        save_unit(org.bj, actor=org.admin)
    org.bj.refresh_from_db()
    assert org.bj.parent == org.hq


def test_only_head_office_has_no_parent(org):
    with pytest.raises(ValidationError):
        save_unit(OrgUnit(name="孤儿", kind=UnitKind.TEAM), actor=org.admin)


def test_non_empty_unit_cannot_be_deleted(org):
    with pytest.raises(ValidationError):
        delete_unit(org.bj1, actor=org.admin)
    assert OrgUnit.objects.filter(pk=org.bj1.pk).exists()
    empty = save_unit(OrgUnit(name="空组", kind=UnitKind.TEAM, parent=org.sh), actor=org.admin)
    delete_unit(empty, actor=org.admin)
    assert not OrgUnit.objects.filter(pk=empty.pk).exists()


def test_settings_need_manage_settings(org):
    with pytest.raises(PermissionDenied):
        save_role(Role(name="x", permissions=codes_for_verbs([Action.VIEW])), actor=org.manager)
    with pytest.raises(PermissionDenied):
        save_unit(OrgUnit(name="x", parent=org.hq), actor=org.bj_branch_mgr)
    with pytest.raises(PermissionDenied):
        save_user(org.rep, actor=org.team_lead)


def test_role_permissions_validated_and_ordered(org):
    role = save_role(Role(name="r", permissions=["customers.export_customer", "customers.view_customer"],
                          data_scope=DataScopeKind.TEAM), actor=org.admin)
    assert role.permissions == ["customers.view_customer", "customers.export_customer"]
    for bad in (["fly"], ["view"], ["customers.fly_customer"], "customers.view_customer", [1]):
        with pytest.raises(ValidationError):
            save_role(Role(name="bad", permissions=bad), actor=org.admin)


def test_manager_loop_refused(org):
    org.manager.manager = org.subsub
    with pytest.raises(ValidationError):
        save_user(org.manager, actor=org.admin)
    org.rep.manager = org.rep
    with pytest.raises(ValidationError):
        save_user(org.rep, actor=org.admin)


def test_only_superuser_grants_superuser(org):
    org.ceo.is_superuser = False
    org.rep.is_superuser = True
    with pytest.raises(ValidationError):
        save_user(org.rep, actor=org.ceo)


def test_assignable_users_follow_scope(org):
    names = set(assignable_users(org.team_lead).values_list("username", flat=True))
    assert {"rep", "teammate", "team_lead", "manager", "sub", "subsub"} <= names
    assert "sh_rep" not in names and "other_team_rep" not in names
    assert set(assignable_users(org.rep).values_list("username", flat=True)) == {"rep"}


def test_role_without_view_sees_nothing(org):
    role = Role.objects.create(name="blind", permissions=codes_for_verbs([Action.CREATE]), data_scope=DataScopeKind.ALL)
    org.rep.role = role
    org.rep.forget_access_cache()
    assert org.rep.data_scope().is_empty


def test_non_superuser_cannot_change_a_superuser(org):
    """A manage_settings user may not demote, deactivate or re-password a superuser."""
    org.admin.is_superuser = False
    with pytest.raises(PermissionDenied):
        save_user(org.admin, actor=org.ceo)
    with pytest.raises(PermissionDenied):
        save_user(org.admin, actor=org.ceo, password="New-Passw0rd-xyz")
    org.admin.refresh_from_db()
    assert org.admin.is_superuser and org.admin.check_password("pw-Secret-123")
