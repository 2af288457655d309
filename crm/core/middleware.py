from . import audit


def client_address(request):
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Opens the audit context for a request: the authenticated user and the client's address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        with audit.audit_context(actor=actor, ip_address=client_address(request), source="web"):
            return self.get_response(request)
