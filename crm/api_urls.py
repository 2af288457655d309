"""The REST API root: each app contributes its routes from ``<app>/api/urls.py``; framework
endpoints (audit log, custom field definitions, tokens) come from ``crm.core.api_views``."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from crm.accounts.api import views as accounts_api_views
from crm.core import api_views

router = SimpleRouter()
router.register("audit-entries", api_views.AuditEntryViewSet, basename="api-auditentry")
router.register("custom-fields", api_views.CustomFieldDefinitionViewSet, basename="api-customfield")

urlpatterns = [
    path("auth/token/", accounts_api_views.TokenView.as_view(), name="api-token"),
    *router.urls,
    path("", include("crm.accounts.api.urls")),
    path("", include("crm.customers.api.urls")),
    path("", include("crm.sales.api.urls")),
    path("", include("crm.activities.api.urls")),
    path("", include("crm.analytics.api.urls")),
]
