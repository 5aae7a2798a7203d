"""The calendar feed and its page (namespace ``keyvault``); ``/metrics`` is mounted at the top,
beside ``/healthz``.

Every name here needs a row in ``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from keyvault.feeds import views

urlpatterns = [
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
