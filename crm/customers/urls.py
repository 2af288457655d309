from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("export/", views.customer_export, name="export"),
    path("pool/", views.pool, name="pool"),
    path("pool/<int:pk>/claim/", views.pool_claim, name="pool_claim"),
    path("pool/rules/", views.pool_rules, name="pool_rules"),
    path("pool/rules/new/", views.pool_rule_edit, name="pool_rule_create"),
    path("pool/rules/<int:pk>/", views.pool_rule_edit, name="pool_rule_edit"),
    path("handover/", views.handover, name="handover"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/assign/", views.customer_assign, name="assign"),
    path("<int:pk>/release/", views.customer_release, name="release"),
    path("<int:pk>/delete/", views.customer_delete, name="delete"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", views.contact_delete, name="contact_delete"),
]
