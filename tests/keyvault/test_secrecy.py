from __future__ import annotations

from django.test import RequestFactory, override_settings
from django.views.debug import get_default_exception_reporter_filter

from keyvault.web.secrecy import AlwaysSafeExceptionReporterFilter


@override_settings(
    DEBUG=True, CELERY_BROKER_URL="redis://:hunter2-broker-password@redis.internal:6379/0"
)
def test_error_reports_hide_secret_settings_even_in_debug() -> None:
    reporter = get_default_exception_reporter_filter()
    assert isinstance(reporter, AlwaysSafeExceptionReporterFilter)
    safe = reporter.get_safe_settings()
    for name in ("CELERY_BROKER_URL", "SECRET_KEY", "KEYVAULT_ENCRYPTION_KEYS"):
        assert safe[name] == reporter.cleansed_substitute, name
    assert "hunter2" not in repr(safe)


@override_settings(DEBUG=True)
def test_error_reports_hide_sensitive_post_parameters_even_in_debug() -> None:
    request = RequestFactory().post("/", {"token": "ATATT3x-visible-nowhere", "name": "ok"})
    request.sensitive_post_parameters = ["token"]
    params = get_default_exception_reporter_filter().get_post_parameters(request)
    assert params["token"] == AlwaysSafeExceptionReporterFilter.cleansed_substitute
    assert params["name"] == "ok"
