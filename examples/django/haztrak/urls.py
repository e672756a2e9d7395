"""The example's URLs: the manifests pages, the admin, and the task dashboard."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("manifests.urls")),
    path("admin/", admin.site.urls),
    path("tasks/", include("taskbridge_django.urls")),
]
