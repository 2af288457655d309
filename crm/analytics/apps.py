import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "crm.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from crm.core import schedule, tables

        from .tables import CUSTOMER_COLUMNS
        from .tasks import nightly_refresh_task

        # The nightly refresh of the customer value analysis (R5.9: screening follows the data).
        schedule.register("analytics.refresh", nightly_refresh_task, every=datetime.timedelta(days=1))
        # The customer value figures as columns of the customer list.
        tables.contribute("customers.customer", CUSTOMER_COLUMNS)
