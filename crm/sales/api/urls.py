from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("product-categories", views.ProductCategoryViewSet, basename="api-productcategory")
router.register("products", views.ProductViewSet, basename="api-product")
router.register("partners", views.ChannelPartnerViewSet, basename="api-partner")
router.register("stock-movements", views.StockMovementViewSet, basename="api-stockmovement")
router.register("orders", views.OrderViewSet, basename="api-order")

urlpatterns = router.urls
