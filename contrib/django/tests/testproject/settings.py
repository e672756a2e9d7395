"""Settings of the test project.

One run's databases are named after ``TASKBRIDGE_DJANGO_TEST_RUN`` and live in
``TASKBRIDGE_DJANGO_TEST_DIR`` (both set here on first import and inherited by the worker
processes tests start), so parallel runs on one machine never share a database. Worker
processes started by tests set ``TASKBRIDGE_DJANGO_TEST_DATABASES=test`` to open the test
databases pytest-django created rather than the configured ones.
"""

from __future__ import annotations

import os
import tempfile
import uuid

RUN = os.environ.setdefault("TASKBRIDGE_DJANGO_TEST_RUN", uuid.uuid4().hex[:8])
FOLDER = os.environ.get("TASKBRIDGE_DJANGO_TEST_DIR") or tempfile.mkdtemp(prefix="tb-django-")
os.environ["TASKBRIDGE_DJANGO_TEST_DIR"] = FOLDER
POSTGRES = {
    "HOST": os.environ.get("TASKBRIDGE_TEST_PGHOST", "127.0.0.1"),
    "PORT": os.environ.get("TASKBRIDGE_TEST_PGPORT", "5432"),
    "USER": os.environ.get("TASKBRIDGE_TEST_PGUSER", "postgres"),
    "PASSWORD": os.environ.get("TASKBRIDGE_TEST_PGPASSWORD", ""),
}

SECRET_KEY = "taskbridge-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "testproject.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "taskbridge_django",
    "testapp",
    "djangotasks",
]
try:  # Django 5.2: Django's task API comes from the django-tasks backport
    import django.tasks  # noqa: F401
except ImportError:
    INSTALLED_APPS.append("django_tasks")
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(FOLDER, "db.sqlite3"),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        "TEST": {"NAME": os.path.join(FOLDER, "test.sqlite3")},
    },
    "pg": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        **POSTGRES,
        "TEST": {"NAME": f"test_taskbridge_django_{RUN}"},
    },
}
if os.environ.get("TASKBRIDGE_DJANGO_TEST_DATABASES") == "test":
    for database in DATABASES.values():
        database["NAME"] = database["TEST"]["NAME"]

TASKBRIDGE = {
    "URL": os.environ.get("TASKBRIDGE_DJANGO_TEST_URL")
    or f"huey+sqlite:///{os.path.join(FOLDER, 'tasks.db')}",
    "STORE": os.environ.get("TASKBRIDGE_DJANGO_TEST_STORE", "django"),
    "UNSENT_GRACE": float(os.environ.get("TASKBRIDGE_DJANGO_TEST_UNSENT_GRACE", "30")),
}
# Django's own task API on taskbridge (the tests of djangotasks' tasks).
TASKS = {"default": {"BACKEND": "taskbridge_django.TaskBridgeBackend",
                     "QUEUES": ["default", "emails"]}}
