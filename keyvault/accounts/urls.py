"""Team access pages (namespace ``keyvault``). Every name here needs a row in
``tests/keyvault/test_role_matrix.py``."""

from __future__ import annotations

from django.urls import path

from keyvault.accounts import views

urlpatterns = [
    path("users/", views.user_list, name="user_list"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<str:username>/", views.user_detail, name="user_detail"),
    path("users/<str:username>/role/", views.user_role, name="user_role"),
    path("users/<str:username>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<str:username>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("users/<str:username>/unlock/", views.user_unlock, name="user_unlock"),
    path("users/<str:username>/mfa-reset/", views.user_mfa_reset, name="user_mfa_reset"),
    path("users/<str:username>/new-link/", views.user_invite_renew, name="user_invite_renew"),
    path("account/", views.account, name="account"),
    path("invite/", views.invite_accept, name="invite_accept"),  # ?t=<token>
]
