"""``python manage.py scan_expiring``: run one reminder scan now and print what it queued."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from alerts.delivery import reminder_deliver
from alerts.scan import deliveries_enqueue, reminders_scan
from keyvault.vault.expiry import threshold_phrase


class Command(BaseCommand):
    help = (
        "Run one reminder scan through the same code as the beat job and print the reminders "
        "it queued. With --deliver, send them from this process instead of the broker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="Deliver the queued reminders here and now (no broker or worker needed).",
        )

    def handle(self, *args: Any, deliver: bool = False, **options: Any) -> None:
        now = timezone.now()
        # The scan commits first; then its pending rows go to the broker (as the beat job's
        # do) or are delivered here.
        result = reminders_scan(now=now, enqueue=False)
        counts = result.summary()
        self.stdout.write(
            f"Scan at {timezone.localtime(now):%Y-%m-%d %H:%M %Z}: "
            f"{counts['candidates']} credentials in the reminder window, "
            f"{counts['created']} new reminders, {counts['skipped']} skipped, "
            f"{counts['superseded']} superseded, {counts['cancelled']} cancelled, "
            f"{counts['reopened']} stale sends re-opened, {counts['exhausted']} given up."
        )
        total = len(result.queued)
        if deliver:
            self.stdout.write(f"{total} reminders delivering here:")
        else:
            handed = deliveries_enqueue(ids=[q.id for q in result.queued], now=now)
            note = ""
            if handed < total:
                note = (
                    f" ({total - handed} stay pending: broker unreachable; the next scan retries)"
                )
            self.stdout.write(f"{total} reminders queued for the worker{note}:")
        for queued in result.queued:
            line = (
                f"  #{queued.id} {queued.integration} — {threshold_phrase(queued.threshold)}"
                f" → {queued.channel}"
            )
            if deliver:
                outcome = reminder_deliver(reminder_id=queued.id, now=timezone.now())
                line += f": {outcome.outcome.label}"
                if outcome.error:
                    line += f" ({outcome.error})"
            self.stdout.write(line)
