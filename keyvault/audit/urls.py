"""Auditor pages (namespace ``keyvault``). Every name here needs a row in
``tests/keyvault/test_role_matrix.py``."""

from __future__ import annotations

from django.urls import path

from keyvault.audit import views

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("compliance/", views.compliance, name="compliance"),
    path("compliance/export/", views.compliance_export, name="compliance_export"),
]
