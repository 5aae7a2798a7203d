"""Settings of team access (sign-in through django-allauth, django-axes lock-out, the reveal
limit, invitations), imported by ``keyvault.settings``.

Registration is closed: accounts come from invitations and ``manage.py create_user`` only, and
``keyvault.accounts.adapter.AccountAdapter`` refuses open signup. django-axes stays the one
sign-in throttle, so allauth's own login rate limits are off (two throttles with different
windows would lock a user out twice, with two different messages).
"""

from __future__ import annotations

from datetime import timedelta

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

#: The Django settings, taken by ``keyvault.settings`` with ``import *``.
__all__ = [
    "ACCOUNT_ADAPTER",
    "ACCOUNT_EMAIL_VERIFICATION",
    "ACCOUNT_FORMS",
    "ACCOUNT_LOGIN_METHODS",
    "ACCOUNT_LOGOUT_ON_GET",
    "ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE",
    "ACCOUNT_PREVENT_ENUMERATION",
    "ACCOUNT_RATE_LIMITS",
    "ACCOUNT_SESSION_REMEMBER",
    "ACCOUNT_SIGNUP_FIELDS",
    "AXES_COOLOFF_TIME",
    "AXES_FAILURE_LIMIT",
    "AXES_LOCKOUT_PARAMETERS",
    "AXES_LOCKOUT_TEMPLATE",
    "AXES_RESET_ON_SUCCESS",
    "AXES_SENSITIVE_PARAMETERS",
    "AXES_USERNAME_CALLABLE",
    "AXES_VERBOSE",
    "KEYVAULT_INVITE_MAX_AGE_HOURS",
    "KEYVAULT_REQUIRE_MFA",
    "KEYVAULT_REVEAL_COOLOFF_MINUTES",
    "KEYVAULT_REVEAL_FAILURE_LIMIT",
    "LOGIN_REDIRECT_URL",
    "LOGIN_URL",
    "LOGOUT_REDIRECT_URL",
    "MFA_ADAPTER",
    "MFA_FORMS",
    "MFA_PASSKEY_LOGIN_ENABLED",
    "MFA_SUPPORTED_TYPES",
    "MFA_TOTP_ISSUER",
]

#: Added to ``INSTALLED_APPS`` (after ``axes``).
APPS = ["allauth", "allauth.account", "allauth.mfa"]

#: Added to ``MIDDLEWARE`` after Django's ``AuthenticationMiddleware``.
MIDDLEWARE = [
    "allauth.account.middleware.AccountMiddleware",
    "keyvault.accounts.mfa.RequireMFAMiddleware",
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "keyvault:dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# --- django-allauth: username and password; no signup, no email flows of its own. ---
ACCOUNT_ADAPTER = "keyvault.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "keyvault.accounts.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
# Signup is closed (the adapter); allauth still reads these: the sign-in form keeps its password
# field only while ``password1`` is one of them.
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# A session ends when the browser closes (SESSION_EXPIRE_AT_BROWSER_CLOSE): no "remember me".
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# allauth counts wrong passwords and wrong second-factor codes under ``login_failed``: set above
# django-axes' limit, so a wrong password is axes' to lock out, while codes typed after a right
# password (which axes never sees) are still limited per user.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": "20/5m/key"}

# --- allauth.mfa: an authenticator app (TOTP), security keys and passkeys (WebAuthn), and
# recovery codes. A key is a second factor after the password, not a way to skip it: passkey
# sign-in would bypass django-axes and the password policy, so it stays off.
# WebAuthn binds a key to the host name of the page (never an IP address): open keyvault at
# its name (``https://keyvault.example.com``, or ``http://localhost`` on one machine).
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_FORMS = {"authenticate_webauthn": "keyvault.accounts.forms.SecurityKeySignInForm"}
MFA_ADAPTER = "keyvault.accounts.adapter.MFAAdapter"
MFA_TOTP_ISSUER = env.str("KEYVAULT_MFA_ISSUER", default="keyvault")
# Who must have a second factor before anything else: admins (default), all, or none.
KEYVAULT_REQUIRE_MFA = env.str("KEYVAULT_REQUIRE_MFA", default="admins").strip().lower()
if KEYVAULT_REQUIRE_MFA not in ("admins", "all", "none"):
    raise ImproperlyConfigured("KEYVAULT_REQUIRE_MFA must be admins, all or none")

# --- django-axes: throttle sign-in per user and address. ---
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password", "token", "scim_url", "secret", "code"]
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "keyvault.accounts.adapter.axes_username"

# Reveal throttle (keyvault's own, per user, not django-axes: a wrong password at Reveal
# pauses reveals for that user, never their sign-in). Admins unlock from the users page.
KEYVAULT_REVEAL_FAILURE_LIMIT = env.int("KEYVAULT_REVEAL_FAILURE_LIMIT", default=5)
KEYVAULT_REVEAL_COOLOFF_MINUTES = env.int("KEYVAULT_REVEAL_COOLOFF_MINUTES", default=15)
# How long an invitation's set-password link stays valid.
KEYVAULT_INVITE_MAX_AGE_HOURS = env.int("KEYVAULT_INVITE_MAX_AGE_HOURS", default=72)
