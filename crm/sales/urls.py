from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/stock/", views.stock_movement_create, name="stock_create"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/export/", views.order_export, name="order_export"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/line-row/", views.order_line_row, name="order_line_row"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("orders/<int:pk>/status/", views.order_status, name="order_status"),
    path("orders/<int:pk>/delete/", views.order_delete, name="order_delete"),
]
