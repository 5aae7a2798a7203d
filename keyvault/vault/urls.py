"""Pages of the vault: the dashboard, integrations and the reveal (namespace ``keyvault``).

Every name here needs a row in ``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from alerts import views as alerts_views
from keyvault.vault import check_views, lifecycle_views, sso_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("integrations/new/", views.integration_create, name="integration_create"),
    path(
        "integrations/archived/",
        lifecycle_views.integrations_archived,
        name="integrations_archived",
    ),
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
        "integrations/<uuid:integration_id>/check/",
        check_views.credential_check,
        name="credential_check",
    ),
    path(
        "integrations/<uuid:integration_id>/rotate/check/",
        check_views.replacement_check,
        name="replacement_check",
    ),
    path(
        "integrations/<uuid:integration_id>/correct-dates/",
        lifecycle_views.credential_dates_correct,
        name="credential_dates_correct",
    ),
    path(
        "integrations/<uuid:integration_id>/confirm-expiry/",
        lifecycle_views.credential_expiry_confirm,
        name="credential_expiry_confirm",
    ),
    path(
        "integrations/<uuid:integration_id>/reminders/<int:reminder_id>/retry/",
        alerts_views.integration_reminder_retry,
        name="integration_reminder_retry",
    ),
    path(
        "integrations/<uuid:integration_id>/archive/",
        lifecycle_views.integration_archive,
        name="integration_archive",
    ),
    path(
        "integrations/<uuid:integration_id>/restore/",
        lifecycle_views.integration_restore,
        name="integration_restore",
    ),
    path(
        "credentials/<uuid:credential_id>/reveal/",
        views.credential_reveal,
        name="credential_reveal",
    ),
    path(
        "credentials/<uuid:credential_id>/reveal/sso/",
        sso_views.credential_reveal_sso,
        name="credential_reveal_sso",
    ),
    path(
        "credentials/<uuid:credential_id>/reveal/sso/done/",
        sso_views.credential_reveal_sso_done,
        name="credential_reveal_sso_done",
    ),
]
