"""The REST API (namespace ``api``): ``/api/v1/…`` for bearer tokens, the OpenAPI 3 document at
``/api/schema/`` and its browsable docs at ``/api/docs/`` (both public: they hold no data).

Every ``api:`` name needs a row in ``tests/api/routes.py`` (the token matrix). The token page
(``page_urlpatterns``, namespace ``keyvault``) is an HTML page like the others: a row in
``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path, re_path

from keyvault.api import lifecycle_views, pages, read_views, views
from keyvault.api.docs import ApiDocsView, SchemaView

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    path("v1/integrations/", views.IntegrationListView.as_view(), name="integrations"),
    path(
        "v1/integrations/<uuid:integration_id>/",
        views.IntegrationDetailView.as_view(),
        name="integration",
    ),
    path(
        "v1/integrations/<uuid:integration_id>/credentials/",
        views.CredentialAddView.as_view(),
        name="credential_add",
    ),
    path(
        "v1/integrations/<uuid:integration_id>/rotate/",
        views.CredentialRotateView.as_view(),
        name="credential_rotate",
    ),
    path(
        "v1/integrations/<uuid:integration_id>/revoke/",
        views.CredentialRevokeView.as_view(),
        name="credential_revoke",
    ),
    path(
        "v1/integrations/<uuid:integration_id>/archive/",
        lifecycle_views.IntegrationArchiveView.as_view(),
        name="integration_archive",
    ),
    path(
        "v1/integrations/<uuid:integration_id>/restore/",
        lifecycle_views.IntegrationRestoreView.as_view(),
        name="integration_restore",
    ),
    path(
        "v1/credentials/<uuid:credential_id>/reveal/",
        views.CredentialRevealView.as_view(),
        name="credential_reveal",
    ),
    path(
        "v1/credentials/<uuid:credential_id>/correct-dates/",
        lifecycle_views.CredentialDatesView.as_view(),
        name="credential_correct_dates",
    ),
    path("v1/reminders/", read_views.ReminderListView.as_view(), name="reminders"),
    path(
        "v1/reminders/<int:reminder_id>/retry/",
        read_views.ReminderRetryView.as_view(),
        name="reminder_retry",
    ),
    path("v1/audit-events/", read_views.AuditEventListView.as_view(), name="audit_events"),
    path("v1/compliance/", read_views.ComplianceView.as_view(), name="compliance"),
    # Last: any other path under /api/ is a 404 in problem details, not an HTML page.
    re_path(r"^", views.not_found, name="not_found"),
]

page_urlpatterns = [
    path("account/tokens/", pages.api_tokens, name="api_tokens"),
    path("account/tokens/<uuid:token_id>/revoke/", pages.api_token_revoke, name="api_token_revoke"),
]
