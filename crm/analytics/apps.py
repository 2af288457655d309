import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "crm.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from crm.core import registry, schedule, tables
        from crm.core.registry import Kind, MenuEntry, Panel

        from . import filtersets, permissions, views
        from .choices import VALUE_ALERT_TODO
        from .tables import CUSTOMER_COLUMNS
        from .tasks import nightly_refresh_task

        permissions.register()

        # The nightly refresh of the customer value analysis (R5.9: screening follows the data).
        schedule.register("analytics.refresh", nightly_refresh_task, every=datetime.timedelta(days=1))

        registry.todo_kinds.register(Kind(VALUE_ALERT_TODO, _("customer value dropped"), order=40))
        # The customer value panel heads the side column of the 360° page; "my day" shows the user's
        # customers at risk and due to buy.
        registry.panels.register("customer_detail", Panel(
            "analytics.value", "analytics/partials/customer_value.html", order=10, column="side",
            context=views.customer_value_context))
        registry.panels.register("my_day", Panel(
            "analytics.value_day", "analytics/partials/my_day_value.html", order=10,
            context=views.my_day_value_panel))

        # Segment, tier, value class … filters, and the value, lifetime value, P(alive) and loyalty columns
        # of the customer list.
        for entry in filtersets.CUSTOMER_LIST_FILTERS:
            registry.list_filters.register("customers.customer", entry)
        tables.contribute("customers.customer", CUSTOMER_COLUMNS)

        registry.main_menu.register(MenuEntry("analytics", _("Analytics"), "analytics:dashboard", order=80,
                                              testid="nav-analytics"))
        registry.settings_menu.register(MenuEntry("analytics_settings", _("Analytics settings"),
                                                  "analytics:settings", order=60,
                                                  visible=permissions.can_manage_settings))
        registry.settings_menu.register(MenuEntry("segments", _("RFM segments"), "analytics:segments", order=70,
                                                  visible=permissions.can_manage_settings))
