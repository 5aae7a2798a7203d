"""Pages of rotation, revocation and history (namespace ``keyvault``).

Reminder messages link to ``credential_rotate``. Every name here needs a row in
``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from keyvault.rotation import views

urlpatterns = [
    path(
        "integrations/<uuid:integration_id>/rotate/",
        views.credential_rotate,
        name="credential_rotate",
    ),
    path(
        "integrations/<uuid:integration_id>/revoke/",
        views.credential_revoke,
        name="credential_revoke",
    ),
    path(
        "integrations/<uuid:integration_id>/credentials/new/",
        views.credential_add,
        name="credential_add",
    ),
    path(
        "integrations/<uuid:integration_id>/idp-confirm/",
        views.credential_idp_confirm,
        name="credential_idp_confirm",
    ),
    path(
        "integrations/<uuid:integration_id>/history/",
        views.integration_history,
        name="integration_history",
    ),
]
