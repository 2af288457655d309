from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "crm.accounts"
    label = "accounts"
    verbose_name = _("Accounts and access")

    def ready(self):
        from crm.core.filtersets import set_scope_provider

        from .queries import filter_units, filter_users

        set_scope_provider(people=filter_users, units=filter_units)
