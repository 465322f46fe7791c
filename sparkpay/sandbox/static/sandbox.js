/* SparkPay sandbox: cashier countdown and the deposit address of the chosen network. No inline code. */
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.max(0, parseInt(el.getAttribute("data-deadline"), 10) - Math.floor(Date.now() / 1000));
      if (isNaN(left)) { return; }
      if (left === 0) { el.textContent = el.getAttribute("data-expired-label") || "Expired"; el.classList.add("is-expired"); return; }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = "Time left " + (h ? h + ":" + pad(m) : m) + ":" + pad(s);
    });
  }
  function showDeposit() {
    var chosen = document.querySelector("input[name=offer]:checked");
    document.querySelectorAll("[data-offer]").forEach(function (el) {
      el.hidden = !chosen || el.getAttribute("data-offer") !== chosen.value;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick(); setInterval(tick, 1000);
    document.querySelectorAll("input[name=offer]").forEach(function (el) { el.addEventListener("change", showDeposit); });
    showDeposit();
  });
})();
