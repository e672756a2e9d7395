"""The test project's URLs: the admin, and the dashboard under /tasks/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tasks/", include("taskbridge_django.urls")),
]
