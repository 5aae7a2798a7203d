"""The OpenAPI document and the Swagger UI that shows it, both public (they hold no data).

Swagger UI's files come from drf-spectacular-sidecar through our own static files (no CDN);
its start-up script is served by the docs URL itself (``?script``), so the page needs no
inline script or style and the site's CSP stays as strict as everywhere else.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny


class SchemaView(SpectacularAPIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class ApiDocsView(SpectacularSwaggerSplitView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    template_name = "keyvault/api_docs.html"
