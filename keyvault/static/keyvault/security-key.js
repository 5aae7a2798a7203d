// Says in the page why a security key did not answer (cancelled, timed out, not this key,
// no key at all): allauth's WebAuthn helpers report it as an "allauth.error" event.
(function () {
  'use strict'
  document.addEventListener('allauth.error', function (event) {
    const status = document.querySelector('[data-security-key-status]')
    if (!status) return
    event.preventDefault()
    const name = event.detail && event.detail.exception && event.detail.exception.name
    status.textContent = name === 'NotAllowedError'
      ? 'The security key did not answer: it was cancelled or timed out. Try again.'
      : name === 'InvalidStateError'
        ? 'This security key is already added.'
        : 'This browser could not use a security key here. Open keyvault at its host name over HTTPS (or http://localhost) and try again.'
  })
})()
