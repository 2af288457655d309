"""Steps a log-in must finish before anything else: the two-factor code (for users who use it), the
enrolment in two-factor log-in (when required of administrators) and a forced password change (after
an administrator's reset).

Until the step is done every page redirects to the step's page and the API (with the session) answers
403; log-out and the language switch stay open.  Requests with an API token are not affected: a token
is only issued once the steps are done (see ``services.api_token_refusal``).
"""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from . import services

# Whether the session's user has two-factor log-in, remembered per session (one query per log-in, not per
# request); the two-factor pages refresh it.
TWO_FACTOR_SESSION_KEY = "crm_two_factor"


def session_has_two_factor(request, refresh=False) -> bool:
    known = request.session.get(TWO_FACTOR_SESSION_KEY)
    if refresh or known is None or known[0] != request.user.pk:
        known = (request.user.pk, services.has_two_factor(request.user))
        request.session[TWO_FACTOR_SESSION_KEY] = known
    return known[1]


def pending_step(request):
    """The URL name of the step ``request.user`` must finish now, with the reason to show, or None."""
    user = request.user
    if not user.is_verified() and session_has_two_factor(request):
        return "accounts:two_factor_verify", _("Enter the code from your authenticator app.")
    if services.two_factor_required(user) and not user.is_verified():
        return "accounts:two_factor", _("Set up two-factor log-in before you continue.")
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
        if request.method == "GET" and not getattr(request, "htmx", False):
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        response = HttpResponseRedirect(url)
        if getattr(request, "htmx", False):
            response["HX-Redirect"] = url
        return response
