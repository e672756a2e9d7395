"""The Django app: checks registered, every installed app's ``tasks.py`` imported, and the
default bridge built from ``settings.TASKBRIDGE`` on first use."""

from __future__ import annotations

from django.apps import AppConfig


class TaskBridgeConfig(AppConfig):
    name = "taskbridge_django"
    label = "taskbridge_django"
    verbose_name = "Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from taskbridge_django import checks, conf

        checks.register()
        conf.install_default_bridge()
        autodiscover_modules("tasks")
