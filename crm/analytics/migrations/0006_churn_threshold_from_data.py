from django.db import migrations, models

import django.core.validators


def automatic(apps, schema_editor):
    """Settings still at the old fixed default of 0.30 let the backtest choose from now on."""
    AnalyticsSettings = apps.get_model("analytics", "AnalyticsSettings")
    AnalyticsSettings.objects.filter(churn_threshold=0.30).update(churn_threshold=None)


def fixed(apps, schema_editor):
    AnalyticsSettings = apps.get_model("analytics", "AnalyticsSettings")
    AnalyticsSettings.objects.filter(churn_threshold__isnull=True).update(churn_threshold=0.30)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0005_snapshot_stage_queued"),
    ]

    operations = [
        migrations.AlterField(
            model_name="analyticssettings",
            name="churn_threshold",
            field=models.FloatField(
                blank=True, default=None, null=True,
                help_text="Empty: chosen from the data by each refresh's backtest (recommended).",
                validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)],
                verbose_name="at risk of churn below P(alive)"),
        ),
        migrations.RunPython(automatic, fixed),
    ]
