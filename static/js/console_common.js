/* Shared by every role console: language helper, Beijing time, the JSON API with CSRF and
 * idempotency keys, one /live socket per page (sequence catch-up, DOM events
 * `hailops:<event>` with the envelope, as on the map), WebAudio alarms and toasts. */
(function () {
  "use strict";

  const fresh = window.HailopsSeq.fresh;
  const boot = window.HAILOPS_CONSOLE;
  const zh = boot.locale === "zh";
  // Every sentence comes from the translation catalogue: the server sends this page's
  // sentences (boot.i18n, extracted from the scripts' _("…") calls) in the user's language.
  const I18N = boot.i18n || {};
  /** A sentence in the user's language; ``%(name)s`` placeholders are filled from params. */
  function _(msgid, params) {
    const s = I18N[msgid] ? I18N[msgid] : msgid;
    return params ? s.replace(/%\((\w+)\)s/g, (m, k) => (params[k] != null ? String(params[k]) : m)) : s;
  }

  // --- formatting ---------------------------------------------------------------------
  const BJT_OFFSET_MS = 8 * 3600 * 1000; // Asia/Shanghai has no daylight saving time
  function bjt(iso, withDate) {
    if (!iso) return "—";
    const d = new Date(new Date(iso).getTime() + BJT_OFFSET_MS).toISOString();
    return withDate ? d.slice(5, 10) + " " + d.slice(11, 19) : d.slice(11, 19);
  }
  function bjtDateTime(iso) { return bjt(iso, true); }
  /** "HH:MM:SS" (BJT, today) -> ISO UTC; a time later than now is taken as yesterday. */
  function bjtToIso(hms, notAfterNow) {
    const now = new Date();
    const day = new Date(now.getTime() + BJT_OFFSET_MS).toISOString().slice(0, 10);
    let t = new Date(day + "T" + (hms.length === 5 ? hms + ":00" : hms) + "+08:00");
    if (notAfterNow && t.getTime() > now.getTime() + 60000) t = new Date(t.getTime() - 86400000);
    return t.toISOString();
  }
  function bjtNowHms() { return new Date(Date.now() + BJT_OFFSET_MS).toISOString().slice(11, 19); }
  function dur(seconds) {
    if (seconds == null || !isFinite(seconds)) return "—";
    const neg = seconds < 0; let s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600); s -= h * 3600; const m = Math.floor(s / 60); s -= m * 60;
    const txt = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return (neg ? "-" : "") + txt;
  }
  function fmt(v, d) { return v == null ? "—" : Number(v).toFixed(d || 0); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  // One vocabulary, served by the server from the translation catalogue (/api/vocabulary).
  const VOCAB = boot.vocab || {};
  /** The label of a code of one kind (state, action, review, readiness, ammunition, …). */
  function label(kind, code) {
    const v = VOCAB[kind] || {};
    if (v[code] != null) return v[code];
    if (kind === "ammunition" && code && code.startsWith("rocket_")) return _("%(model)s rockets", { model: code.slice(7).toUpperCase() });
    return code == null ? "" : String(code).replace(/_/g, " ");
  }
  const CLOSED = new Set(["completed", "denied", "cancelled", "expired", "recalled"]);
  function stateLabel(s) { return label("state", s); }
  function stateBadge(s) { return '<span class="state state-' + esc(s) + '">' + esc(stateLabel(s)) + "</span>"; }
  function ammoLabel(k) { return label("ammunition", k); }
  /** A firing violation in words: its time (BJT) and each rule it broke, from the vocabulary. */
  function violationText(v) {
    return _("firing at %(t)s: %(what)s", { t: bjt(v.at), what: (v.kinds || []).map(k => label("violation", k)).join(_("; ")) });
  }
  function qty(q) { return Object.keys(q || {}).map(k => ammoLabel(k) + " ×" + q[k]).join(_(", ")) || "—"; }
  const countyNames = {};
  (boot.counties || []).forEach(c => { countyNames[c.key] = zh ? c.name_zh : c.name_en; });
  function countyName(key) { return countyNames[key] || key; }
  /** The storm's one name (issue 11): the forecaster's name, else "风暴 N" from the served
   *  vocabulary; ``x`` is anything carrying ``storm`` ({number, name}) or ``storm_name``
   *  (a cell, an operation, a recommendation, a pushed event). */
  function stormName(x) {
    if (!x) return "";
    const s = x.storm;
    if (s && s.name) return s.name;
    if (s && s.number != null) return label("storm", "name").replace("{number}", s.number);
    return x.storm_name || x.cell_id || "";
  }
  function compass(deg) {
    if (deg == null) return "";
    const points = [_("N"), _("NE"), _("E"), _("SE"), _("S"), _("SW"), _("W"), _("NW")];
    return points[Math.round(((deg % 360) + 360) % 360 / 45) % 8];
  }

  // --- the API ---------------------------------------------------------------------------
  function csrf() { const el = document.querySelector("input[name=csrf_token]"); return el ? el.value : ""; }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; plain http on the ops LAN is not one.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  // One key per intended action (scope = object + action + the state it was taken from):
  // a double click, or a retry after a lost response or an error, sends the same key and
  // the server applies it once; the key is dropped once the server confirmed it.
  /** A URL of the API in this page's world: ``?drill=ID`` appended inside a drill (for
   *  links such as the CAP preview, which do not go through ``api``). */
  function url(path) {
    if (!boot.drill || !path.startsWith("/api/") || /[?&]drill=/.test(path)) return path;
    return path + (path.includes("?") ? "&" : "?") + "drill=" + encodeURIComponent(boot.drill.id);
  }
  const keys = new Map();
  function keyFor(scope) { if (!keys.has(scope)) keys.set(scope, uuid()); return keys.get(scope); }
  async function api(method, path, body, key) {
    if (boot.drill && path.startsWith("/api/")) {
      // Drill mode: every call works in the drill's world (reads, warnings, reviews,
      // agreements); a proposal is also made inside the drill.
      path = url(path);
      if (path.startsWith("/api/operations?") && method === "POST") body = Object.assign({}, body, { drill_id: boot.drill.id });
    }
    const headers = { Accept: "application/json" };
    if (method !== "GET") { headers["Content-Type"] = "application/json"; headers["X-CSRFToken"] = csrf(); }
    if (key) headers["Idempotency-Key"] = key;
    let resp;
    try {
      resp = await fetch(path, { method, headers, credentials: "same-origin",
        body: method === "GET" ? undefined : JSON.stringify(body || {}) });
    } catch (err) {
      return { ok: false, status: 0, data: { message: _("network error") + ": " + err.message } };
    }
    let data = null;
    try { data = await resp.json(); } catch (_e) { data = null; }
    return { ok: resp.ok, status: resp.status, data };
  }
  // Errors in the user's language: the envelope's code is worded here; the server's English
  // sentence is shown only in the English UI.
  const ERROR_CODES = {
    conflict: _("conflicts with the airspace clearance or the ammunition stock: nothing was done"),
    illegal_transition: _("not allowed in the operation's current state"),
    validation_failed: _("invalid input, please check"),
    forbidden: _("not allowed for your role"),
    unauthorized: _("please log in again"),
    not_found: _("not found or deleted"),
    concurrent_update: _("changed by someone else meanwhile; retry"),
  };
  const FIELD = { azimuth_deg: _("azimuth"), elevation_deg: _("elevation"), max_altitude_m: _("reach"), quantity: _("quantity"),
    window: _("time window"), reason: _("reason"), site_code: _("site"), ceiling_m: _("ceiling"), started_at: _("start time"),
    ended_at: _("end time"), rounds: _("rounds"), fit: _("amendment"), count: _("quantity"), ammo_type: _("ammunition type"),
    readiness: _("readiness") };
  function errorText(res) {
    const d = res.data || {};
    if (zh) {
      // The Chinese UI words the envelope's code and names the fields; the server's English
      // sentence is shown only in the English UI.
      const known = ERROR_CODES[d.code];
      const names = d.code === "validation_failed" && d.details && typeof d.details === "object" && !Array.isArray(d.details)
        ? Object.keys(d.details).map(k => FIELD[k.split(".")[0]]).filter(Boolean) : [];
      const fields = names.length ? _("(%(fields)s)", { fields: Array.from(new Set(names)).join(_(", ")) }) : "";
      return (known || _("request failed (%(status)s)", { status: res.status })) + fields;
    }
    let msg = d.message || _("request failed (%(status)s)", { status: res.status });
    if (d.details && typeof d.details === "object") {
      const parts = Array.isArray(d.details) ? d.details.map(x => x.message || JSON.stringify(x))
        : Object.keys(d.details).map(k => k + ": " + d.details[k]);
      if (parts.length) msg += " (" + parts.join("; ") + ")";
    }
    return msg;
  }
  /** Run one user action from a button: disabled while in flight, one idempotency key. */
  async function act(button, method, path, body, scope, okText) {
    if (button) { if (button.disabled) return null; button.disabled = true; button.classList.add("busy"); }
    scope = scope || method + " " + path;
    const res = await api(method, path, body, keyFor(scope));
    if (button) { button.disabled = false; button.classList.remove("busy"); }
    if (!res.ok) { toast(errorText(res), "error", scope); return null; }
    keys.delete(scope); // applied: the next intent (e.g. proposing again later) gets a new key
    clearToasts(scope); // the refusal of this very action is answered: it done, its error goes
    if (okText) toast(okText, "ok");
    return res.data;
  }

  // --- toasts, banner, sound --------------------------------------------------------------
  /** A toast; `about` names the action it is about, so that the action's later success can
   *  take its error away (clearToasts). */
  function toast(msg, kind, about) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.textContent = msg;
    if (about) el.dataset.about = about;
    if (kind === "error") {
      // Errors stay until the person dismisses them (issue 11): a refusal must not vanish.
      el.setAttribute("role", "alert");
      const close = document.createElement("button");
      close.type = "button"; close.className = "toast-close"; close.textContent = "×";
      close.title = _("Dismiss");
      close.addEventListener("click", () => el.remove());
      el.appendChild(close);
    } else {
      setTimeout(() => el.remove(), 4000);
    }
    box.appendChild(el);
  }
  function clearToasts(about) {
    const box = document.getElementById("toasts");
    if (!box || !about) return;
    box.querySelectorAll(".toast").forEach(el => { if (el.dataset.about === about) el.remove(); });
  }
  let audio = null;
  let unlocked = false; // browsers allow audio only after a user gesture on the page
  function audioCtx() {
    if (!unlocked) return null;
    if (!audio) { const C = window.AudioContext || window.webkitAudioContext; if (!C) return null; audio = new C(); }
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  const soundBtn = document.getElementById("sound-toggle");
  function soundReady() { return audio && audio.state === "running"; }
  function refreshSoundButton() { if (soundBtn) soundBtn.hidden = !!soundReady(); }
  // The first click anywhere on the page unlocks the sound.
  document.addEventListener("click", function () {
    unlocked = true; audioCtx(); if (soundBtn) soundBtn.classList.remove("flashing"); setTimeout(refreshSoundButton, 50);
  }, { capture: true });
  if (soundBtn) { soundBtn.addEventListener("click", function () { audioCtx(); beep(1); }); setTimeout(refreshSoundButton, 300); }
  /** WebAudio alarm: `n` two-tone pulses (no audio files). */
  function beep(n, loud) {
    const ctx = audioCtx();
    if (!ctx) { if (soundBtn) { soundBtn.hidden = false; soundBtn.classList.add("flashing"); } return; }
    const t0 = ctx.currentTime + 0.02;
    for (let i = 0; i < (n || 3); i++) {
      for (const [f, dt] of [[880, 0], [660, 0.18]]) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.type = loud ? "square" : "sine"; osc.frequency.value = f;
        const s = t0 + i * 0.45 + dt;
        gain.gain.setValueAtTime(0.0001, s);
        gain.gain.exponentialRampToValueAtTime(loud ? 0.5 : 0.25, s + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, s + 0.16);
        osc.connect(gain).connect(ctx.destination); osc.start(s); osc.stop(s + 0.18);
      }
    }
  }
  function alarm(text, opts) {
    const el = document.getElementById("alarm-banner");
    if (el) { el.textContent = text; el.hidden = false; el.classList.add("flashing"); }
    beep((opts && opts.pulses) || 3, opts && opts.loud);
    if (unlocked && navigator.vibrate) navigator.vibrate([300, 100, 300]);
  }
  function clearAlarm() {
    const el = document.getElementById("alarm-banner");
    if (el) { el.hidden = true; el.classList.remove("flashing"); el.textContent = ""; }
  }

  // --- Beijing clock in the top bar ------------------------------------------------------
  const clock = document.getElementById("bjt-clock");
  function tick() {
    // Inside a drill `Date` is the drill clock (console_drill.js): the one clock of the drill.
    if (clock) clock.textContent = (boot.drill ? _("DRILL") + " " : "") + bjtDateTime(new Date().toISOString()) + " " + _("BJT");
    // The banner carries the drill clock too (the top-bar clock is hidden on phones).
    const drillClock = boot.drill && document.getElementById("drill-clock");
    if (drillClock) drillClock.textContent = bjtDateTime(new Date().toISOString()) + " " + _("BJT");
    document.dispatchEvent(new CustomEvent("hailops:tick"));
  }
  tick(); setInterval(tick, 1000);

  // --- the live socket ------------------------------------------------------------------
  let lastSeq = 0;
  const statusEl = document.getElementById("live-status");
  function setStatus(text, ok) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.toggle("ok", !!ok); statusEl.classList.toggle("bad", !ok);
  }
  let socket = null;
  /** Connect after the page's first load: `since` is the sequence read before loading, so
   *  events that happened while loading are replayed, and after a reconnect what was missed. */
  function connect(since) {
    lastSeq = Math.max(lastSeq, since || 0);
    if (typeof io === "undefined") { setStatus(_("live client missing"), false); return null; }
    // Inside a drill the socket joins the drill's rooms only: nothing live reaches the page.
    socket = io("/live", { auth: cb => cb(Object.assign({ since: window.HailopsSeq.resumeFrom(lastSeq) },
      boot.drill ? { drill: boot.drill.id } : {})), transports: ["websocket", "polling"] });
    // Catch-up pages, gap detection and the sequence heartbeat (seq.js).
    const seqSync = window.HailopsSeq.attach(socket, { get: () => lastSeq, set: v => { lastSeq = v; } });
    socket.on("connect", function () {
      setStatus(_("live"), true);
    });
    socket.on("disconnect", () => setStatus(_("disconnected, reconnecting…"), false));
    socket.on("connect_error", err => setStatus(_("connection failed:") + " " + err.message, false));
    socket.onAny(function (name, env) {
      if (!env || typeof env.seq !== "number") return;
      if (!fresh(env.seq)) return; // already seen (several rooms, or catch-up overlap)
      seqSync.observe(env.seq);
      lastSeq = Math.max(lastSeq, env.seq);
      // Inside a drill an event's time is shown on the drill clock, never the wall clock.
      if (boot.drill && window.HAILOPS_DRILL_TIME && env.at) env = Object.assign({}, env, { at: window.HAILOPS_DRILL_TIME(env.at) });
      document.dispatchEvent(new CustomEvent("hailops:" + name, { detail: env }));
    });
    window.HAILOPS_SOCKET = socket;
    return socket;
  }
  async function currentSeq() {
    const r = await api("GET", "/api/live/seq");
    return r.ok && r.data && typeof r.data.seq === "number" ? r.data.seq : 0;
  }
  function on(name, fn) { document.addEventListener("hailops:" + name, ev => fn(ev.detail && ev.detail.data, ev.detail)); }

  // --- operations store (upsert by id; a replayed older event never goes back in time) ---
  const ops = new Map();
  function upsert(op) {
    const old = ops.get(op.id);
    if (old && (old.history || []).length > (op.history || []).length) return false;
    ops.set(op.id, op);
    return true;
  }
  function lastEntry(op, action) {
    const h = op.history || [];
    for (let i = h.length - 1; i >= 0; i--) if (!action || h[i].action === action) return h[i];
    return null;
  }
  /** Approval clock of one authority: running while pending, fixed once decided. */
  function approvalSeconds(op, authority) {
    const c = op.approval_clock && op.approval_clock[authority];
    if (!c) return null;
    if (c.state === "pending" && op.clearance_request && !CLOSED.has(op.state)) {
      return (Date.now() - new Date(op.clearance_request.requested_at).getTime()) / 1000;
    }
    return c.seconds;
  }
  function approvalCell(op, authority) {
    const c = op.approval_clock && op.approval_clock[authority];
    if (!c) return '<span class="muted">—</span>';
    if (c.state === "pending" && CLOSED.has(op.state)) return '<span class="muted">' + esc(_("undecided")) + "</span>";
    const lbl = { pending: _("pending"), granted: _("granted"), denied: _("denied"), revoked: _("revoked") }[c.state] || c.state;
    return '<span class="clock clock-' + esc(c.state) + '" data-clock="' + esc(op.id) + ":" + authority + '">' +
      esc(lbl) + (c.standing ? esc(_("(standing agreement)")) : "") + " " + dur(approvalSeconds(op, authority)) + "</span>";
  }
  /** Refresh every running clock in place once a second (no full re-render). */
  document.addEventListener("hailops:tick", function () {
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      const [id, authority] = el.dataset.clock.split(":");
      const op = ops.get(id);
      if (op && op.approval_clock && op.approval_clock[authority] && op.approval_clock[authority].state === "pending") {
        el.innerHTML = approvalCell(op, authority).replace(/^<span[^>]*>|<\/span>$/g, "");
      }
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      const opens = el.dataset.opens ? (new Date(el.dataset.opens).getTime() - Date.now()) / 1000 : -1;
      if (opens > 0) { el.textContent = _("opens in %(t)s", { t: dur(opens) }); el.classList.remove("urgent"); return; }
      const s = (new Date(el.dataset.until).getTime() - Date.now()) / 1000;
      el.textContent = s >= 0 ? dur(s) : (el.dataset.past || _("passed"));
      el.classList.toggle("urgent", s >= 0 && s < 300);
    });
  });

  /** A reason, asked in a modal dialog (survives the live re-rendering of tables). */
  function askReason(title, required) {
    return new Promise(function (resolve) {
      const dlg = document.createElement("dialog");
      dlg.className = "reason-dialog";
      dlg.innerHTML = "<form method=dialog><h3>" + esc(title) + "</h3><textarea name=reason rows=3 " +
        (required === false ? "" : "required") + ' placeholder="' + esc(_("Please give the reason")) + '"></textarea>' +
        '<div class=row><button value=cancel formnovalidate class=secondary>' + esc(_("Back")) +
        '</button><button value=ok class=danger>' + esc(_("Confirm")) + "</button></div></form>";
      document.body.appendChild(dlg);
      dlg.addEventListener("close", function () {
        const text = dlg.querySelector("textarea").value.trim();
        resolve(dlg.returnValue === "ok" ? text : null);
        dlg.remove();
      });
      dlg.showModal();
      dlg.querySelector("textarea").focus();
    });
  }

  // --- escalation ladder (issue 11): each raised step stays until a person acknowledges it --
  const escalations = new Map();
  let escBox = null;
  function escContainer() {
    if (escBox) return escBox;
    escBox = document.createElement("div");
    escBox.id = "escalations"; escBox.className = "escalations"; escBox.setAttribute("role", "alert");
    const anchor = document.getElementById("alarm-banner");
    if (anchor && anchor.parentNode) anchor.parentNode.insertBefore(escBox, anchor.nextSibling);
    else document.body.prepend(escBox);
    return escBox;
  }
  const WHO = { site: _("the site"), atc: _("airport ATC"), military: _("military") };
  const CONTACT_ROLE = { site_second: _("site's second contact"), site_first: _("site contact (no second contact registered)"),
    office_liaison: _("command office liaison"), atc_liaison: _("airport liaison"), military_liaison: _("military liaison") };
  function escText(e) {
    const i = e.info || {}, mins = Math.max(0, Math.round((Date.now() - Date.parse(i.since)) / 60000));
    const who = (i.waiting_for || []).map(w => WHO[w] || label("authority", w)).join(_(", "));
    const what = e.kind === "order_unacknowledged"
      ? _("site %(site)s has not acknowledged the order", { site: i.site_code })
      : _("%(site)s clearance pending (%(who)s)", { site: i.site_code, who: who });
    const level = { banner: _("Step 1: reminder"), second_contact: _("Step 2: call"), commander_alarm: _("Step 3: commander alarm") }[e.step] || label("escalation", e.step);
    return { level, what: _("%(what)s, for %(n)s min", { what: what, n: mins }) };
  }
  function renderEscalations() {
    const box = escContainer();
    const list = Array.from(escalations.values()).sort((a, b) => b.level - a.level || b.id - a.id);
    box.innerHTML = list.map(function (e) {
      const t = escText(e);
      const contacts = ((e.info || {}).contacts || []).map(c => '<li><b>' + esc(c.name) + '</b> <a href="tel:' + esc(c.phone) + '">' + esc(c.phone) + "</a> · " +
        esc(CONTACT_ROLE[c.role] || _("contact")) + "</li>").join("");
      return '<div class="escalation esc-' + esc(e.step) + '" data-escalation="' + e.id + '"><b>' + esc(t.level) + "</b> · " + esc(t.what) +
        " · " + esc(bjt(e.raised_at)) + (contacts ? '<ul class="contacts">' + contacts + "</ul>" : "") +
        (e.step === "second_contact" ? '<span class="small">' + esc(_("a call record is in the outbox")) + "</span> " : "") +
        '<button type="button" class="ok" data-ack="' + e.id + '">' + esc(_("Acknowledge")) + "</button></div>";
    }).join("");
  }
  let escAlarmTimer = null;
  function escSound() {
    const loud = Array.from(escalations.values()).some(e => e.step === "commander_alarm");
    if (escalations.size) beep(loud ? 4 : 2, loud);
    clearTimeout(escAlarmTimer);
    if (loud) escAlarmTimer = setTimeout(escSound, 8000); // the alarm repeats until acknowledged
  }
  function addEscalation(e, quiet) {
    if (!e || e.acked_at) { if (e) escalations.delete(e.id); renderEscalations(); return; }
    escalations.set(e.id, e);
    renderEscalations();
    if (!quiet) escSound();
  }
  document.addEventListener("click", async function (ev) {
    const btn = ev.target.closest && ev.target.closest("button[data-ack]");
    if (!btn) return;
    const id = Number(btn.dataset.ack);
    const done = await act(btn, "POST", "/api/escalations/" + id + "/ack", {}, "esc-ack:" + id);
    if (done) { escalations.delete(id); renderEscalations(); }
  });
  document.addEventListener("hailops:escalation", ev => addEscalation(ev.detail.data));
  document.addEventListener("hailops:escalation.ack", function (ev) { escalations.delete(ev.detail.data.id); renderEscalations(); });
  async function loadEscalations() {
    const r = await api("GET", "/api/escalations");
    if (r.ok) r.data.escalations.forEach(e => addEscalation(e, true));
  }
  loadEscalations();

  window.HO = { _, violationText, label, VOCAB, askReason, url, countyName, stormName, boot, zh, bjt, bjtDateTime, bjtToIso, bjtNowHms, dur, fmt, esc, stateLabel, stateBadge,
    CLOSED, ammoLabel, qty, compass, api, act, keyFor, uuid, errorText, toast, clearToasts, beep, alarm, clearAlarm,
    connect, currentSeq, on, ops, upsert, lastEntry, approvalCell, approvalSeconds };
})();
