"""URLs of the vault app (namespace ``keyvault``).

Every name here needs a row in ``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from keyvault import audit_views, rotation_views, views

app_name = "keyvault"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("integrations/new/", views.integration_create, name="integration_create"),
    path(
        "integrations/<uuid:integration_id>/",
        views.integration_detail,
        name="integration_detail",
    ),
    path(
        "integrations/<uuid:integration_id>/edit/",
        views.integration_edit,
        name="integration_edit",
    ),
    path(
        "credentials/<uuid:credential_id>/reveal/",
        views.credential_reveal,
        name="credential_reveal",
    ),
    # Rotation, revocation and history (reminder emails link to credential_rotate with ``pk``).
    path(
        "integrations/<uuid:pk>/rotate/",
        rotation_views.credential_rotate,
        name="credential_rotate",
    ),
    path(
        "integrations/<uuid:pk>/revoke/",
        rotation_views.credential_revoke,
        name="credential_revoke",
    ),
    path(
        "integrations/<uuid:pk>/credentials/new/",
        rotation_views.credential_add,
        name="credential_add",
    ),
    path(
        "integrations/<uuid:pk>/history/",
        rotation_views.integration_history,
        name="integration_history",
    ),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export/", audit_views.audit_export, name="audit_export"),
    path("compliance/", audit_views.compliance, name="compliance"),
]
