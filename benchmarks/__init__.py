"""taskbridge against the native engines, measured side by side in the same run."""
