"""Manifests synced from the national system, and reports users ask for."""

from django.db import models


class Manifest(models.Model):
    tracking_number = models.CharField(max_length=12, unique=True)
    status = models.CharField(max_length=20, default="Pending")
    epa_status = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.tracking_number


class Report(models.Model):
    site = models.CharField(max_length=20)
    #: The taskbridge execution building it: its progress shows on the report's page.
    execution_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
