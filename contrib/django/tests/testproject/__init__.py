"""A small Django project for the adapter's tests (SQLite as ``default``, PostgreSQL as ``pg``)."""
