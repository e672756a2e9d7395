"""Backends shipped inside the core distribution (only ``memory://``)."""
