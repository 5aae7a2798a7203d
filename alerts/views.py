"""Channel pages. Admins manage channels; auditors may read them (no secret is ever shown).

Views that receive a webhook URL are wrapped in ``handles_secrets`` (``sensitive_post_parameters``
plus an always-on exception filter) and ``sensitive_variables()``.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from alerts import audience_overrides, channel_probe, channels, delivery, selectors
from alerts.forms import FORMS, AudienceOverrideForm
from alerts.models import Channel, ChannelKind
from keyvault.web.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required
from keyvault.web.secrecy import handles_secrets


@viewer_required
@require_safe
def channel_list(request: HttpRequest) -> HttpResponse:
    """Every channel: kind, destination hint, default flag, integrations, failures."""
    return render(
        request,
        "alerts/channel_list.html",
        {"channels": selectors.channel_list(), "kinds": ChannelKind},
    )


@viewer_required
@require_safe
def channel_detail(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """One channel's settings, its integrations and its recent failed reminders."""
    channel = selectors.channel_get(channel_id=channel_id)
    return render(
        request,
        "alerts/channel_detail.html",
        {
            "channel": channel,
            "integrations": selectors.channel_integrations(channel=channel),
            "failures": selectors.channel_failed_reminders(channel=channel),
            "health": selectors.channel_health(channel=channel),
            "kinds": ChannelKind,
            "overrides": selectors.channel_audience_overrides(channel=channel),
            "override_form": AudienceOverrideForm(
                integrations=audience_overrides.channel_reachable_integrations(channel=channel)
            ),
        },
    )


