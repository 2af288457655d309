from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("interactions", views.InteractionViewSet, basename="api-interaction")
router.register("todos", views.TodoViewSet, basename="api-todo")
router.register("timeline", views.TimelineViewSet, basename="api-timeline")

urlpatterns = router.urls
