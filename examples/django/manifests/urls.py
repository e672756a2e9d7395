from django.urls import path

from manifests import views

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/<int:pk>/", views.report, name="report"),
]
