from django.db import migrations, models


class Migration(migrations.Migration):
    """Schema only: a role's global verbs become per-model permission codes (the data follows in 0006)."""

    dependencies = [
        ("accounts", "0004_user_must_change_password"),
    ]

    operations = [
        migrations.RenameField(model_name="role", old_name="actions", new_name="permissions"),
        migrations.AlterField(
            model_name="role",
            name="permissions",
            field=models.JSONField(blank=True, default=list, verbose_name="permissions"),
        ),
    ]
