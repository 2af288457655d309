from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="api-customer")
router.register("contacts", views.ContactViewSet, basename="api-contact")
router.register("tags", views.TagViewSet, basename="api-tag")
router.register("pool", views.PoolViewSet, basename="api-pool")
router.register("pool-rules", views.PoolRuleViewSet, basename="api-pool-rule")

urlpatterns = [
    *router.urls,
    path("handover/", views.HandoverView.as_view(), name="api-handover"),
]
