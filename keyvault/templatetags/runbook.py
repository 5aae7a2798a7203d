"""``{% runbook integration %}``: the rotation runbook card of an integration
(``keyvault.rotation.runbooks``), on the rotate page and the integration page."""

from __future__ import annotations

from typing import Any

from django import template

from keyvault.models import Integration
from keyvault.rotation.runbooks import runbook_for

register = template.Library()


@register.inclusion_tag("keyvault/_runbook.html")
def runbook(integration: Integration, *, open: bool = True) -> dict[str, Any]:
    """The runbook of ``integration``; ``open=False`` shows it folded."""
    return {
        "runbook": runbook_for(
            provider=integration.provider, identity_provider=integration.identity_provider
        ),
        "open": open,
    }
