"""Reminders of API tokens' own expiry: an email to the owner at the reminder thresholds
(``KEYVAULT_REMINDER_THRESHOLDS``, the credentials' days), the most urgent one only when several
were crossed at once (``alerts.policy.reminder_plan``), the last on the expiry day.

The token row is the outbox: ``reminded_days`` records the last threshold told. A reminder is
claimed with a conditional UPDATE (two runs never both send it), the email sent outside any
transaction, then audited; a send that fails hands the claim back, so the next run tries
again. Revoked and expired tokens, and owners who are deactivated or have no email address, get
none.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alerts.policy import reminder_plan, window_days
from keyvault.api.models import ApiToken
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction
from keyvault.vault.expiry import days_left
from keyvault.web.dates import moment_text

logger = logging.getLogger(__name__)


def api_tokens_due_reminder(*, now: datetime) -> list[tuple[ApiToken, int]]:
    """(token, threshold) for each live token owed a reminder at ``now``."""
    thresholds = settings.KEYVAULT_REMINDER_THRESHOLDS
    horizon = now + timedelta(days=window_days(thresholds))
    candidates = (
        ApiToken.objects.select_related("user")
        .filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
            user__is_active=True,
        )
        .exclude(user__email="")
    )
    due = []
    tz = timezone.get_current_timezone()
    for token in candidates:
        plan = reminder_plan(
            expires_at=token.expires_at,
            now=now,
            thresholds=[t for t in thresholds if t >= 0],
            last_recorded=token.reminded_days,
            tz=tz,
        )
        if plan.send is not None and plan.send >= 0:
            due.append((token, plan.send))
    return due


def _claim(token: ApiToken, *, threshold: int) -> bool:
    """Record ``threshold`` as told, unless another run got there first."""
    claimed = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(reminded_days__isnull=True) | Q(reminded_days__gt=threshold))
        .update(reminded_days=threshold)
    )
    return claimed == 1


def api_token_remind(*, token: ApiToken, threshold: int, now: datetime) -> bool:
    """Tell ``token``'s owner it expires soon (audited ``API_TOKEN_REMINDED`` once sent);
    returns whether the email went out."""
    previous = token.reminded_days
    if not _claim(token, threshold=threshold):
        return False
    days = days_left(token.expires_at, now=now)
    context = {
        "token": token,
        "days": days,
        "expires": moment_text(token.expires_at, zone=True),
        "tokens_url": f"{settings.SITE_URL}{reverse('keyvault:api_tokens')}",
    }
    subject = render_to_string("keyvault/messages/api_token_subject.txt", context).strip()
    body = render_to_string("keyvault/messages/api_token_body.txt", context)
    try:
        send_mail(subject, body, None, [token.user.email])
    except Exception as exc:  # SMTP errors come as several types; all mean "not sent"
        logger.warning("API token expiry email not sent (%s); the next run tries again", exc)
        ApiToken.objects.filter(pk=token.pk, reminded_days=threshold).update(reminded_days=previous)
        return False
    audit_append(
        action=AuditAction.API_TOKEN_REMINDED,
        now=now,
        actor_label="system",
        target=token,
        details={
            "token_name": token.name,
            "token_prefix": token.prefix,
            "owner": token.user.get_username(),
            "days": days,
            "threshold": threshold,
        },
    )
    return True


def api_tokens_remind(*, now: datetime) -> int:
    """Send every API token expiry reminder owed at ``now``; returns how many went out."""
    return sum(
        api_token_remind(token=token, threshold=threshold, now=now)
        for token, threshold in api_tokens_due_reminder(now=now)
    )
