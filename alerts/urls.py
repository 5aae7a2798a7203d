"""URLs of the channel pages (namespace ``alerts``, mounted under ``channels/``).

Every name here needs a row in ``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("new/<str:kind>/", views.channel_create, name="channel_create"),
    path("<uuid:channel_id>/", views.channel_detail, name="channel_detail"),
    path("<uuid:channel_id>/edit/", views.channel_edit, name="channel_edit"),
    path("<uuid:channel_id>/delete/", views.channel_delete, name="channel_delete"),
    path("<uuid:channel_id>/test/", views.channel_test, name="channel_test"),
    path(
        "<uuid:channel_id>/reminders/<int:reminder_id>/retry/",
        views.reminder_retry,
        name="reminder_retry",
    ),
    path("<uuid:channel_id>/audience/", views.audience_override_set, name="audience_override_set"),
    path(
        "<uuid:channel_id>/audience/<uuid:integration_id>/clear/",
        views.audience_override_clear,
        name="audience_override_clear",
    ),
    path(
        "<uuid:channel_id>/rotate-secret/",
        views.channel_rotate_secret,
        name="channel_rotate_secret",
    ),
]
