"""The example's pages: manifests and a report button; a report's page shows its progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from manifests.models import Manifest, Report
from manifests.tasks import generate_report
from taskbridge import get_bridge


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        with transaction.atomic():
            report = Report.objects.create(site=request.POST.get("site") or "VATESTGEN001")
            result = generate_report.enqueue(report.site)
            report.execution_id = result.id
            report.save()
        return redirect("report", pk=report.pk)
    manifests = Manifest.objects.order_by("-synced_at")[:20]
    return render(request, "manifests/home.html", {"manifests": manifests})


@login_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Report, pk=pk)
    result = get_bridge().get_result(found.execution_id)
    return render(request, "manifests/report.html", {"report": found, "result": result})
