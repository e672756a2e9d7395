"""Store URLs: schemes, namespaces as schemas, and clear errors for what cannot work."""

from __future__ import annotations

import pytest
from taskbridge_postgresql.factory import parse

from taskbridge import ConfigurationError
from taskbridge.plugin import installed_stores, open_store


def test_both_schemes_are_registered() -> None:
    """postgresql:// and postgres:// both name the PostgreSQL store."""
    stores = installed_stores()
    assert stores["postgresql"] is stores["postgres"]


def test_namespace_names_the_schema_and_leaves_the_url() -> None:
    """?namespace= becomes the schema and is not passed to libpq; other options are."""
    conninfo, schema = parse("postgresql://u@h:5433/db?sslmode=disable&namespace=app")
    assert schema == "app"
    assert conninfo == "postgresql://u@h:5433/db?sslmode=disable"


def test_engine_namespace_is_the_default_and_the_store_url_wins() -> None:
    """Without its own namespace the store takes the engine URL's, else 'taskbridge'."""
    assert parse("postgres://h/db", "engine-ns")[1] == "engine-ns"
    assert parse("postgres://h/db?namespace=own", "engine-ns")[1] == "own"
    assert parse("postgres://h/db")[1] == "taskbridge"


def test_a_malformed_url_is_a_configuration_error() -> None:
    """An option libpq does not know is refused when the store is opened, naming the URL."""
    with pytest.raises(ConfigurationError, match=r"not a valid PostgreSQL URL.*nosuchoption"):
        open_store("postgresql://user:secret@127.0.0.1/db?nosuchoption=1")


def test_the_password_never_shows_in_errors() -> None:
    """Errors about a URL redact its password."""
    with pytest.raises(ConfigurationError) as raised:
        open_store("postgresql://user:secret@127.0.0.1/db?nosuchoption=1")
    assert "secret" not in str(raised.value)


def test_a_namespace_too_long_for_a_schema_name_is_refused() -> None:
    """PostgreSQL would cut a 64-byte schema name silently; the store refuses it instead."""
    with pytest.raises(ConfigurationError, match="63 bytes"):
        open_store(f"postgresql://127.0.0.1/db?namespace={'n' * 64}")
