"""URLs of the vault app (namespace ``keyvault``)."""

from __future__ import annotations

from django.urls import path

from keyvault import views

app_name = "keyvault"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
