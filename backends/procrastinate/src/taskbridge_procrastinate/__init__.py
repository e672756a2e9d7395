"""taskbridge's Procrastinate backend (``procrastinate+postgresql://``)."""
