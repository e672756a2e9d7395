"""The test project's app: its ``tasks.py`` is found by autodiscovery."""
