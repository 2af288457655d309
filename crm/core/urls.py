from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/<int:pk>/", views.audit_detail, name="audit_detail"),
    path("custom-fields/", views.customfield_list, name="customfield_list"),
    path("custom-fields/new/", views.customfield_edit, name="customfield_create"),
    path("custom-fields/<int:pk>/", views.customfield_edit, name="customfield_edit"),
]

# Log-in and log-out keep Django's own views (session key rotated at log-in).
auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
