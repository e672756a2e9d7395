"""The Django adapter's tests run under pytest-django with their own settings (``cd contrib/django
&& pytest``, as ``scripts/test.sh`` does): a run that has not set Django up, such as the
repository-wide one, leaves them out rather than failing to import Django models."""

from __future__ import annotations


def _django_is_set_up() -> bool:
    try:
        from django.conf import settings
    except ImportError:
        return False
    return bool(settings.configured)


collect_ignore = [] if _django_is_set_up() else ["tests"]
