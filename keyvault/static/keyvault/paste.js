/* keyvault — paste forms (new integration, add credential, rotate).

   A key the vendor shows once must survive a mistake, so with this script on:
   - the paste is checked in the browser before it is sent (URL shape of the provider, empty
     token, spaces inside it, invisible characters, size);
   - the form is sent without a page load (header X-Keyvault-Form: inplace); a refusal from the
     server (JSON: messages by field, never a value) replaces the error messages only, and every
     typed value — the token included — stays in the fields;
   - after "Saved" the browser goes to the integration's page.
   Without it the forms post normally and the server's page says what to paste again.

   Loaded with `defer` from 'self' (the CSP forbids inline scripts). The page's rules come from
   the <script type="application/json" id="paste-rules"> that Django's json_script writes.

   Other scripts can build on a paste form through window.keyvaultPaste:
     keyvaultPaste.onSetup(function (form, api) { ... })  — runs for each paste form
     api.clientErrors(form)        — {field: [message]} of the checks below ({} when fine)
     api.showErrors(form, errors)  — show messages the way a refusal does
     api.clearErrors(form)
     api.post(form, url)           — POST the form's fields in place; Promise of {status, body}
     api.status(form, text)        — the form's live status line
*/
(function () {
  "use strict";

  var HEADER = "X-Keyvault-Form";
  var KEPT = "Nothing was saved. Everything you typed is still here: correct it and save again.";
  var setupHooks = [];
  var readyForms = [];

  function rulesOf() {
    var data = document.getElementById("paste-rules");
    return data ? JSON.parse(data.textContent) : null;
  }

  function providerOf(form, rules) {
    var select = form.querySelector("#id_provider");
    var kind = select ? select.value : form.getAttribute("data-provider");
    return rules.providers[kind] || null;
  }

  function byteLength(text) {
    return new TextEncoder().encode(text).length;
  }

  /* --- checks: the same rules and words as keyvault.vault.validation --- */

  var INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/;

  function urlErrors(form, rules, provider) {
    var input = form.elements.scim_url;
    if (!input || !provider) {
      return [];
    }
    var url = input.value.trim();
    if (!url) {
      var keep = form.hasAttribute("data-url-keep");
      return provider.url_required && !keep
        ? [provider.name + " needs the " + provider.url_words + "."]
        : [];
    }
    if (/\s/.test(url) || INVISIBLE.test(url)) {
      return ["The URL contains spaces or control characters."];
    }
    if (!/^https:\/\//i.test(url)) {
      return ["The URL must start with https://."];
    }
    if (provider.url_pattern && !new RegExp("^(?:" + provider.url_pattern + ")$").test(url)) {
      return [
        "This does not look like " + provider.a_name + " URL; expected " +
          provider.url_example + "."
      ];
    }
    return [];
  }

  function tokenErrors(form, rules) {
    var input = form.elements.token;
    if (!input) {
      return [];
    }
    var token = input.value.trim();
    if (!token) {
      return ["Paste the token: it is empty."];
    }
    if (byteLength(token) > rules.token_max_bytes) {
      return [
        "The token is longer than " + rules.token_max_bytes +
          " bytes; check that only the token was pasted."
      ];
    }
    if (/\s/.test(token)) {
      return ["The token contains a space or line break inside it; paste it again as one piece."];
    }
    if (INVISIBLE.test(token)) {
      return ["The token contains control or invisible characters; paste it again as plain text."];
    }
    return [];
  }

  /* A group of radio buttons the user must answer (data-required-choice holds the message). */
  function choiceErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-required-choice]"), function (group) {
      var radios = group.querySelectorAll("input[type=radio]");
      if (radios.length && !group.querySelector("input[type=radio]:checked")) {
        errors[radios[0].name] = [group.getAttribute("data-required-choice")];
      }
    });
  }

  function clientErrors(form) {
    var rules = rulesOf();
    var errors = {};
    choiceErrors(form, errors);
    if (!rules) {
      return errors;
    }
    var provider = providerOf(form, rules);
    var url = urlErrors(form, rules, provider);
    var token = tokenErrors(form, rules);
    if (url.length) {
      errors.scim_url = url;
    }
    if (token.length) {
      errors.token = token;
    }
    return errors;
  }

  /* --- showing messages (the markup of keyvault/_field.html and _form_alert.html) --- */

  function fieldOf(form, name) {
    var element = form.elements[name];
    if (element && !element.closest && element.length) {
      element = element[0]; // a group of radio buttons or check boxes
    }
    return element && element.closest ? element : null;
  }

  function clearFieldErrors(form, name) {
    var element = fieldOf(form, name);
    var box = element && element.closest(".field");
    if (!box) {
      return;
    }
    var list = box.querySelector(".field__errors");
    if (list) {
      list.remove();
    }
    box.classList.remove("field--error");
    element.removeAttribute("aria-invalid");
  }

  function showFieldErrors(form, name, messages) {
    var element = fieldOf(form, name);
    var box = element && element.closest(".field");
    if (!box) {
      return false;
    }
    clearFieldErrors(form, name);
    var list = document.createElement("ul");
    list.className = "field__errors";
    list.id = (element.id || name) + "_error";
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    var anchor = element;
    while (anchor.parentNode !== box) {
      anchor = anchor.parentNode;
    }
    box.insertBefore(list, anchor);
    box.classList.add("field--error");
    element.setAttribute("aria-invalid", "true");
    var described = (element.getAttribute("aria-describedby") || "").split(" ");
    if (described.indexOf(list.id) < 0) {
      element.setAttribute("aria-describedby", described.concat([list.id]).join(" ").trim());
    }
    return true;
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".field--error"), function (box) {
      box.classList.remove("field--error");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field__errors, .form-alert"), function (el) {
      el.remove();
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function showErrors(form, errors, note) {
    clearErrors(form);
    var general = (errors.__all__ || []).slice();
    Object.keys(errors).forEach(function (name) {
      if (name !== "__all__" && !showFieldErrors(form, name, errors[name])) {
        general = general.concat(errors[name]);
      }
    });
    var alert = document.createElement("div");
    alert.className = "form-alert";
    alert.setAttribute("role", "alert");
    alert.tabIndex = -1;
    var title = document.createElement("h2");
    title.className = "form-alert__title";
    title.textContent = "Please check the highlighted fields";
    alert.appendChild(title);
    general.concat(note ? [note] : []).forEach(function (text) {
      var line = document.createElement("p");
      line.textContent = text;
      alert.appendChild(line);
    });
    form.insertBefore(alert, form.firstChild);
    alert.focus();
  }

  function status(form, text) {
    var line = form.querySelector("[data-form-status]");
    if (line) {
      line.textContent = text;
    }
  }

  /* --- sending in place --- */

  function post(form, url) {
    var headers = { Accept: "application/json" };
    headers[HEADER] = "inplace";
    return fetch(url || form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: headers
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? response.json() : Promise.resolve(null)).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function setBusy(form, busy) {
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
      b.disabled = busy;
    });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function unreachable(form, what) {
    setBusy(form, false);
    status(form, "Not saved.");
    showErrors(form, {
      __all__: [
        "keyvault could not save this (" + what + "). If your session ended, sign in again in " +
          "another tab, then save here."
      ]
    }, KEPT);
  }

  function submitInPlace(form, event) {
    event.preventDefault();
    var errors = clientErrors(form);
    if (Object.keys(errors).length) {
      status(form, "Not sent: check the highlighted fields.");
      showErrors(form, errors, "Nothing was sent yet. Everything you typed is still here.");
      return;
    }
    setBusy(form, true);
    status(form, "Saving…");
    post(form).then(function (reply) {
      if (reply.body && reply.body.saved) {
        clearErrors(form);
        status(form, "Saved.");
        window.location.assign(reply.body.redirect);
      } else if (reply.body && reply.body.errors) {
        setBusy(form, false);
        status(form, "Not saved.");
        showErrors(form, reply.body.errors, KEPT);
      } else {
        unreachable(form, "answer " + reply.status);
      }
    }, function () {
      unreachable(form, "no answer from the server");
    });
  }

  /* --- the new-integration form follows the chosen provider --- */

  function parseDay(value) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    return parts ? new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3])) : null;
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function formatDay(date) { // the one date format of keyvault.web.dates: "8 Mar 2026"
    return date.getUTCDate() + " " + MONTHS[date.getUTCMonth()] + " " + date.getUTCFullYear();
  }

  function setLabel(form, id, text) {
    var label = form.querySelector("label[for='" + id + "']");
    if (label && label.firstChild) {
      label.firstChild.textContent = text;
    }
    return label;
  }

  function followProvider(form) {
    var rules = rulesOf();
    var select = form.querySelector("#id_provider");
    var url = form.elements.scim_url;
    var issued = form.elements.issued_on;
    if (!rules || !select || !url) {
      return;
    }
    var urlHelp = document.getElementById("id_scim_url_helptext");
    var expiryHelp = document.getElementById("id_expires_on_helptext");
    var urlLabel = form.querySelector("label[for='id_scim_url']");
    var urlOptional = urlLabel.querySelector(".field__optional");
    if (!urlOptional) {
      urlOptional = document.createElement("span");
      urlOptional.className = "field__optional";
      urlOptional.textContent = " (optional)";
      urlLabel.appendChild(urlOptional);
    }

    function update() {
      var provider = rules.providers[select.value];
      if (!provider) {
        return;
      }
      url.required = provider.url_required;
      urlOptional.hidden = provider.url_required;
      setLabel(form, "id_scim_url", provider.url_label);
      setLabel(form, "id_token", provider.key_label);
      if (urlHelp) {
        urlHelp.textContent = provider.url_example
          ? "Expected shape: " + provider.url_example
          : "Where the identity provider sends provisioning requests.";
      }
      if (expiryHelp) {
        var start = parseDay(issued && issued.value);
        var text = "Leave empty for the usual lifetime: " + provider.lifetime_days +
          " days after the issue date";
        if (start) {
          text += " (" + formatDay(new Date(start.getTime() + provider.lifetime_days * 864e5)) + ")";
        }
        expiryHelp.textContent = text + ".";
      }
      if (url.value.trim()) {
        checkField(form, "scim_url");
      }
    }

    select.addEventListener("change", update);
    if (issued) {
      issued.addEventListener("change", update);
    }
    update();
  }

  /* A field checked as soon as the user leaves it, so a wrong URL shape shows at once. */
  function checkField(form, name) {
    var errors = clientErrors(form);
    if (errors[name]) {
      showFieldErrors(form, name, errors[name]);
    } else {
      clearFieldErrors(form, name);
    }
  }

  var api = {
    clientErrors: clientErrors,
    showErrors: showErrors,
    clearErrors: clearErrors,
    post: post,
    status: status
  };

  function setup(form) {
    followProvider(form);
    ["scim_url", "token"].forEach(function (name) {
      var input = form.elements[name];
      if (input) {
        input.addEventListener("change", function () { checkField(form, name); });
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-required-choice] input"), function (radio) {
      radio.addEventListener("change", function () { clearFieldErrors(form, radio.name); });
    });
    form.addEventListener("submit", function (event) { submitInPlace(form, event); });
    readyForms.push(form);
    setupHooks.forEach(function (hook) { hook(form, api); });
  }

  window.keyvaultPaste = {
    onSetup: function (hook) {
      setupHooks.push(hook);
      readyForms.forEach(function (form) { hook(form, api); });
    }
  };
  Object.keys(api).forEach(function (name) { window.keyvaultPaste[name] = api[name]; });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-paste-form]"), setup);
  });
})();
