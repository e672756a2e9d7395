"""Hazardous-waste manifests, synced from a (simulated) national system."""
