// The lobby TV board: websocket to /ws/boards/<site>, a snapshot then events, rendered
// into the regions the server painted first (templates/boards/_regions.html). Calls are
// announced one after another: chime, then the server's WAV (espeak-ng or the word
// clips), else the browser's Indonesian voice, else the chime alone. No inline scripts
// (CSP).
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) { return; }

  var COUNTER_STATUS = { open: "Buka", paused: "Istirahat", closed: "Tutup" };
  var RECENT = 6;
  var HEARTBEAT_TIMEOUT = 45000;  // the server sends something at least every 15 s
  var filters = {
    counters: (root.dataset.counters || "").split(",").filter(Boolean),
    services: (root.dataset.services || "").split(",").filter(Boolean)
  };
  var state = null;
  var seq = 0;
  var ws = null;
  var attempts = 0;
  var retryTimer = null;
  var retryAt = 0;
  var lastMessageAt = 0;
  var disconnectedSince = null;
  var pollTimer = null;

  // --- time ----------------------------------------------------------------------------
  var serverNow = Number(document.body.dataset.serverNow || Date.now());
  var offset = serverNow - Date.now();
  var clockFmt = new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false, timeZone: "Asia/Makassar" });
  var dateFmt = new Intl.DateTimeFormat("id-ID", { weekday: "long", day: "numeric",
    month: "long", year: "numeric", timeZone: "Asia/Makassar" });
  var shortFmt = new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false, timeZone: "Asia/Makassar" });
  function serverTime() { return new Date(Date.now() + offset); }
  function tick() {
    var now = serverTime();
    text("board-clock", clockFmt.format(now).replace(/\./g, ":") + " WITA");
    text("board-date", dateFmt.format(now));
    renderConnection();
    if (ws && ws.readyState === 1 && Date.now() - lastMessageAt > HEARTBEAT_TIMEOUT) {
      ws.close();  // a silent link: reconnect instead of freezing unnoticed
    }
  }

  // --- small DOM helpers ---------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function text(id, value) { var el = $(id); if (el && el.textContent !== value) { el.textContent = value; } }
  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined && content !== null) { node.textContent = content; }
    return node;
  }
  function en(label) { return el("span", "en", label); }

  // --- filters (the same rules as boards.state.filter_state) ---------------------------
  function counterOk(code, served) {
    if (filters.counters.length && filters.counters.indexOf(code) < 0) { return false; }
    if (!filters.services.length || !served) { return true; }
    return served.some(function (s) { return filters.services.indexOf(s) >= 0; });
  }
  function callOk(call) {
    return (!filters.counters.length || filters.counters.indexOf(call.counter) >= 0) &&
      (!filters.services.length || filters.services.indexOf(call.service) >= 0);
  }
  function serviceOk(code) {
    if (filters.services.length) { return filters.services.indexOf(code) >= 0; }
    if (!filters.counters.length || !state) { return true; }
    return state.counters.some(function (c) {
      return counterOk(c.code, c.services) && c.services.indexOf(code) >= 0;
    });
  }

  // --- rendering -----------------------------------------------------------------------
  var shownLatest = null;  // the call in the big panel: the one being announced, else the newest
  function renderLatest(call) {
    var box = $("latest");
    if (!box) { return; }
    shownLatest = call;
    box.classList.toggle("is-empty", !call);
    var num = box.querySelector(".latest-number");
    num.textContent = call ? call.number : "—";
    num.dataset.number = call ? call.number : "";
    var to = box.querySelector(".latest-to");
    to.textContent = "";
    if (call) { to.append("silakan menuju ", en("please go to")); }
    else { to.append("Belum ada panggilan ", en("No calls yet")); }
    box.querySelector(".latest-counter").textContent = call ? "LOKET " + call.counter_number : "";
    box.querySelector(".latest-counter-name").textContent = call ? call.counter_name : "";
  }
  function flashLatest() {
    var box = $("latest");
    if (!box) { return; }
    box.classList.remove("is-flashing");
    void box.offsetWidth;  // restart the animation
    box.classList.add("is-flashing");
  }
  function renderCounters() {
    var list = $("counters");
    if (!list) { return; }
    list.textContent = "";
    var shown = state.counters.filter(function (c) { return counterOk(c.code, c.services); });
    shown.forEach(function (c) {
      var li = el("li", "counter-tile status-" + c.status);
      li.dataset.counter = c.code;
      li.append(el("span", "tile-name", "Loket " + c.number),
        el("span", "tile-number", c.current && c.status !== "closed" ? c.current.number : "—"),
        el("span", "tile-status", COUNTER_STATUS[c.status] || c.status),
        el("span", "tile-desc", c.name));
      list.append(li);
    });
    if (!shown.length) { list.append(el("li", "empty", "Tidak ada loket")); }
  }
  function renderRecent() {
    var list = $("recent");
    if (!list) { return; }
    list.textContent = "";
    var calls = state.recent_calls.filter(callOk).filter(function (c) {
      return !shownLatest || c.number !== shownLatest.number;
    }).slice(0, RECENT);
    calls.forEach(function (c) {
      var li = el("li");
      li.append(el("span", "num", c.number), el("span", "to", "Loket " + c.counter_number));
      list.append(li);
    });
    if (!calls.length) { list.append(el("li", "empty", "—")); }
  }
  function renderWaiting() {
    var list = $("waiting");
    if (!list) { return; }
    list.textContent = "";
    var rows = state.services.filter(function (s) { return s.waiting > 0 && serviceOk(s.code); });
    rows.forEach(function (s) {
      var li = el("li");
      li.dataset.service = s.code;
      li.append(el("span", "prefix", s.prefix), el("span", "name", s.name),
        el("span", "count", String(s.waiting)));
      list.append(li);
    });
    if (!rows.length) {
      var empty = el("li", "empty", "Tidak ada yang menunggu ");
      empty.append(en("Nobody waiting"));
      list.append(empty);
    }
  }
  function renderRunning() {
    var box = $("running");
    var span = $("running-text");
    if (!span || !state) { return; }
    if (span.textContent !== state.running_text) { span.textContent = state.running_text; }
    box.classList.toggle("is-empty", !state.running_text);
    // Speed in characters, not seconds: long texts scroll as fast as short ones.
    var seconds = Math.max(15, Math.round((state.running_text || "").length / 6));
    span.style.setProperty("--duration", seconds + "s");
  }
  function renderAll() {
    if (!state) { return; }
    text("board-hall-name", state.site.name);
    if (!announcer.playing) {
      var calls = state.recent_calls.filter(callOk);
      renderLatest(calls.length ? calls[0] : null);
    }
    renderCounters();
    renderRecent();
    renderWaiting();
    renderRunning();
  }

  // --- applying events -----------------------------------------------------------------
  function counterByCode(code) {
    for (var i = 0; i < state.counters.length; i++) {
      if (state.counters[i].code === code) { return state.counters[i]; }
    }
    return null;
  }
  function applyWaiting(waiting) {
    if (!waiting) { return; }
    state.services.forEach(function (s) { s.waiting = waiting[s.code] || 0; });
  }
  function apply(msg) {
    var counter = msg.counter ? counterByCode(msg.counter) : null;
    switch (msg.type) {
      case "call":
      case "recall":
        var call = { number: msg.number, counter: msg.counter, counter_name: msg.counter_name,
          counter_number: msg.counter_number, service: msg.service, at: msg.at,
          speech: msg.speech, audio: msg.audio };
        state.recent_calls = [call].concat(state.recent_calls.filter(function (c) {
          return c.number !== call.number;
        })).slice(0, 8);
        if (counter) {
          counter.current = { number: msg.number, status: "called", called_at: msg.at };
          counter.status = "open";
        }
        if (callOk(call)) { announcer.enqueue(call, msg.type); }
        break;
      case "start":
        if (counter && counter.current && counter.current.number === msg.number) {
          counter.current.status = "serving";
        }
        break;
      case "finish":
      case "no_show":
      case "transfer":
      case "cancel":
        if (counter && counter.current && counter.current.number === msg.number) {
          counter.current = null;
        }
        break;
      case "counter_opened":
      case "counter_paused":
      case "counter_closed":
        if (counter) { counter.status = msg.status; }
        break;
      case "running_text":
        state.running_text = msg.text || "";
        break;
      case "catalogue_changed":  // hall, services or counters edited: take a fresh snapshot
        resync();
        return;
    }
    applyWaiting(msg.waiting);
    renderAll();
  }

  function onMessage(raw) {
    var msg;
    try { msg = JSON.parse(raw); } catch (e) { return; }
    lastMessageAt = Date.now();
    if (msg.type === "heartbeat") {
      if (msg.at) { offset = Date.parse(msg.at) - Date.now(); }
      if (typeof msg.seq === "number" && state && msg.seq > seq) { resync(); }
      return;
    }
    if (msg.type === "snapshot") {
      state = msg;
      seq = msg.seq;
      if (msg.generated_at) { offset = Date.parse(msg.generated_at) - Date.now(); }
      root.dataset.seq = String(seq);
      renderAll();
      return;
    }
    if (!state || typeof msg.seq !== "number") { return; }
    if (msg.seq <= seq) { return; }  // already in the snapshot
    if (msg.seq !== seq + 1) { resync(); return; }  // a gap: we missed something
    seq = msg.seq;
    root.dataset.seq = String(seq);
    apply(msg);
  }
  function resync() {
    root.dataset.resyncs = String(Number(root.dataset.resyncs || 0) + 1);
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify({ type: "resync" })); }
  }

  // --- connection ----------------------------------------------------------------------
  function connect() {
    window.clearTimeout(retryTimer);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    try {
      ws = new WebSocket(scheme + location.host + root.dataset.wsPath);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws.onopen = function () {
      attempts = 0;
      lastMessageAt = Date.now();
    };
    ws.onmessage = function (evt) {
      if (disconnectedSince !== null || root.dataset.connected !== "yes") {
        disconnectedSince = null;
        root.dataset.connected = "yes";
        stopPolling();
        renderConnection();
      }
      onMessage(evt.data);
    };
    ws.onclose = function (evt) {
      ws = null;
      if (evt && evt.code === 4403) {  // this board was revoked: show the pairing code
        location.reload();
        return;
      }
      if (disconnectedSince === null) { disconnectedSince = serverTime(); }
      root.dataset.connected = "no";
      renderConnection();
      scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    attempts += 1;
    // 1 s, 2 s, 4 s ... up to 30 s, with jitter so a hall's boards don't stampede.
    var delay = Math.min(30000, 1000 * Math.pow(2, attempts - 1));
    delay = delay / 2 + Math.random() * delay / 2;
    retryAt = Date.now() + delay;
    retryTimer = window.setTimeout(connect, delay);
    startPolling();
    renderConnection();
  }
  // While the websocket is down, htmx refreshes the regions from the server now and then,
  // so a board behind a proxy that blocks websockets still shows the queue.
  function startPolling() {
    if (pollTimer || !window.htmx) { return; }
    pollTimer = window.setInterval(function () {
      if (!announcer.playing) { window.htmx.trigger(root, "board-poll"); }
    }, 15000);
  }
  function stopPolling() { window.clearInterval(pollTimer); pollTimer = null; }
  function renderConnection() {
    var box = $("conn");
    if (!box) { return; }
    var cls, label;
    if (root.dataset.connected === "yes") {
      cls = "conn conn-ok";
      label = ["Terhubung", "Live"];
    } else if (disconnectedSince) {
      cls = "conn conn-down";
      var wait = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      label = ["Terputus sejak " + shortFmt.format(disconnectedSince).replace(/\./g, ":") +
        " · mencoba lagi " + (wait ? "dalam " + wait + " dtk" : "sekarang"),
        "Disconnected, reconnecting"];
    } else {
      cls = "conn conn-connecting";
      label = ["Menyambungkan…", "Connecting"];
    }
    // The whole board greys out with a large notice after 3 s down, so that nobody
    // trusts a stale screen; a quick reconnect (a server restart) does not flash it.
    var longDown = cls === "conn conn-down" && serverTime() - disconnectedSince > 3000;
    root.classList.toggle("is-disconnected", longDown);
    root.dataset.downLabel = longDown ? label[0] + " · " + label[1] : "";
    var key = cls + label[0];
    if (box.dataset.key === key) { return; }
    box.dataset.key = key;
    box.className = cls;
    box.textContent = label[0] + " ";
    box.append(en(label[1]));
  }

  // --- sound ---------------------------------------------------------------------------
  var AudioCtx = window.AudioContext || window.webkitAudioContext;
  var audioCtx = null;
  var soundEnabled = false;
  var soundMode = "none";  // what the status line shows: the last way a call was heard
  function chooseMode() {
    if (!soundEnabled) { return "none"; }
    if (root.dataset.serverVoice === "yes") { return "server"; }
    if (indonesianVoice()) { return "browser"; }
    return "chime";
  }
  function indonesianVoice() {
    if (!window.speechSynthesis) { return null; }
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf("id") === 0) { return voices[i]; }
    }
    return null;
  }
  var MODE_LABELS = {
    none: ["Suara belum aktif", "Sound off"],
    server: ["Suara: server (espeak-ng)", "Voice: server (espeak-ng)"],
    browser: ["Suara: peramban (bahasa Indonesia)", "Voice: browser"],
    chime: ["Suara: bel saja", "Chime only"]
  };
  // The server's voice, named by the page: espeak-ng, or the shipped word clips.
  var SERVER_LABELS = {
    "espeak-ng": MODE_LABELS.server,
    rekaman: ["Suara: server (rekaman kata)", "Voice: server (recorded words)"]
  };
  function setMode(mode) {
    soundMode = mode;
    root.dataset.soundMode = mode;
    var box = $("sound-mode");
    if (!box) { return; }
    var label = (mode === "server" && SERVER_LABELS[root.dataset.serverVoiceEngine])
      || MODE_LABELS[mode];
    box.textContent = label[0] + " ";
    box.append(en(label[1]));
  }
  function enableSound() {
    soundEnabled = true;
    if (AudioCtx && !audioCtx) { audioCtx = new AudioCtx(); }
    if (audioCtx && audioCtx.state === "suspended") { audioCtx.resume(); }
    if (window.speechSynthesis) { window.speechSynthesis.getVoices(); }
    var button = $("enable-sound");
    if (button) { button.hidden = true; }
    setMode(chooseMode());
    announcer.pump();
  }
  function chime() {
    return new Promise(function (resolve) {
      if (!audioCtx) { window.setTimeout(resolve, 300); return; }
      var t = audioCtx.currentTime + 0.05;
      [[659.25, 0], [523.25, 0.55]].forEach(function (tone) {
        var osc = audioCtx.createOscillator();
        var gain = audioCtx.createGain();
        osc.type = "sine";
        osc.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.0001, t + tone[1]);
        gain.gain.exponentialRampToValueAtTime(0.5, t + tone[1] + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + tone[1] + 0.9);
        osc.connect(gain).connect(audioCtx.destination);
        osc.start(t + tone[1]);
        osc.stop(t + tone[1] + 0.95);
      });
      window.setTimeout(resolve, 1600);
    });
  }
  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (_, reject) {
      window.setTimeout(function () { reject(new Error("timeout")); }, ms);
    })]);
  }
  function playServer(item) {
    return withTimeout(new Promise(function (resolve, reject) {
      var player = new Audio(item.audio);
      player.onended = resolve;
      player.onerror = function () { reject(new Error("audio")); };
      var started = player.play();
      if (started && started.catch) { started.catch(reject); }
    }), 20000);
  }
  function playBrowser(item) {
    var voice = indonesianVoice();
    if (!voice) { return Promise.reject(new Error("no voice")); }
    return withTimeout(new Promise(function (resolve, reject) {
      var utterance = new SpeechSynthesisUtterance(item.speech);
      utterance.lang = "id-ID";
      utterance.voice = voice;
      utterance.rate = 0.9;
      utterance.onend = resolve;
      utterance.onerror = function () { reject(new Error("speech")); };
      window.speechSynthesis.speak(utterance);
    }), 20000);
  }
  function speak(item) {
    // The fallback chain, per call: server WAV, then the browser's voice, then nothing.
    var chain = Promise.reject(new Error("start"));
    if (chooseMode() === "server") {  // the preferred way, tried again on every call
      chain = playServer(item).then(function () { return "server"; });
    }
    return chain.catch(function () {
      return playBrowser(item).then(function () { return "browser"; });
    }).catch(function () { return "chime"; });
  }

  // Calls queue up: one announcement never cuts another off.
  var announcer = {
    queue: [],
    playing: null,
    played: [],
    enqueue: function (call, kind) {
      this.queue.push({ number: call.number, counter: call.counter,
        counter_number: call.counter_number, counter_name: call.counter_name,
        speech: call.speech, audio: call.audio, kind: kind, at: call.at });
      this.render();
      this.pump();
    },
    pump: function () {
      var self = this;
      if (self.playing || !self.queue.length) { return; }
      var item = self.queue.shift();
      item.startedAt = Date.now();
      self.playing = item;
      renderLatest(item);
      renderRecent();
      flashLatest();
      self.render();
      var done = function (how) {
        item.how = how;
        item.endedAt = Date.now();
        self.played.push(item);
        if (self.played.length > 50) { self.played.shift(); }
        self.playing = null;
        if (how !== "silent" && how !== soundMode) { setMode(how); }
        self.render();
        if (!self.queue.length) { renderAll(); }
        self.pump();
      };
      if (!soundEnabled) {
        window.setTimeout(function () { done("silent"); }, 2500);
        return;
      }
      chime().then(function () {
        return chooseMode() === "chime" ? "chime" : speak(item);
      }).then(function (how) {
        window.setTimeout(function () { done(how); }, 600);  // a breath between calls
      });
    },
    render: function () {
      var box = $("announce-state");
      if (!box) { return; }
      box.dataset.queueLength = String(this.queue.length);
      box.dataset.playing = this.playing ? this.playing.number : "";
      box.textContent = this.playing
        ? "Memanggil " + this.playing.number + " · " + this.queue.length + " antre"
        : "Pengumuman: " + this.queue.length + " antre";
    }
  };

  var button = $("enable-sound");
  if (button) { button.addEventListener("click", enableSound); }
  if (AudioCtx) {
    // A TV started with autoplay allowed needs no click.
    try {
      audioCtx = new AudioCtx();
      if (audioCtx.state === "running") { enableSound(); }
    } catch (e) { audioCtx = null; }
  }
  if (window.speechSynthesis && window.speechSynthesis.addEventListener) {
    window.speechSynthesis.addEventListener("voiceschanged", function () {
      if (soundEnabled && soundMode === "chime") { setMode(chooseMode()); }
    });
  }
  setMode(soundEnabled ? chooseMode() : "none");

  window.mppBoard = { announcer: announcer, state: function () { return state; },
    seq: function () { return seq; }, socket: function () { return ws; } };
  tick();
  window.setInterval(tick, 1000);
  connect();
})();
