from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "crm.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self):
        from crm.core import registry
        from crm.core.registry import Kind, MenuEntry, Panel

        from . import permissions, services, views
        from .choices import TimelineKind, TodoKind

        permissions.register()

        # Its own kinds; customers, sales and analytics register theirs (ownership, order, pool warning …).
        for kind, order, tab in ((TimelineKind.INTERACTION, 20, True), (TimelineKind.CASE, 40, True),
                                 (TimelineKind.NOTE, 50, False)):
            registry.timeline_kinds.register(Kind(kind.value, kind.label, order=order, tab=tab))
        for kind, order in ((TodoKind.FOLLOW_UP, 10), (TodoKind.TASK, 20)):
            registry.todo_kinds.register(Kind(kind.value, kind.label, order=order))

        # What earlier apps (customers) ask of activities without importing it.
        registry.provide("timeline.record_event", services.record_event)
        registry.provide("timeline.record_events", services.record_events)
        registry.provide("todos.create", services.create_todos)
        registry.provide("todos.close_open", services.close_open_todos)
        registry.provide("todos.count_open", services.open_todo_count)
        registry.provide("todos.hand_over", services.hand_over_todos)

        # Log an interaction and the timeline, on the customer's 360° page below the orders.
        registry.panels.register("customer_detail", Panel(
            "activities.timeline", "activities/partials/customer_panel.html", order=20,
            context=views.customer_activity_context))

        registry.main_menu.register(MenuEntry("my_day", _("My day"), "activities:my_day", order=50,
                                              testid="nav-my-day"))
        registry.main_menu.register(MenuEntry("todos", _("To-dos"), "activities:todo_list", order=60,
                                              testid="nav-todos"))
        registry.main_menu.register(MenuEntry("interactions", _("Interactions"), "activities:interaction_list",
                                              order=70, testid="nav-interactions"))
