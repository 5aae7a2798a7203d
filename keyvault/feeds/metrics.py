"""Prometheus metrics (``/metrics``): when each current credential expires, what its vendor
said at the last live check, the reminder outbox by status, the last reminder scan, and
deliveries that fail.

Read in a fixed number of queries whatever the number of credentials, into a fresh registry
per scrape (no process-global state, so every web process answers the same). Metadata only:
names, providers and owners as labels, never a secret, a SCIM URL or a fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from alerts.models import Channel, Reminder, ReminderStatus, ScanHeartbeat
from alerts.selectors import retrying_q
from keyvault.models import Credential
from keyvault.vault.selectors import tracked_q

CHANNEL_LABELS = ("channel", "kind")


EXPIRY_NAME = "keyvault_credential_expiration_timestamp_seconds"
EXPIRY_HELP = "When the current credential of an integration expires (Unix time)"
CHECK_NAME = "keyvault_credential_check_status"
CHECK_HELP = (
    "What the vendor said at the last live check of the current credential of an integration "
    "(the status label; value 1); unchecked: never checked, or no live check for the provider"
)
#: The ``status`` label of a current credential that was never checked (its column is blank).
UNCHECKED = "unchecked"


def _label(value: str) -> str:
    """A label value escaped as the text format wants it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _credential_families() -> Iterator[str]:
    """The expiry and check-status families in the text format, one line each per current
    credential, from one query.

    Written here rather than through a ``GaugeMetricFamily``: prometheus_client validates and
    escapes every label name of every sample (about 100 µs a sample), which at 10,000
    credentials is most of a scrape. The lines are the same; the tests read them back with
    ``prometheus_client.parser``.

    The check status is one series per credential whose ``status`` label carries the result,
    value 1 (as kube-state-metrics exposes a pod's phase): an alert rule matches
    ``{status="rejected"}``, and a status that changes replaces the series.
    """
    yield f"# HELP {EXPIRY_NAME} {EXPIRY_HELP}\n# TYPE {EXPIRY_NAME} gauge\n"
    rows = (
        Credential.objects.filter(tracked_q())
        .order_by("expires_at", "pk")  # the partial index of current expiries: no sort
        .values_list(
            "integration__name",
            "integration__provider",
            "integration__identity_provider",
            "integration__owner",
            "expires_at",
            "check_status",
        )
    )
    checks = [f"# HELP {CHECK_NAME} {CHECK_HELP}\n# TYPE {CHECK_NAME} gauge\n"]
    for name, provider, idp, owner, expires_at, check in rows.iterator(chunk_size=2000):
        labels = (
            f'integration="{_label(name)}",provider="{_label(provider)}",'
            f'identity_provider="{_label(idp)}",owner="{_label(owner)}"'
        )
        yield f"{EXPIRY_NAME}{{{labels}}} {floatToGoString(expires_at.timestamp())}\n"
        checks.append(f'{CHECK_NAME}{{{labels},status="{check or UNCHECKED}"}} 1.0\n')
    yield from checks


def _reminders() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "keyvault_reminders", "Reminders in the outbox by status", labels=("status",)
    )
    counts = dict(
        Reminder.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    for status in ReminderStatus.values:
        family.add_metric([status], counts.get(status, 0))
    return family


def _last_scan() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "keyvault_last_scan_timestamp_seconds",
        "When the reminder scan last ran (Unix time); absent before the first scan",
    )
    heartbeat = ScanHeartbeat.objects.filter(pk=1).first()
    if heartbeat is not None and heartbeat.last_scan_at is not None:
        family.add_metric([], heartbeat.last_scan_at.timestamp())
    return family


def _delivery() -> Iterator[GaugeMetricFamily]:
    """Per channel: reminders that failed for good (of credentials still current, as on the
    dashboard) and reminders being retried after a transient failure."""
    failed = GaugeMetricFamily(
        "keyvault_delivery_failures",
        "Reminders to a channel that failed for good, of credentials still current",
        labels=CHANNEL_LABELS,
    )
    retrying = GaugeMetricFamily(
        "keyvault_delivery_retrying",
        "Reminders to a channel being retried after a transient failure",
        labels=CHANNEL_LABELS,
    )
    channels = Channel.objects.order_by("name").annotate(
        failed_n=Count(
            "reminders",
            filter=Q(tracked_q("reminders__credential__"), reminders__status=ReminderStatus.FAILED),
            distinct=True,
        ),
        retrying_n=Count(
            "reminders",
            filter=retrying_q("reminders__"),
            distinct=True,
        ),
    )
    for name, kind, failed_n, retrying_n in channels.values_list(
        "name", "kind", "failed_n", "retrying_n"
    ):
        failed.add_metric([name, kind], failed_n)
        retrying.add_metric([name, kind], retrying_n)
    yield failed
    yield retrying


class VaultCollector(Collector):
    """Everything ``/metrics`` exposes, read when the registry is collected."""

    def collect(self) -> Iterator[Metric]:
        yield _reminders()
        yield _last_scan()
        yield from _delivery()


def metrics_exposition() -> bytes:
    """The Prometheus text exposition of keyvault's metrics, as the database holds them now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VaultCollector())
    return "".join(_credential_families()).encode() + generate_latest(registry)
