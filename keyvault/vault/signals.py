"""Signals of the vault, for apps that follow it (the reminders app does)."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent inside the transaction of a change that can make a reminder due sooner than the next
#: periodic scan would notice: a new current credential (pasted, added after a revoke, rotated
#: in) or an integration's reminder settings edited. With ``integration_id``. The reminders app
#: asks for a scan once the transaction commits.
reminders_may_be_due = Signal()

#: Sent inside the transaction that corrects a current credential's dates, with ``credential``
#: (its new dates saved) and ``now``. The reminders app re-plans the credential's reminders for
#: the new expiry date.
credential_dates_changed = Signal()

#: Sent inside the transaction that archives an integration, with ``integration`` and ``now``.
#: The reminders app cancels what its credentials are still owed (reminders, notices).
integration_archived = Signal()
