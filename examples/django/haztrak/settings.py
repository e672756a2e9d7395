"""Settings of the example: SQLite for Django and, through the embedded default engine
(Huey on an SQLite file), for the task messages; results and schedules in Django's database."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "haztrak.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
LOGIN_URL = "/admin/login/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "taskbridge_django",
    "manifests",
]
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
        "NAME": BASE_DIR / "haztrak.sqlite3",
        # Workers and the web process write at once: take SQLite's write lock up front.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    },
}

TASKBRIDGE = {
    # The embedded default, spelled out: Huey's messages in an SQLite file beside this one.
    "URL": f"huey+sqlite:///{BASE_DIR / 'tasks.sqlite3'}",
    "STORE": "django",
    "ROUTES": {"manifests.tasks.generate_*": "reports"},
}
