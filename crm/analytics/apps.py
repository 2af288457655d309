import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "crm.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from crm.core import schedule

        from . import permissions
        from .tasks import nightly_refresh_task

        permissions.register()

        # The nightly refresh of the customer value analysis (R5.9: screening follows the data).
        schedule.register("analytics.refresh", nightly_refresh_task, every=datetime.timedelta(days=1))
