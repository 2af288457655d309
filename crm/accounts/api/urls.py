from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="api-user")
router.register("units", views.OrgUnitViewSet, basename="api-unit")
router.register("roles", views.RoleViewSet, basename="api-role")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    *router.urls,
]
