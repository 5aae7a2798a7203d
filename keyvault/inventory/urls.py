"""Inventory import and export (namespace ``keyvault``).

Every name here needs a row in ``tests/keyvault/test_role_matrix.py``.
"""

from __future__ import annotations

from django.urls import path

from keyvault.inventory import views

urlpatterns = [
    path("integrations/import/", views.inventory_import, name="inventory_import"),
    path("integrations/export/", views.inventory_export, name="inventory_export"),
]
