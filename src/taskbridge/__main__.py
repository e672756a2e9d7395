"""``python -m taskbridge`` runs the command line."""

from taskbridge.cli import main

raise SystemExit(main())
