"""The demo company's organisation: units, roles and users with their reporting lines."""

import os
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from crm.accounts.choices import Action, DataScopeKind, UnitKind
from crm.accounts.models import OrgUnit, Role, User
from crm.accounts.services import check_password_rules
from crm.core.permissions import codes_for_verbs

# The documented demo password; DEMO_PASSWORD in the environment replaces it.
DEFAULT_DEMO_PASSWORD = "kehu-demo-2025"


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


ADMIN, GM, BRANCH_MANAGER = "系统管理员", "总经理", "分公司经理"
SUPERVISOR, REP, SERVICE = "销售主管", "销售代表", "客服"

# name -> (description, the old global verbs (expanded to permission codes), data scope)
ROLES = {
    ADMIN: ("管理系统设置、用户和角色", list(Action.values), DataScopeKind.ALL),
    GM: ("查看和管理全公司客户", [Action.VIEW, Action.CREATE, Action.CHANGE, Action.DELETE, Action.EXPORT,
                        Action.ASSIGN], DataScopeKind.ALL),
    BRANCH_MANAGER: ("管理本分公司及下属办事处的客户", [Action.VIEW, Action.CREATE, Action.CHANGE, Action.DELETE,
                                          Action.EXPORT, Action.ASSIGN], DataScopeKind.BRANCH_TREE),
    SUPERVISOR: ("管理本团队客户并分配负责人", [Action.VIEW, Action.CREATE, Action.CHANGE, Action.EXPORT,
                                    Action.ASSIGN], DataScopeKind.TEAM),
    REP: ("维护自己负责的客户", [Action.VIEW, Action.CREATE, Action.CHANGE], DataScopeKind.OWN),
    SERVICE: ("查看本分公司客户，处理咨询和投诉", [Action.VIEW], DataScopeKind.BRANCH),
}

# key, name, kind, parent key, region key (which provinces its customers are in)
UNITS = [
    ("hq", "总部", UnitKind.HEAD_OFFICE, None, None),
    ("bj", "北京分公司", UnitKind.BRANCH, "hq", "beijing"),
    ("bj1", "北京销售一部", UnitKind.TEAM, "bj", "beijing"),
    ("bj2", "北京销售二部", UnitKind.TEAM, "bj", "beijing"),
    ("tj", "天津办事处", UnitKind.BRANCH, "bj", "tianjin"),
    ("tj1", "天津销售组", UnitKind.TEAM, "tj", "tianjin"),
    ("sh", "上海分公司", UnitKind.BRANCH, "hq", "shanghai"),
    ("sh1", "上海销售一部", UnitKind.TEAM, "sh", "shanghai"),
    ("sh2", "华东大客户部", UnitKind.TEAM, "sh", "shanghai"),
    ("gz", "广州分公司", UnitKind.BRANCH, "hq", "guangzhou"),
    ("gz1", "广州销售一部", UnitKind.TEAM, "gz", "guangzhou"),
    ("gz2", "深圳销售部", UnitKind.TEAM, "gz", "guangzhou"),
]
REGION_OF_UNIT_NAME = {name: region for _k, name, _kind, _p, region in UNITS if region}

