/* SparkPay — copy-to-clipboard buttons (CSP-safe, no inline handlers).
 * Markup: <input id="pay-address" readonly value="...">
 *         <button type="button" class="btn" data-copy-target="pay-address"
 *                 data-copied-label="Copied">Copy</button>
 *         <span id="copy-status" class="sr-only" aria-live="polite"></span>
 */
(function () {
  "use strict";

  var RESET_MS = 2000;

  function textOf(el) {
    if ("value" in el && typeof el.value === "string" &&
        (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT")) {
      return el.value;
    }
    return (el.textContent || "").trim();
  }

  function legacyCopy(el, text) {
    var ok = false;
    var temp = null;
    var target = el;
    if (!(el.tagName === "INPUT" || el.tagName === "TEXTAREA")) {
      temp = document.createElement("textarea");
      temp.value = text;
      temp.setAttribute("readonly", "");
      temp.className = "sr-only";
      document.body.appendChild(temp);
      target = temp;
    }
    try {
      target.focus();
      target.select();
      if (target.setSelectionRange) { target.setSelectionRange(0, text.length); }
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    if (temp) { document.body.removeChild(temp); }
    return ok;
  }

  function copy(el, text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(el, text); }
      );
    }
    return Promise.resolve(legacyCopy(el, text));
  }

  function announce(message) {
    var status = document.getElementById("copy-status");
    if (!status) { return; }
    status.textContent = "";
    // Re-set on the next frame so screen readers announce repeated messages.
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  function onClick(event) {
    var button = event.currentTarget;
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    event.preventDefault();
    var text = textOf(target);
    copy(target, text).then(function (ok) {
      if (!ok) {
        // Leave the text selected so the user can copy it manually.
        if (target.select) { target.select(); }
        announce("Press Ctrl+C to copy");
        return;
      }
      var label = button.getAttribute("data-copied-label") || "Copied";
      if (!button.hasAttribute("data-copy-original")) {
        button.setAttribute("data-copy-original", button.textContent);
      }
      button.textContent = label;
      button.classList.add("is-copied");
      announce(label);
      window.clearTimeout(button._copyTimer);
      button._copyTimer = window.setTimeout(function () {
        button.textContent = button.getAttribute("data-copy-original");
        button.removeAttribute("data-copy-original");
        button.classList.remove("is-copied");
      }, RESET_MS);
    });
  }

  // Binds every not-yet-bound button; cheap enough to run over the whole document
  // after each htmx swap (an outerHTML swap's event target may be the old, detached node).
  function scan() {
    var buttons = document.querySelectorAll("[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (button._copyBound) { return; }
      button._copyBound = true;
      button.addEventListener("click", onClick);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scan);
  } else {
    scan();
  }
  document.addEventListener("htmx:afterSettle", scan);
})();
