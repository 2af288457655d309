from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("quality/", views.quality, name="quality"),
    path("movement/", views.transitions, name="transitions"),
    path("refresh/", views.refresh, name="refresh"),
    path("refresh/progress/", views.progress, name="progress"),
    path("settings/", views.settings_edit, name="settings"),
    path("settings/segments/", views.segments_edit, name="segments"),
]
