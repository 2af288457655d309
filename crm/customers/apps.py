import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from crm.core import schedule

        from . import permissions
        from .tasks import reclaim_pool_task

        permissions.register()

        # The customer pool run: return customers nobody served for too long, warn their owners first.
        schedule.register("customers.reclaim_pool", reclaim_pool_task, every=datetime.timedelta(days=1))
