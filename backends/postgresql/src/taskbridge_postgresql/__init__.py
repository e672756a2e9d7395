"""taskbridge's PostgreSQL store: ``postgresql://user@host:5432/db`` (or ``postgres://``), on its
own or as ``?store=postgresql://...`` on any engine URL. Importing this package imports no driver;
the store factory does, when called."""
