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

// The console's live link: the hall's events over /ws/loket/<site>?counter=<code> (the
// same hub as the boards). The server pushes this counter's waiting list when it
// changes ("waiting" messages, swapped in as they come); an event naming this counter
// fires counter-changed (its panel refetches, unless it already shows what the event
// says: the console's own actions answer with the panel). A drop is shown at once; on
// reconnect the server's snapshot starts the stream again and both refetch (resync).
(function () {
  "use strict";
  var root = document.querySelector("[data-live-path]");
  if (!root || !window.WebSocket) { return; }
  var status = document.getElementById("live-status");
  var counter = root.dataset.liveCounter;
  var waitingList = document.getElementById("console-waiting");
  var attempts = 0;
  var seq = null;
  var everConnected = false;
  var timers = {};

  var lastFired = {};
  // A burst of events is one refetch, and a busy hall's stream of events refetches at
  // most every 750 ms: a pending refetch absorbs the events behind it (a debounce that
  // restarted on each event would never fire while the hall stays busy).
  // The panel's refetch is checked when it is due, not when the event comes: the event
  // of this console's own action often arrives before that action's answer (the fresh
  // panel). If the panel then shows the newest event of its counter, it is not fetched.
  var panelEvent = null;
  var panelForced = false;
  function fire(name) {
    if (timers[name]) { return; }
    var wait = Math.max(150, (lastFired[name] || 0) + 750 - Date.now());
    timers[name] = window.setTimeout(function () {
      timers[name] = null;
      if (name === "counter-changed") {
        var skip = !panelForced && panelEvent && panelShows(panelEvent);
        panelForced = false;
        panelEvent = null;
        if (skip) { return; }
      }
      lastFired[name] = Date.now();
      if (window.htmx) { window.htmx.trigger(document.body, name); }
    }, wait);
  }
  function panelChanged(msg) {  // msg null: refetch whatever the panel shows
    if (msg) { panelEvent = msg; } else { panelForced = true; }
    fire("counter-changed");
  }
  function resync() { fire("queue-changed"); panelChanged(null); }
  // Whether this counter's panel shows what the event says. Anything it cannot tell
  // counts as not shown.
  function panelShows(msg) {
    var current = document.querySelector("#console-panel [data-current]");
    var badge = document.querySelector("#console-panel [data-counter-status]");
    if (!current || !badge) { return false; }
    if (/^counter_/.test(msg.type)) { return badge.dataset.counterStatus === msg.status; }
    if (!msg.number) { return false; }
    var shown = current.dataset.current;
    if (msg.status === "called" || msg.status === "serving") {
      return shown === msg.number && current.dataset.currentStatus === msg.status;
    }
    return shown !== msg.number;  // the ticket has left the counter, and the panel agrees
  }
  function show(up) {
    root.dataset.live = up ? "yes" : "no";
    if (!status) { return; }
    status.hidden = up;
    status.textContent = up ? "" : "Terputus \u2014 menyambung ulang\u2026 ";
    if (!up) {
      var en = document.createElement("span");
      en.className = "en";
      en.textContent = "Disconnected, reconnecting";
      status.append(en);
    }
  }
  function onMessage(raw) {
    var msg;
    try { msg = JSON.parse(raw); } catch (e) { return; }
    if (msg.type === "snapshot") {
      attempts = 0;
      show(true);
      if (everConnected) { resync(); }  // whatever happened while we were away
      everConnected = true;
      seq = msg.seq;
      return;
    }
    if (msg.type === "waiting") {  // no sequence number: it replaces the list
      if (msg.counter === counter && waitingList) { waitingList.innerHTML = msg.html; }
      return;
    }
    if (msg.type === "heartbeat") {
      if (typeof msg.seq === "number" && seq !== null && msg.seq > seq) { seq = msg.seq; resync(); }
      return;
    }
    if (typeof msg.seq === "number") {
      if (seq !== null && msg.seq > seq + 1) { resync(); }  // a gap: refetch both
      seq = msg.seq;
    }
    if (msg.type === "catalogue_changed") { panelChanged(null); }
    else if (msg.counter === counter) { panelChanged(msg); }
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + location.host + root.dataset.livePath);
    } catch (e) {
      retry();
      return;
    }
    ws.onmessage = function (evt) { onMessage(evt.data); };
    ws.onclose = function () { show(false); retry(); };
  }
  function retry() {
    attempts += 1;
    var delay = Math.min(30000, 1000 * Math.pow(2, attempts - 1));
    window.setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  }
  connect();
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
