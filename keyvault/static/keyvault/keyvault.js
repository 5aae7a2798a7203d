/* keyvault — small progressive enhancements; every page works without them.
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

  /* New-integration form: the provider's URL shape and default expiry follow the selection. */
  function parseDay(value) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    return parts ? new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3])) : null;
  }

  function formatDay(date) {
    return date.toLocaleDateString(undefined, {
      day: "numeric", month: "long", year: "numeric", timeZone: "UTC"
    });
  }

  function setupProviderForm(form) {
    var data = document.getElementById("provider-presets");
    var provider = form.querySelector("#id_provider");
    var url = form.querySelector("#id_scim_url");
    var issued = form.querySelector("#id_issued_on");
    if (!data || !provider || !url || !issued) {
      return;
    }
    var presets = JSON.parse(data.textContent);
    var urlHelp = document.getElementById("id_scim_url_helptext");
    var expiryHelp = document.getElementById("id_expires_on_helptext");
    var urlLabel = form.querySelector("label[for='id_scim_url']");
    var tokenLabel = form.querySelector("label[for='id_token']");
    var urlOptional = urlLabel.querySelector(".field__optional");
    if (!urlOptional) {
      urlOptional = document.createElement("span");
      urlOptional.className = "field__optional";
      urlOptional.textContent = " (optional)";
      urlLabel.appendChild(urlOptional);
    }

    function update() {
      var preset = presets[provider.value];
      if (!preset) {
        return;
      }
      url.required = preset.url_required;
      urlOptional.hidden = preset.url_required;
      urlLabel.firstChild.textContent = preset.url_label;
      if (tokenLabel) {
        tokenLabel.firstChild.textContent = preset.key_label;
      }
      if (urlHelp) {
        urlHelp.textContent = preset.url_example
          ? "Expected shape: " + preset.url_example
          : "Where the identity provider sends provisioning requests.";
      }
      if (expiryHelp) {
        var start = parseDay(issued.value);
        var text = "Leave empty for the usual lifetime: " + preset.lifetime_days +
          " days after the issue date";
        if (start) {
          var end = new Date(start.getTime() + preset.lifetime_days * 86400000);
          text += " (" + formatDay(end) + ")";
        }
        expiryHelp.textContent = text + ".";
      }
    }

    provider.addEventListener("change", update);
    issued.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-provider-form]");
    if (form) {
      setupProviderForm(form);
    }
  });
})();