@admin_required
@require_POST
def audience_override_set(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """Set one integration's own "escalate from" on this channel (audited)."""
    channel = selectors.channel_get(channel_id=channel_id)
    form = AudienceOverrideForm(
        request.POST,
        integrations=audience_overrides.channel_reachable_integrations(channel=channel),
    )
    if form.is_valid():
        try:
            audience_overrides.audience_override_set(
                channel=channel,
                integration=form.cleaned_data["integration"],
                escalate_from_days=form.cleaned_data["escalate_from_days"],
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
    if form.errors:
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
    else:
        messages.success(request, "Audience saved.")
    return redirect("alerts:channel_detail", channel_id=channel.pk)


@admin_required
@require_POST
def audience_override_clear(
    request: HttpRequest, channel_id: uuid.UUID, integration_id: uuid.UUID
) -> HttpResponse:
    """Remove one integration's own "escalate from" on this channel (audited)."""
    channel = selectors.channel_get(channel_id=channel_id)
    override = selectors.channel_audience_override(channel=channel, integration_id=integration_id)
    audience_overrides.audience_override_clear(
        channel=channel,
        integration=override.integration,
        actor=request.user,
        now=timezone.now(),
        ip=client_ip(request),
    )
    messages.success(request, f"“{override.integration.name}” follows the channel's setting again.")
    return redirect("alerts:channel_detail", channel_id=channel.pk)


@handles_secrets("webhook_url")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def channel_create(request: HttpRequest, kind: str) -> HttpResponse:
    """New channel of ``kind``; a webhook channel's signing secret is shown once, in the answer
    to the POST that created it."""
    form_class = FORMS.get(kind)
    if form_class is None:
        raise Http404("Unknown channel kind")
    form = form_class(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            added = channels.channel_add(
                kind=kind,
                data=form.channel_input(),
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if added.signing_secret:
                return _show_secret_once(request, added.channel, added.signing_secret, new=True)
            messages.success(request, f"Channel “{added.channel.name}” was added.")
            return redirect("alerts:channel_detail", channel_id=added.channel.pk)
    return render(
        request, "alerts/channel_form.html", {"form": form, "kind": kind, "channel": None}
    )


@handles_secrets("webhook_url")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def channel_edit(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """Change a channel; an empty webhook field keeps the current webhook."""
    channel = selectors.channel_get(channel_id=channel_id)
    form = FORMS[channel.kind](request.POST if request.method == "POST" else None, channel=channel)
    if form.is_bound and form.is_valid():
        try:
            channel = channels.channel_update(
                channel=channel,
                data=form.channel_input(),
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Channel “{channel.name}” was saved.")
            return redirect("alerts:channel_detail", channel_id=channel.pk)
    return render(
        request,
        "alerts/channel_form.html",
        {"form": form, "kind": channel.kind, "channel": channel},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """Confirm, then delete a channel (its outbox rows go with it)."""
    channel = selectors.channel_get(channel_id=channel_id)
    if request.method == "POST":
        name = channel.name
        channels.channel_delete(
            channel=channel, actor=request.user, now=timezone.now(), ip=client_ip(request)
        )
        messages.success(request, f"Channel “{name}” was deleted.")
        return redirect("alerts:channel_list")
    return render(
        request,
        "alerts/channel_confirm_delete.html",
        {
            "channel": channel,
            "open_reminders": selectors.channel_open_reminders(channel=channel),
        },
    )


@admin_required
@require_POST
def reminder_retry(request: HttpRequest, channel_id: uuid.UUID, reminder_id: int) -> HttpResponse:
    """ "Retry now" on a failed reminder of this channel (audited)."""
    channel = selectors.channel_get(channel_id=channel_id)
    reminder = selectors.channel_failed_reminder(channel=channel, reminder_id=reminder_id)
    _retry(request, reminder.pk, done=f"for “{reminder.credential.integration.name}”")
    return redirect("alerts:channel_detail", channel_id=channel.pk)


def _retry(request: HttpRequest, reminder_id: int, *, done: str) -> None:
    """Send a failed reminder again (``delivery.reminder_retry``, audited) and say how it
    went; ``done`` names the reminder in the message."""
    try:
        delivery.reminder_retry(
            reminder_id=reminder_id, actor=request.user, now=timezone.now(), ip=client_ip(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The reminder {done} is being sent again.")


@admin_required
@require_POST
def integration_reminder_retry(
    request: HttpRequest, integration_id: uuid.UUID, reminder_id: int
) -> HttpResponse:
    """ "Retry now" on a failed reminder from the integration page's Reminders card (audited,
    by the same service as the channel page's)."""
    reminder = selectors.integration_failed_reminder(
        integration_id=integration_id, reminder_id=reminder_id
    )
    _retry(request, reminder.pk, done=f"to “{reminder.channel.name}”")
    return redirect("keyvault:integration_detail", integration_id=integration_id)


@admin_required
@require_POST
def channel_test(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """Send a test notification now and report success or the exact error."""
    channel = selectors.channel_get(channel_id=channel_id)
    result = channel_probe.channel_send_test(
        channel=channel, actor=request.user, now=timezone.now(), ip=client_ip(request)
    )
    if result.ok:
        messages.success(
            request,
            " ".join(filter(None, [f"Test notification sent to “{channel.name}”.", result.note])),
        )
    else:
        messages.error(request, f"The test notification failed: {result.message}")
    return redirect("alerts:channel_detail", channel_id=channel.pk)


@admin_required
@require_POST
@sensitive_variables()
def channel_rotate_secret(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    """Replace a webhook channel's signing secret and show the new one, once."""
    channel = selectors.channel_get(channel_id=channel_id)
    if channel.kind != ChannelKind.WEBHOOK:
        raise Http404("Only webhook channels have a signing secret")
    secret = channels.channel_rotate_signing_secret(
        channel=channel, actor=request.user, now=timezone.now(), ip=client_ip(request)
    )
    return _show_secret_once(request, channel, secret, new=False)


@sensitive_variables("secret")
def _show_secret_once(
    request: HttpRequest, channel: Channel, secret: str, *, new: bool
) -> HttpResponse:
    """The one page that shows a signing secret: never cached, never shown again."""
    response = render(
        request, "alerts/channel_secret.html", {"channel": channel, "secret": secret, "new": new}
    )
    add_never_cache_headers(response)
    return response
