"""Reminder transports: one class per channel kind, behind ``transport_for``."""

from __future__ import annotations

from alerts.transports.base import Notification, Transport, TransportError, transport_for

__all__ = ["Notification", "Transport", "TransportError", "transport_for"]
