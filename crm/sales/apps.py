from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "crm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from crm.core import registry
        from crm.core.registry import Kind, MenuEntry, Panel

        from . import permissions, views
        from .choices import ORDER_EVENT

        permissions.register()

        registry.timeline_kinds.register(Kind(ORDER_EVENT, _("order"), order=10, tab=True))
        # The purchase summary and latest orders, first of the sections other apps add to the 360° page.
        registry.panels.register("customer_detail", Panel(
            "sales.orders", "sales/partials/customer_orders.html", order=10, context=views.customer_orders_panel))
        registry.main_menu.register(MenuEntry("orders", _("Orders"), "sales:order_list", order=30,
                                              testid="nav-orders"))
        registry.main_menu.register(MenuEntry("products", _("Products"), "sales:product_list", order=40,
                                              testid="nav-products"))
