from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("analytics/snapshots", views.SnapshotViewSet, basename="api-analytics-snapshot")
router.register("analytics/customers", views.CustomerMetricsViewSet, basename="api-analytics-customer")

urlpatterns = [
    path("analytics/refresh/", views.RefreshView.as_view(), name="api-analytics-refresh"),
    path("analytics/summary/", views.SummaryView.as_view(), name="api-analytics-summary"),
    path("analytics/transitions/", views.TransitionsView.as_view(), name="api-analytics-transitions"),
    *router.urls,
]
