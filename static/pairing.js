// The pairing screen of an unregistered board (templates/boards/pairing.html): asks the
// server every few seconds whether a supervisor entered the code; once registered (the
// answer set the board's cookie) or expired (a new code), the page reloads.
(function () {
  "use strict";
  var root = document.getElementById("pairing");
  if (!root) { return; }
  var state = document.getElementById("pairing-state");
  var code = document.getElementById("pairing-code");
  function poll() {
    fetch(root.dataset.poll, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return later(10000); }
        if (body.status === "registered") {
          state.textContent = "Terdaftar sebagai \u201c" + body.name + "\u201d. Membuka papan\u2026";
          root.dataset.registered = "yes";
          window.setTimeout(function () { location.reload(); }, 500);
          return;
        }
        if (body.status === "expired") { location.reload(); return; }
        if (body.code && code.textContent !== body.code) { code.textContent = body.code; }
        later(3000);
      })
      .catch(function () { later(10000); });
  }
  function later(ms) { window.setTimeout(poll, ms); }
  later(3000);
})();
