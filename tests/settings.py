"""Settings for the test suite: production settings with test keys and a fast hasher.

DEBUG stays off so tests exercise the production code paths; only transport security that a
plain-HTTP live server cannot satisfy is relaxed.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
# Two keys: "t2" writes, "t1" is still readable (exercises the ring).
os.environ.setdefault(
    "KEYVAULT_ENCRYPTION_KEYS",
    "t2:dGVzdC1rZXktdHdvLXRlc3Qta2V5LXR3by10ZXN0LWs=,t1:dGVzdC1rZXktb25lLXRlc3Qta2V5LW9uZS10ZXN0LWs=",
)
os.environ.setdefault("KEYVAULT_FINGERPRINT_KEY", "dGVzdC1maW5nZXJwcmludC1rZXktdGVzdC1maW5nZXI=")
os.environ.setdefault("KEYVAULT_VAR_DIR", tempfile.mkdtemp(prefix="keyvault-test-var-"))
# Base64 of the 32 bytes "test-audit-signing-key-32-bytes!" (an Ed25519 private key).
os.environ.setdefault("KEYVAULT_AUDIT_SIGNING_KEY", "dGVzdC1hdWRpdC1zaWduaW5nLWtleS0zMi1ieXRlcyE=")
os.environ.setdefault(
    "KEYVAULT_AUDIT_CHECKPOINT_FILE",
    os.path.join(os.environ["KEYVAULT_VAR_DIR"], "audit-checkpoints.jsonl"),
)
os.environ.setdefault("EMAIL_URL", "memorymail://")
# Production default is "admins"; tests of the enrolment gate (tests/keyvault/test_mfa.py) turn
# it on. Without this every test signing in an admin would first have to enrol a second factor.
os.environ.setdefault("KEYVAULT_REQUIRE_MFA", "none")

from keyvault.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so tests can read the database bytes and look for plaintext.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(VAR_DIR, "test.sqlite3")}  # noqa: F405
