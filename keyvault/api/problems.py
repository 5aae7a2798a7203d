"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers has ``type``, ``title``, ``status`` and ``detail``; a validation
error adds ``errors``: field name → list of messages (``__all__`` for the request as a whole).
Messages name the problem, never the secret that was sent.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    *, status: int, detail: str, errors: dict[str, list[str]] | None = None
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _messages(value: Any) -> list[str]:
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    return [str(value)]


def _field_errors(data: Any) -> dict[str, list[str]]:
    if isinstance(data, dict):
        return {
            ("__all__" if k == "non_field_errors" else str(k)): _messages(v)
            for k, v in data.items()
        }
    return {"__all__": _messages(data)}


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ``ValidationError`` as field → messages."""
    if hasattr(exc, "error_dict"):
        return {
            field: [message for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"__all__": list(exc.messages)}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering problem details; a service's Django
    ``ValidationError`` becomes a 400 with its field errors."""
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            status=400, detail="The request is not valid.", errors=django_errors(exc)
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, serializers.ValidationError):
        problem = problem_response(
            status=400, detail="The request is not valid.", errors=_field_errors(exc.detail)
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        problem = problem_response(status=response.status_code, detail=str(detail))
    for header in ("WWW-Authenticate", "Allow", "Retry-After"):
        if header in response:
            problem[header] = response[header]
    return problem
