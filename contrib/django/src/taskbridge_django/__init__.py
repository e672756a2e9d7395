"""taskbridge for Django: settings, the Django store, enqueue on commit, the admin,
``manage.py taskbridge`` and the dashboard in a URLconf (add ``"taskbridge_django"`` to
``INSTALLED_APPS``)."""

__version__ = "0.1.0"
