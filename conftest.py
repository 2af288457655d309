"""Shared fixtures: an organisation with every kind of relation a visibility rule must handle.

    总部 (head office)                      ceo: scope all
    ├── 北京分公司 (branch)                  bj_branch_mgr: branch, bj_region_mgr: branch_tree
    │   ├── 北京一组 (team)                  rep, teammate, sub (reports to manager), manager: subordinates,
    │   │                                    team_lead: team
    │   ├── 北京二组 (team)                  other_team_rep
    │   └── 天津办事处 (sub-branch)
    │       └── 天津组 (team)                tj_rep
    └── 上海分公司 (branch)
        └── 上海组 (team)                    sh_rep
"""

from types import SimpleNamespace

import pytest
from django.utils import translation

from crm.accounts.choices import Action, DataScopeKind, UnitKind
from crm.accounts.tests.factories import ALL_ACTIONS, SALES_ACTIONS, OrgUnitFactory, RoleFactory, UserFactory


def pytest_configure(config):
    from django.conf import settings

    # Hashing strength is not under test; a fast hasher keeps fixtures with many users cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def org(db):
    hq = OrgUnitFactory(name="总部", kind=UnitKind.HEAD_OFFICE)
    bj = OrgUnitFactory(name="北京分公司", kind=UnitKind.BRANCH, parent=hq)
    bj1 = OrgUnitFactory(name="北京一组", kind=UnitKind.TEAM, parent=bj)
    bj2 = OrgUnitFactory(name="北京二组", kind=UnitKind.TEAM, parent=bj)
    tj = OrgUnitFactory(name="天津办事处", kind=UnitKind.BRANCH, parent=bj)
    tj1 = OrgUnitFactory(name="天津组", kind=UnitKind.TEAM, parent=tj)
    sh = OrgUnitFactory(name="上海分公司", kind=UnitKind.BRANCH, parent=hq)
    sh1 = OrgUnitFactory(name="上海组", kind=UnitKind.TEAM, parent=sh)

    def role(scope, actions=SALES_ACTIONS):
        return RoleFactory(name=f"role-{scope}-{len(actions)}", data_scope=scope, actions=list(actions))

    manager_actions = [*SALES_ACTIONS, Action.ASSIGN, Action.DELETE]
    own = role(DataScopeKind.OWN)
    manager = UserFactory(username="manager", full_name="王经理", org_unit=bj1,
                          role=role(DataScopeKind.SUBORDINATES, manager_actions))
    users = SimpleNamespace(
        hq=hq, bj=bj, bj1=bj1, bj2=bj2, tj=tj, tj1=tj1, sh=sh, sh1=sh1,
        manager=manager,
        rep=UserFactory(username="rep", full_name="李销售", org_unit=bj1, role=own, manager=manager),
        sub=UserFactory(username="sub", full_name="赵下属", org_unit=bj1, role=own, manager=manager),
        teammate=UserFactory(username="teammate", full_name="钱同事", org_unit=bj1, role=own),
        team_lead=UserFactory(username="team_lead", full_name="孙组长", org_unit=bj1,
                              role=role(DataScopeKind.TEAM, manager_actions)),
        other_team_rep=UserFactory(username="other_team_rep", full_name="周二组", org_unit=bj2, role=own),
        bj_branch_mgr=UserFactory(username="bj_branch_mgr", full_name="吴分总", org_unit=bj,
                                  role=role(DataScopeKind.BRANCH, manager_actions)),
        bj_region_mgr=UserFactory(username="bj_region_mgr", full_name="郑区总", org_unit=bj,
                                  role=role(DataScopeKind.BRANCH_TREE, manager_actions)),
        tj_rep=UserFactory(username="tj_rep", full_name="冯天津", org_unit=tj1, role=own),
        sh_rep=UserFactory(username="sh_rep", full_name="陈上海", org_unit=sh1, role=own),
        ceo=UserFactory(username="ceo", full_name="林总", org_unit=hq,
                        role=role(DataScopeKind.ALL, ALL_ACTIONS)),
        viewer=UserFactory(username="viewer", full_name="只读", org_unit=bj1,
                           role=role(DataScopeKind.TEAM, [Action.VIEW])),
        no_role=UserFactory(username="no_role", full_name="无角色", org_unit=bj1, role=None),
    )
    # The subordinate of the rep's manager reports one level further down, to test transitivity.
    users.subsub = UserFactory(username="subsub", full_name="孙下属", org_unit=bj1, role=own, manager=users.sub)
    users.admin = UserFactory(username="admin", full_name="管理员", org_unit=hq, role=None,
                              is_superuser=True, is_staff=True)
    return users