# username, full name, unit key, role, manager username, share of the customers they own (weight)
USERS = [
    ("admin", "系统管理员", "hq", ADMIN, None, 0),
    ("wangjianguo", "王建国", "hq", GM, None, 0),
    ("lizhiqiang", "李志强", "bj", BRANCH_MANAGER, "wangjianguo", 2),
    ("zhaoli", "赵丽", "bj", SERVICE, "lizhiqiang", 0),
    ("liuyang", "刘洋", "bj1", SUPERVISOR, "lizhiqiang", 4),
    ("chenjing", "陈静", "bj1", REP, "liuyang", 10),
    ("yangfan", "杨帆", "bj1", REP, "liuyang", 8),
    ("huanglei", "黄磊", "bj1", REP, "liuyang", 7),
    ("zhoumin", "周敏", "bj2", SUPERVISOR, "lizhiqiang", 4),
    ("wutao", "吴涛", "bj2", REP, "zhoumin", 9),
    ("xulijuan", "徐丽娟", "bj2", REP, "zhoumin", 6),
    ("sunhaifeng", "孙海峰", "tj", BRANCH_MANAGER, "lizhiqiang", 2),
    ("maxiaodong", "马晓东", "tj1", REP, "sunhaifeng", 7),
    ("zhuting", "朱婷", "tj1", REP, "sunhaifeng", 5),
    ("hujianhua", "胡建华", "sh", BRANCH_MANAGER, "wangjianguo", 2),
    ("guoxue", "郭雪", "sh", SERVICE, "hujianhua", 0),
    ("linfeng", "林峰", "sh1", SUPERVISOR, "hujianhua", 4),
    ("hexin", "何欣", "sh1", REP, "linfeng", 11),
    ("luobin", "罗斌", "sh1", REP, "linfeng", 8),
    ("zhengya", "郑雅", "sh1", REP, "linfeng", 7),
    ("liangwenbo", "梁文博", "sh2", SUPERVISOR, "hujianhua", 5),
    ("xietingting", "谢婷婷", "sh2", REP, "liangwenbo", 6),
    ("songkai", "宋凯", "sh2", REP, "liangwenbo", 5),
    ("tangzhiming", "唐志明", "gz", BRANCH_MANAGER, "wangjianguo", 2),
    ("xuqing", "许晴", "gz", SERVICE, "tangzhiming", 0),
    ("handong", "韩东", "gz1", SUPERVISOR, "tangzhiming", 4),
    ("fengjia", "冯佳", "gz1", REP, "handong", 10),
    ("dengzhichao", "邓志超", "gz1", REP, "handong", 8),
    ("caoyang", "曹阳", "gz2", SUPERVISOR, "tangzhiming", 4),
    ("penglin", "彭琳", "gz2", REP, "caoyang", 9),
    ("xiaolei", "肖磊", "gz2", REP, "caoyang", 7),
]


@dataclass
class Organisation:
    units: dict          # key -> OrgUnit
    roles: dict          # role name -> Role
    users: dict          # username -> User
    owner_weights: dict  # username -> weight

    def login_examples(self):
        """(username, role name, unit name): the admin and one user per role."""
        seen, rows = set(), []
        for username, full_name, unit_key, role, _m, _w in USERS:
            if role not in seen:
                seen.add(role)
                rows.append((username, full_name, role, self.units[unit_key].name))
        return rows


def build_roles() -> dict:
    roles = {}
    for name, (description, actions, scope) in ROLES.items():
        role, _ = Role.objects.update_or_create(
            name=name,
            defaults={"description": description, "permissions": codes_for_verbs(actions), "data_scope": scope},
        )
        roles[name] = role
    return roles


def build_units() -> dict:
    """Create the tree top-down; each path is the parent's path plus the unit's own id."""
    units = {}
    for key, name, kind, parent_key, _region in UNITS:
        parent = units.get(parent_key)
        unit = OrgUnit.objects.create(name=name, kind=kind, parent=parent)
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
        units[key] = unit
    return units


def build_users(units: dict, roles: dict, *, password: str) -> dict:
    # One hash for every demo account: hashing thirty times would cost seconds for nothing.
    password_hash = make_password(password)
    users = {}
    for username, full_name, unit_key, role, _manager, _weight in USERS:
        surname, given = full_name[:1], full_name[1:]
        users[username] = User(
            username=username, full_name=full_name, first_name=given, last_name=surname,
            email=f"{username}@huatong-demo.cn", org_unit=units[unit_key], role=roles[role],
            is_staff=role == ADMIN, is_superuser=role == ADMIN, password=password_hash,
        )
        check_password_rules(password, users[username])  # the accounts are real ones, admin a superuser
    User.objects.bulk_create(users.values())
    users = {u.username: u for u in User.objects.filter(username__in=users)}
    for username, _n, _u, _r, manager, _w in USERS:
        if manager:
            users[username].manager = users[manager]
    User.objects.bulk_update([u for u in users.values() if u.manager_id], ["manager"])
    return users


def build_organisation(*, password: str) -> Organisation:
    roles = build_roles()
    units = build_units()
    users = build_users(units, roles, password=password)
    weights = {username: weight for username, _n, _u, _r, _m, weight in USERS if weight}
    return Organisation(units=units, roles=roles, users=users, owner_weights=weights)
