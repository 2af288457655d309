from django.urls import path

from . import views

app_name = "activities"

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("todos/", views.todo_list, name="todo_list"),
    path("todos/new/", views.todo_create, name="todo_create"),
    path("todos/<int:pk>/complete/", views.todo_complete, name="todo_complete"),
    path("todos/<int:pk>/reopen/", views.todo_reopen, name="todo_reopen"),
    path("interactions/", views.interaction_list, name="interaction_list"),
    path("customers/<int:pk>/interactions/new/", views.interaction_create, name="interaction_create"),
    path("customers/<int:pk>/timeline/", views.timeline, name="timeline"),
]
