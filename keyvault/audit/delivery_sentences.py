"""Audit sentences of deliveries: reminders, notices and weekly digests (their sent, failed
and retried events). Pure: built from the stored event only."""

from __future__ import annotations

from keyvault.audit.facts import EventFacts, iso_day_text
from keyvault.vault.expiry import threshold_phrase


def reminder(f: EventFacts) -> str:
    threshold = f.details.get("threshold")
    when = (
        f" {threshold_phrase(threshold)}"
        if isinstance(threshold, int) and not isinstance(threshold, bool)
        else ""
    )
    return f"the reminder{when} for {f.key} to {f.text('channel') or 'a channel'}"


def reminder_sent(f: EventFacts) -> str:
    sentence = f"{f.who} sent {reminder(f)}"
    attempts = f.details.get("attempts")
    if isinstance(attempts, int) and attempts > 1:
        sentence += f" after {attempts} attempts"
    return sentence + resend(f)


def resend(f: EventFacts) -> str:
    """What a delivery event says about being sent more than once."""
    if f.details.get("duplicate"):
        return " again (it had already been sent)"
    if f.details.get("possible_duplicate"):
        return "; possibly a duplicate (an earlier attempt's outcome is unknown)"
    return ""


def reminder_failed(f: EventFacts) -> str:
    error = f.text("error")
    return f"{f.who} could not send {reminder(f)}" + (f": {error}" if error else "")


def reminder_retried(f: EventFacts) -> str:
    return f"{f.who} asked for {reminder(f)} to be sent again after it failed"


def notice(f: EventFacts) -> str:
    what = f.text("notice_label")
    named = f" “{what.lower()}”" if what else ""
    return f"the notice{named} about {f.key} to {f.text('channel') or 'a channel'}"


def notice_sent(f: EventFacts) -> str:
    return f"{f.who} sent {notice(f)}" + resend(f)


def notice_failed(f: EventFacts) -> str:
    error = f.text("error")
    return f"{f.who} could not send {notice(f)}" + (f": {error}" if error else "")


def digest(f: EventFacts) -> str:
    week = f.text("week")
    when = f" for the week of {iso_day_text(week)}" if week else ""
    return f"the weekly digest{when} to {f.text('channel') or 'a channel'}"


def digest_sent(f: EventFacts) -> str:
    sentence = f"{f.who} sent {digest(f)}"
    counts = [
        f"{f.details[key]} {label}"
        for key, label in (
            ("expiring", "expiring"),
            ("expired", "expired"),
            ("idp_unconfirmed", "awaiting IdP confirmation"),
            ("vendor_rejected", "rejected by the vendor"),
        )
        if isinstance(f.details.get(key), int)
    ]
    if counts:
        sentence += f" ({', '.join(counts)})"
    return sentence + resend(f)


def digest_failed(f: EventFacts) -> str:
    error = f.text("error")
    return f"{f.who} could not send {digest(f)}" + (f": {error}" if error else "")
