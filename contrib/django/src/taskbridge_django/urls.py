"""``path("tasks/", include("taskbridge_django.urls"))``: the dashboard (CONTRACT §15)."""

from django.urls import re_path

from taskbridge_django import views

app_name = "taskbridge"
urlpatterns = [
    re_path(r"^(?P<path>.*)$", views.dashboard, name="dashboard"),
]
