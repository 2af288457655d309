from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "crm.accounts"
    label = "accounts"
    verbose_name = _("Accounts and access")

    def ready(self):
        from crm.core.filtersets import set_scope_provider
        from crm.core.registry import MenuEntry, settings_menu

        from . import permissions
        from .queries import filter_units, filter_users

        permissions.register()
        set_scope_provider(people=filter_users, units=filter_units)

        settings_menu.register(MenuEntry("org", _("Organisation"), "accounts:unit_list", order=10,
                                         visible=permissions.can_manage_users))
        settings_menu.register(MenuEntry("users", _("Users"), "accounts:user_list", order=20,
                                         visible=permissions.can_manage_users))
        settings_menu.register(MenuEntry("roles", _("Roles"), "accounts:role_list", order=30,
                                         visible=permissions.can_manage_users))
