"""Steps a log-in must finish before anything else: a forced password change (after an administrator's
reset) and, in the two-factor commit, the code check and a required enrolment.

Until the step is done every page redirects to the step's page and the API (with the session) answers
403; log-out and the language switch stay open.  Requests with an API token are not affected: a token
is only issued once the steps are done (see ``services.api_token_refusal``).
"""

from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _


def pending_step(request):
    """The URL name of the step ``request.user`` must finish now, with the reason to show, or None."""
    user = request.user
    if user.must_change_password:
        return "accounts:password_change", _("Choose a new password before you continue.")
    return None


class LoginStepsMiddleware:
    """Install after AuthenticationMiddleware (and django-otp's OTPMiddleware)."""

    always_open = ("logout", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            step = pending_step(request)
            if step is not None:
                url_name, reason = step
                open_paths = {reverse(url_name), *(reverse(name) for name in self.always_open)}
                if request.path_info not in open_paths and not request.path_info.startswith("/static/"):
                    return self._redirect(request, reverse(url_name), reason)
        return self.get_response(request)

    @staticmethod
    def _redirect(request, url, reason):
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": reason}, status=403)
        response = HttpResponseRedirect(url)
        if getattr(request, "htmx", False):
            response["HX-Redirect"] = url
        return response
