import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from crm.core import registry, schedule
        from crm.core.registry import Kind, MenuEntry

        from . import permissions
        from .choices import OWNERSHIP_EVENT, POOL_WARNING_TODO
        from .tasks import reclaim_pool_task

        permissions.register()

        # The customer pool run: return customers nobody served for too long, warn their owners first.
        schedule.register("customers.reclaim_pool", reclaim_pool_task, every=datetime.timedelta(days=1))

        registry.timeline_kinds.register(Kind(OWNERSHIP_EVENT, _("ownership"), order=30, tab=True))
        registry.todo_kinds.register(Kind(POOL_WARNING_TODO, _("customer about to return to the pool"), order=30))
        registry.main_menu.register(MenuEntry("customers", _("Customers"), "customers:list", order=10))
        registry.main_menu.register(MenuEntry("pool", _("Customer pool"), "customers:pool", order=20,
                                              testid="nav-pool"))
        registry.settings_menu.register(MenuEntry("pool_rules", _("Pool rules"), "customers:pool_rules", order=50,
                                                  visible=permissions.can_manage_pool_rules))
