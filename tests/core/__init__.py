"""The core's own unit and property tests (a package so module names cannot clash)."""
