from django.conf import settings

from .permissions import MANAGE_SETTINGS


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "crm_languages": settings.LANGUAGES,
        "crm_can_manage": bool(user and user.is_authenticated and user.can(MANAGE_SETTINGS)),
    }
