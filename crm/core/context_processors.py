from functools import partial

from django.conf import settings
from django.urls import reverse

from . import registry


def _menu(entries, user):
    return [{"entry": entry, "url": reverse(entry.url_name)} for entry in entries if entry.visible(user)]


def navigation(request):
    """The languages, and the menus as the apps registered them (:mod:`crm.core.registry`), without the
    entries the user may not see."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "crm_languages": settings.LANGUAGES,
        # Callables: the template builds a menu only where it shows one (full pages, not htmx fragments).
        "crm_main_menu": partial(_menu, registry.main_menu, user) if signed_in else [],
        "crm_settings_menu": partial(_menu, registry.settings_menu, user) if signed_in else [],
    }
