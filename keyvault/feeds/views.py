"""Pages and feeds for the tools people already run: the calendar feed (and the page that makes
its address) and the Prometheus metrics.

The feed and ``/metrics`` need no session: the feed's address carries its own token, and
``/metrics`` wants ``Authorization: Bearer $KEYVAULT_METRICS_TOKEN`` (404 when that is not
configured, 401 for a missing or wrong token).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from keyvault.feeds import calendar
from keyvault.feeds.metrics import metrics_exposition
from keyvault.web.requestinfo import bearer_matches, client_ip
from keyvault.web.roles import viewer_required


@viewer_required
@never_cache
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    """Your calendar feed: when its address was made, and a button that makes a new one (shown
    once, on the page that answers the button; the old address stops working)."""
    feed_url = ""
    if request.method == "POST":
        token = calendar.calendar_feed_create(
            user=request.user, now=timezone.now(), ip=client_ip(request)
        )
        path = reverse("keyvault:calendar_feed", kwargs={"token": token})
        feed_url = f"{settings.SITE_URL}{path}"
    feed = calendar.calendar_feed_of(user=request.user)
    return render(request, "keyvault/calendar.html", {"feed": feed, "feed_url": feed_url})


@login_not_required
@never_cache
@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed of the user this token belongs to; 404 for a token that is wrong,
    replaced, or whose user is no longer an active admin or auditor."""
    if calendar.calendar_feed_owner(token=token) is None:
        raise Http404("No such calendar feed.")
    response = HttpResponse(
        calendar.calendar_render(now=timezone.now()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="keyvault.ics"'
    return response


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition, for a scraper with the metrics bearer token."""
    if not settings.KEYVAULT_METRICS_TOKEN:
        raise Http404("Metrics are off: KEYVAULT_METRICS_TOKEN is not set.")
    if not bearer_matches(request, settings.KEYVAULT_METRICS_TOKEN):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="keyvault metrics"'
        return response
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
