from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from keyvault.roles import viewer_required


@viewer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("keyvault")
