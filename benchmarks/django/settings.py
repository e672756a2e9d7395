"""Settings of the changelist benchmark: the admin on a PostgreSQL database of its own."""

from __future__ import annotations

import os

SECRET_KEY = "benchmark"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "benchmarks.django.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "taskbridge_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ.get("TASKBRIDGE_BENCH_DB", "taskbridge_bench_admin"),
    "HOST": os.environ.get("TASKBRIDGE_TEST_PGHOST", "127.0.0.1"),
    "USER": os.environ.get("TASKBRIDGE_TEST_PGUSER", "postgres"),
}}
TASKBRIDGE = {"URL": "memory://", "STORE": "django", "IMPORTS": ["benchmarks.django.tasks"]}
