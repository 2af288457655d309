"""The data migration that turned each role's global verbs into per-model permission codes."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from crm.core.permissions import codes, codes_for_verbs

migration = importlib.import_module("crm.accounts.migrations.0006_role_permission_codes")

OLD_VERBS = ["view", "create", "change", "delete", "export", "assign", "manage_settings"]


def test_the_frozen_mapping_is_the_registry_of_today():
    """Every code the migration grants exists, and each verb expands to what codes_for_verbs gives now:
    the demo data and the test set-ups build roles exactly as the migration converted the stored ones."""
    for verb in OLD_VERBS:
        assert sorted(migration.codes_for([verb])) == sorted(codes_for_verbs([verb])), verb
        assert set(migration.codes_for([verb])) <= codes()
    # every registered code came from one old verb, or is new (none today)
    frozen = {code for verb in OLD_VERBS for code in migration.VERB_CODES[verb]}
    assert frozen == codes()


def test_conversion_is_reversible():
    for verb in OLD_VERBS:
        assert migration.verbs_for(migration.codes_for([verb])) == [verb]
    assert migration.verbs_for(migration.codes_for(OLD_VERBS)) == OLD_VERBS
    assert migration.codes_for(["fly"]) == [] and migration.codes_for(None) == []
    # a role that lost one code of a verb does not get the verb back
    partial = [c for c in migration.codes_for(["view"]) if c != "sales.view_order"]
    assert migration.verbs_for(partial) == []


@pytest.mark.django_db(transaction=True)
def test_migrating_roles_with_each_old_verb():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0005_role_actions_to_permissions")]
    after = [("accounts", "0006_role_permission_codes")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Role = apps.get_model("accounts", "Role")
    for verb in OLD_VERBS:
        Role.objects.create(name=f"only-{verb}", permissions=[verb])
    Role.objects.create(name="sales", permissions=["view", "create", "change", "export"])
    Role.objects.create(name="none", permissions=[])

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    Role = executor.loader.project_state(after).apps.get_model("accounts", "Role")
    roles = {r.name: r.permissions for r in Role.objects.all()}
    assert roles["only-view"] == [
        "accounts.view_records", "customers.view_customer", "activities.view_interaction", "activities.view_todo",
        "sales.view_order", "sales.view_catalogue", "analytics.view"]
    assert roles["only-create"] == ["customers.add_customer", "activities.add_interaction", "activities.add_todo",
                                    "sales.add_order"]
    assert roles["only-change"] == ["customers.change_customer", "activities.change_interaction",
                                    "activities.change_todo", "sales.change_order"]
    assert roles["only-delete"] == ["customers.delete_customer", "activities.delete_interaction",
                                    "activities.delete_todo", "sales.delete_order"]
    assert roles["only-export"] == ["customers.export_customer", "sales.export_order"]
    assert roles["only-assign"] == ["customers.assign_customer"]
    assert roles["only-manage_settings"] == ["core.manage_settings", "accounts.manage_users",
                                             "customers.manage_pool_rules", "sales.manage_catalogue",
                                             "analytics.refresh", "analytics.manage_settings"]
    assert set(roles["sales"]) == set(codes_for_verbs(["view", "create", "change", "export"]))
    assert roles["none"] == []

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    Role = executor.loader.project_state(before).apps.get_model("accounts", "Role")
    back = {r.name: r.permissions for r in Role.objects.all()}
    assert back["sales"] == ["view", "create", "change", "export"]
    assert all(back[f"only-{verb}"] == [verb] for verb in OLD_VERBS)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
