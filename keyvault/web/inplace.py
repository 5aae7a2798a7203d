"""Forms that submit without a page load: the page's script posts the form with
``X-Keyvault-Form: inplace`` and gets JSON back instead of HTML.

A refusal carries the messages only, keyed by field name (``__all__`` for the whole form),
never a submitted value: the typed values, the token included, stay in the browser and are not
echoed by the server. A success carries the address to go to; the flash message waits there,
as after a normal redirect. Without the script the same views answer with HTML.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

HEADER = "X-Keyvault-Form"
INPLACE = "inplace"


def wants_inplace(request: HttpRequest) -> bool:
    """True when the page's script sent the form and reads the answer itself."""
    return request.headers.get(HEADER) == INPLACE


def form_refused(form: forms.Form) -> JsonResponse:
    """422 with the form's error messages by field, and no submitted value."""
    errors = {
        name: [str(message) for message in messages] for name, messages in form.errors.items()
    }
    return JsonResponse({"saved": False, "errors": errors}, status=422)


def form_saved(request: HttpRequest, url: str) -> HttpResponse:
    """The answer to a form that was saved: a redirect, or for the script where to go."""
    if wants_inplace(request):
        return JsonResponse({"saved": True, "redirect": url})
    return redirect(url)
