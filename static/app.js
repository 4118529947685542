// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // htmx does not swap 4xx/5xx bodies by default: show our error partial in #flash.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status >= 400) {
      var flash = document.getElementById("flash");
      if (flash) {
        evt.detail.shouldSwap = true;
        evt.detail.isError = false;
        evt.detail.target = flash;
        window.clearTimeout(flash._timer);
        flash._timer = window.setTimeout(function () { flash.innerHTML = ""; }, 8000);
      }
      if (evt.detail.requestConfig && evt.detail.requestConfig.target &&
          evt.detail.requestConfig.target.id === "kiosk-main") {
        evt.detail.target = evt.detail.requestConfig.target;  // kiosk shows its own message
      }
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var flash = document.getElementById("flash");
    if (flash && evt.detail.successful && evt.detail.target !== flash &&
        evt.detail.requestConfig.verb === "post") {
      flash.innerHTML = "";
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) {
      flash.innerHTML = '<div class="error-box"><strong>Koneksi terputus</strong>' +
        "<p>Server tidak dapat dihubungi. Coba lagi sebentar.</p></div>";
    }
  });

  // Browser-printing kiosks (printers/): a swapped-in printable ticket prints itself;
  // Chrome started with --kiosk-printing sends it to the printer without a dialog.
  document.addEventListener("htmx:afterSettle", function () {
    var paper = document.querySelector("[data-autoprint]:not([data-printed])");
    if (paper) {
      paper.setAttribute("data-printed", "");
      window.setTimeout(function () { window.print(); }, 300);
    }
  });

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-autosubmit]")) { evt.target.form.submit(); }
  });

  // A clock in WITA, for the kiosk and the boards, following the server's clock.
  var serverNow = Number(document.body.dataset.serverNow || Date.now());
  var offset = serverNow - Date.now();
  function tick() {
    var text = new Intl.DateTimeFormat("id-ID", {
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Makassar"
    }).format(new Date(Date.now() + offset)) + " WITA";
    document.querySelectorAll("[data-clock]").forEach(function (el) { el.textContent = text; });
  }
  tick();
  window.setInterval(tick, 10000);
})();

// On-screen keypad (kiosk check-in): [data-key] buttons type into [data-code-input].
document.addEventListener("click", function (evt) {
  var key = evt.target.closest && evt.target.closest("[data-key]");
  if (!key) { return; }
  var form = key.closest("form");
  var input = form && form.querySelector("[data-code-input]");
  if (!input) { return; }
  var value = input.value;
  if (key.dataset.key === "DEL") {
    input.value = value.slice(0, -1);
  } else if (value.replace(/[^0-9A-Za-z]/g, "").length < 8) {
    input.value = value + key.dataset.key;
  }
  input.focus();
});
