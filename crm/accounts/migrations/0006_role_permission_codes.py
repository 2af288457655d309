"""Data: turn every role's global verbs into the per-model permission codes that now guard the same checks.

The mapping is frozen here, as it was when the codes were introduced: each check the old verb guarded
is guarded by exactly one of the codes listed for it, so every role keeps exactly its rights.  Codes
added later are not in it.  Reversible: a verb comes back when the role holds all of its codes.
"""

from django.db import migrations

VERB_CODES = {
    "view": [
        "accounts.view_records", "customers.view_customer", "activities.view_interaction", "activities.view_todo",
        "sales.view_order", "sales.view_catalogue", "analytics.view",
    ],
    "create": ["customers.add_customer", "activities.add_interaction", "activities.add_todo", "sales.add_order"],
    "change": [
        "customers.change_customer", "activities.change_interaction", "activities.change_todo", "sales.change_order",
    ],
    "delete": [
        "customers.delete_customer", "activities.delete_interaction", "activities.delete_todo", "sales.delete_order",
    ],
    "export": ["customers.export_customer", "sales.export_order"],
    "assign": ["customers.assign_customer"],
    "manage_settings": [
        "core.manage_settings", "accounts.manage_users", "customers.manage_pool_rules", "sales.manage_catalogue",
        "analytics.refresh", "analytics.manage_settings",
    ],
}
VERBS = list(VERB_CODES)  # the order the old editor showed them in


def codes_for(verbs) -> list:
    """The codes that replace ``verbs`` (unknown verbs are dropped; they granted nothing)."""
    granted = set(verbs or [])
    return [code for verb in VERBS if verb in granted for code in VERB_CODES[verb]]


def verbs_for(codes) -> list:
    """The verbs whose every code is in ``codes`` (the way back)."""
    held = set(codes or [])
    return [verb for verb in VERBS if set(VERB_CODES[verb]) <= held]


def _convert(apps, convert):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.order_by("pk"):
        new = convert(role.permissions)
        if new != role.permissions:
            Role.objects.filter(pk=role.pk).update(permissions=new)


def forwards(apps, schema_editor):
    _convert(apps, codes_for)


def backwards(apps, schema_editor):
    _convert(apps, verbs_for)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_role_actions_to_permissions"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
