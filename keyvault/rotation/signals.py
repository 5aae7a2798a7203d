"""Signals of a credential's life, for apps that follow it (the reminders app does)."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent inside the transaction that moves a credential out of ``current`` (rotated or revoked),
#: with ``credential`` and ``now``. The reminders app cancels the credential's pending reminders.
credential_retired = Signal()
