"""Keep pasted and revealed secrets out of error pages and error emails.

Django's ``SafeExceptionReporterFilter`` hides ``sensitive_post_parameters`` and
``sensitive_variables`` only when ``DEBUG`` is off. keyvault's secrets must stay hidden on the
development server's technical 500 page too, so views that receive a secret install a filter
that is always active, for that request only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_post_parameters


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Cleanses sensitive POST parameters and variables whatever the value of ``DEBUG``.

    Installed project-wide (``DEFAULT_EXCEPTION_REPORTER_FILTER``); it also hides settings that
    can embed a password in a URL (``CELERY_BROKER_URL``, ``DATABASE_URL``-built values).
    """

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|BROKER|URL", flags=re.IGNORECASE
    )

    def is_active(self, request: HttpRequest | None) -> bool:
        return True


_FILTER = AlwaysSafeExceptionReporterFilter()

View = Callable[..., HttpResponse]


def handles_secrets(*post_parameters: str) -> Callable[[View], View]:
    """Decorate a view that receives secrets in ``post_parameters``.

    Marks them with ``sensitive_post_parameters`` and makes the request's exception reports
    (technical 500 page, admin error email) cleanse them even with ``DEBUG`` on. Put it
    outermost so the request is marked before any other code runs; put
    ``sensitive_variables()`` directly on the view function for its locals.
    """
    if not post_parameters:
        raise TypeError("name the POST parameters that carry secrets")

    def decorator(view: View) -> View:
        @sensitive_post_parameters(*post_parameters)
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.exception_reporter_filter = _FILTER  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
