/* keyvault — "Test key" on the rotate form: sends the pasted token (and URL, if typed) with
   fetch() and shows the vendor's verdict. The page does not reload, so the paste stays in the
   browser; the answer is JSON holding the result only, never the token.
   Without JavaScript the button stays hidden and the form works as before. */
(function () {
  "use strict";

  function show(box, text, result) {
    var out = box.querySelector("[data-live-check-result]");
    out.textContent = text;
    out.className = "live-check__result" + (result ? " live-check__result--" + result : "");
  }

  function errorsText(errors) {
    var parts = [];
    Object.keys(errors).forEach(function (field) {
      parts.push.apply(parts, errors[field]);
    });
    return parts.join(" ");
  }

  function test(box, button) {
    var form = button.closest("form");
    var body = new FormData();
    ["csrfmiddlewaretoken", "token", "scim_url"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) {
        body.append(name, field.value);
      }
    });
    button.disabled = true;
    show(box, "Asking the vendor…", "");
    fetch(box.getAttribute("data-live-check"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { message: "No answer from keyvault (HTTP " + response.status + ")." }; });
    }).then(function (answer) {
      if (answer.errors) {
        show(box, errorsText(answer.errors), "rejected");
      } else {
        var timing = typeof answer.latency_ms === "number" ? " (" + answer.latency_ms + " ms)" : "";
        show(box, answer.message + timing, answer.result || "");
      }
    }, function () {
      show(box, "keyvault could not be reached; the paste is still in the form.", "unreachable");
    }).then(function () {
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-check]").forEach(function (box) {
      box.hidden = false;
      var button = box.querySelector("[data-live-check-button]");
      button.addEventListener("click", function () { test(box, button); });
    });
  });
})();
