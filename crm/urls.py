from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from crm.core.api_views import RedocView, SwaggerView
from crm.core.urls import auth_urlpatterns

urlpatterns = [
    *auth_urlpatterns,
    path("", include("crm.core.urls")),
    path("accounts/", include("crm.accounts.urls")),
    path("customers/", include("crm.customers.urls")),
    path("sales/", include("crm.sales.urls")),
    path("activities/", include("crm.activities.urls")),
    path("analytics/", include("crm.analytics.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("api/", include("crm.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
