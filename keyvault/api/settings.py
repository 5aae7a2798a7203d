"""Settings of the REST API (Django REST Framework, drf-spectacular), imported by
``keyvault.settings``. Bearer tokens only, JSON only, problem details for errors; Swagger UI from
drf-spectacular-sidecar's local files."""

from __future__ import annotations

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
