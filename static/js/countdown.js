/* SparkPay — live countdowns (CSP-safe, no inline handlers).
 * Markup: <p class="countdown" data-deadline="1767225600"
 *            data-expired-label="Expired" data-left-label="{time} left">15:00 left</p>
 * data-deadline is a Unix timestamp in seconds. Text becomes data-left-label
 * with {time} as "mm:ss" (or "hh:mm:ss"); at zero it shows data-expired-label (default
 * "Expired") and gets the class "is-expired". Under 60 s it gets "is-urgent".
 */
(function () {
  "use strict";

  var URGENT_SECONDS = 60;
  var timer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function format(total) {
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    return (h > 0 ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function update(el, now) {
    var deadline = parseInt(el.getAttribute("data-deadline"), 10);
    if (isNaN(deadline)) { return false; }
    var remaining = Math.max(0, Math.ceil(deadline - now));
    if (remaining <= 0) {
      var label = el.getAttribute("data-expired-label") || "Expired";
      if (el.textContent !== label) { el.textContent = label; }
      el.classList.remove("is-urgent");
      el.classList.add("is-expired");
      return false;
    }
    el.textContent = (el.getAttribute("data-left-label") || "{time} left").replace("{time}", format(remaining));
    el.classList.toggle("is-urgent", remaining <= URGENT_SECONDS);
    el.classList.remove("is-expired");
    return true;
  }

  function tick() {
    var now = Date.now() / 1000;
    var running = false;
    var els = document.querySelectorAll("[data-deadline]");
    Array.prototype.forEach.call(els, function (el) {
      if (update(el, now)) { running = true; }
    });
    if (!running && timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
    return running;
  }

  function scan() {
    if (tick() && timer === null) {
      timer = window.setInterval(tick, 1000);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scan);
  } else {
    scan();
  }
  document.addEventListener("htmx:afterSettle", scan);
})();
