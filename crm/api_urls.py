"""The REST API root: each app contributes its routes from ``<app>/api/urls.py``."""

from django.urls import include, path

urlpatterns = [
    path("", include("crm.accounts.api.urls")),
    path("", include("crm.customers.api.urls")),
]
