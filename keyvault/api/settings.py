"""Settings of the REST API (Django REST Framework, drf-spectacular), imported by
``keyvault.settings``. Bearer tokens only, JSON only, problem details for errors; Swagger UI from
drf-spectacular-sidecar's local files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

#: Added to ``INSTALLED_APPS``: DRF, the schema generator, Swagger UI's files.
APPS = ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["keyvault.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["keyvault.api.auth.TokenScopePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "keyvault.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "keyvault API",
    "DESCRIPTION": "Expiring API keys and SCIM credentials. Secrets are write-only.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

DJANGO_SETTINGS: dict[str, Any] = {
    "REST_FRAMEWORK": REST_FRAMEWORK,
    "SPECTACULAR_SETTINGS": SPECTACULAR_SETTINGS,
}

#: Beat: API token owners are told of expiry at day-granular thresholds, so hourly is plenty.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "keyvault-api-token-reminders": {
        "task": "keyvault.tasks.remind_api_token_expiry",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
}
