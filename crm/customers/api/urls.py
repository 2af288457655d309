from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="api-customer")
router.register("contacts", views.ContactViewSet, basename="api-contact")
router.register("tags", views.TagViewSet, basename="api-tag")

urlpatterns = router.urls
