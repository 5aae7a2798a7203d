"""Reveal for a user who signs in through the identity provider: they confirm by signing in
there again (``prompt=login``, ``max_age=0``), and the ID token's ``auth_time`` must be after
they asked (``keyvault.web.reauth``). A stale ``auth_time`` (a sign-in the provider remembered)
is refused and audited like a wrong password, counting towards the reveal limit.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST, require_safe

from keyvault.accounts import throttle
from keyvault.vault import forms, selectors, services
from keyvault.vault.views import reveal_answer, reveal_page
from keyvault.web import reauth
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required

#: Why a reveal confirmed at the provider was refused: a sign-in it remembered.
STALE = (
    "{name} did not ask you to sign in again (it answered with a sign-in from before you "
    "asked), so nothing was revealed. Try again; if it keeps happening, sign out of {name} "
    "first."
)


def _purpose(credential_id: uuid.UUID) -> str:
    return f"reveal:{credential_id}"


@admin_required
@require_POST
def credential_reveal_sso(request: HttpRequest, credential_id: uuid.UUID) -> HttpResponse:
    """Start a reveal confirmed at the identity provider; it comes back to
    ``credential_reveal_sso_done``."""
    credential = selectors.credential_for_reveal(credential_id=credential_id)
    reveal_url = reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})
    if not reauth.sso_linked(request.user):
        messages.error(request, "You do not sign in through SSO: confirm with your password.")
        return redirect(reveal_url)
    done = reverse("keyvault:credential_reveal_sso_done", kwargs={"credential_id": credential.pk})
    return reauth.sso_reauth_redirect(
        request, purpose=_purpose(credential.pk), next_url=done, now=timezone.now()
    )


@admin_required
@never_cache
@require_safe
@sensitive_variables()
def credential_reveal_sso_done(request: HttpRequest, credential_id: uuid.UUID) -> HttpResponse:
    """Show the credential when the provider's sign-in is fresh (audited as a reveal); refuse
    and audit it otherwise. Without an answer from the provider, back to the reveal page."""
    credential = selectors.credential_for_reveal(credential_id=credential_id)
    answer = reauth.sso_reauth_take(request, purpose=_purpose(credential.pk))
    if answer is None:
        return redirect("keyvault:credential_reveal", credential_id=credential.pk)
    now = timezone.now()
    attempts_left = throttle.reveal_attempts_left(user=request.user, now=now)
    revealed, problem, sso_refused, status = None, "", "", 200
    reason = "" if answer.fresh else "stale sign-in at the identity provider"
    if not attempts_left:
        reason, status = throttle.LIMIT_REASON, 429
    if reason:
        services.credential_reveal_denied(
            credential=credential, actor=request.user, now=now, ip=client_ip(request), reason=reason
        )
        if status == 200:
            attempts_left -= 1
            sso_refused = STALE.format(name=settings.KEYVAULT_OIDC_NAME)
            sso_refused += " " + throttle.attempts_left_phrase(attempts_left)
    else:
        revealed, problem = reveal_answer(request, credential, now=now)
    return reveal_page(
        request,
        credential,
        status=status,
        form=forms.RevealForm(),
        revealed=revealed,
        problem=problem,
        sso_refused=sso_refused,
        sso_linked=True,
        attempts_left=attempts_left,
    )
