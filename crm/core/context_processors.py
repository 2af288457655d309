from django.conf import settings


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "crm_languages": settings.LANGUAGES,
        "crm_can_manage": bool(user and user.is_authenticated and user.can("manage_settings")),
    }
