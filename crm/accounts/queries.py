"""Read side of accounts that other apps may use."""

from django.db.models import Q

from crm.core.visibility import DataScope

from .choices import DataScopeKind, UnitKind
from .models import OrgUnit, User
from .permissions import VIEW_RECORDS


def subordinate_ids(user) -> set[int]:
    """Ids of everyone below ``user`` in the reporting line (transitively), one query per level."""
    found: set[int] = set()
    frontier = {user.pk}
    while frontier:
        frontier = set(User.objects.filter(manager_id__in=frontier).values_list("pk", flat=True)) - found - {
            user.pk
        }
        found |= frontier
    return found


def branch_unit_ids(root: OrgUnit, *, include_sub_branches: bool) -> set[int]:
    """Units of a branch: the branch and its teams; with sub-branches, its whole subtree."""
    units = list(OrgUnit.objects.filter(path__startswith=root.path).values("pk", "path", "kind"))
    if include_sub_branches:
        return {u["pk"] for u in units}
    # Exclude every unit that sits under a nested branch (a branch below the root).
    nested = [u["path"] for u in units if u["pk"] != root.pk and u["kind"] != UnitKind.TEAM]
    return {u["pk"] for u in units if not any(u["path"].startswith(p) for p in nested)}


def compute_data_scope(user) -> DataScope:
    if not user.is_active:
        return DataScope.nothing()
    if user.is_superuser:
        return DataScope(all=True)
    role = user.role
    if role is None or VIEW_RECORDS not in (role.permissions or []):
        return DataScope.nothing()
    kind = role.data_scope
    if kind == DataScopeKind.ALL:
        return DataScope(all=True)
    owners = {user.pk}
    units: set[int] = set()
    if kind == DataScopeKind.SUBORDINATES:
        owners |= subordinate_ids(user)
    elif user.org_unit_id is not None:
        unit = user.org_unit
        if kind == DataScopeKind.TEAM:
            units = {unit.pk}
        elif kind == DataScopeKind.BRANCH:
            units = branch_unit_ids(unit.branch_root(), include_sub_branches=False)
        elif kind == DataScopeKind.BRANCH_TREE:
            units = branch_unit_ids(unit.branch_root(), include_sub_branches=True)
    return DataScope(owner_ids=frozenset(owners), unit_ids=frozenset(units))


def assignable_users(actor):
    """Users that ``actor`` may make the owner of a record: active users within their scope."""
    scope = actor.data_scope()
    qs = User.objects.filter(is_active=True)
    if scope.all:
        return qs
    return qs.filter(Q(pk__in=scope.owner_ids) | Q(org_unit_id__in=scope.unit_ids))


def assignable_units(actor):
    scope = actor.data_scope()
    if scope.all:
        return OrgUnit.objects.all()
    return OrgUnit.objects.filter(pk__in=scope.unit_ids | ({actor.org_unit_id} - {None}))


def filter_users(actor):
    """The people ``actor`` may filter lists by (owner, seller, assignee …), in the order offered."""
    return assignable_users(actor).order_by("full_name", "username")


def filter_units(actor):
    """The branches and teams ``actor`` may filter lists by, in tree order."""
    return assignable_units(actor).order_by("path")
