/* keyvault — small progressive enhancements; every page works without them.
   The paste forms have their own script, paste.js.
   Loaded with `defer` from 'self' (the CSP forbids inline scripts). */
(function () {
  "use strict";

  /* Copy buttons: <button data-copy="element-id">; the result is announced in [data-copy-status]. */
  function announce(text) {
    var status = document.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function copyFallback(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    selection.removeAllRanges();
    return ok;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text = source.textContent;
    var done = function () { announce("Copied to the clipboard."); };
    var failed = function () {
      announce(copyFallback(source) ? "Copied to the clipboard." : "Select the text and copy it.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });

  /* Move focus to an error summary so screen readers hear it first. */
  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector("[data-autofocus]");
    if (alert) {
      alert.focus();
    }
  });
})();
