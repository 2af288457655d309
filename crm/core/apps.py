from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "crm.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import permissions, signals  # noqa: F401  (signals: audit log receivers)
        from .registry import MenuEntry, manages_settings, settings_menu

        permissions.register_core()

        settings_menu.register(MenuEntry("fields", _("Custom fields"), "core:customfield_list", order=40,
                                         visible=manages_settings))
        settings_menu.register(MenuEntry("audit", _("Audit log"), "core:audit_list", order=90,
                                         visible=manages_settings))
