/* County site operator console (phone first): incoming orders with a loud alarm,
 * acknowledge, start firing, the immediate firing report, the written report, ammunition. */
(function () {
  "use strict";
  const H = window.HO, _ = H._, esc = H.esc;
  let sites = [];
  let alarmTimer = null;
  const openForms = new Map(); // op id -> form values the operator typed, kept across live re-renders

  const readiness = r => H.label("readiness", r);
  const OBS = ["none", "rain", "hail"];

  function ringUntilAcknowledged() {
    const waiting = Array.from(H.ops.values()).filter(op => op.state === "ordered");
    if (!waiting.length) { clearInterval(alarmTimer); alarmTimer = null; H.clearAlarm(); return; }
    const op = waiting[0];
    H.alarm(_("NEW FIRING ORDER! %(site)s · azimuth %(az)s° elevation %(el)s° · acknowledge now",
      { site: op.site_code, az: H.fmt(op.azimuth_deg), el: H.fmt(op.elevation_deg) }), { pulses: 4, loud: true });
    if (!alarmTimer) alarmTimer = setInterval(ringUntilAcknowledged, 5000);
  }

  // --- the firing report's times ----------------------------------------------------------------
  // Start: the recorded start-firing time.  End: now (Beijing time on the page's clock, the
  // drill clock inside a drill), never before the start, following the clock until the
  // operator types an end; a typed time is never replaced, and an end before the start is
  // refused with a message instead of being changed.
  const HMS = /^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$/;
  function defaultEnd(startIso) {
    return H.bjt(new Date(Math.max(Date.now(), Date.parse(startIso) || 0)).toISOString());
  }
  function startOf(f) {
    // An untouched start keeps the recorded start-firing time to the millisecond (the form
    // shows whole seconds; truncating could put it before the order, a violation).
    return f.start.value === H.bjt(f.start.dataset.exact) ? f.start.dataset.exact : H.bjtToIso(f.start.value, true);
  }
  /** The problem with the form's times (in words), or "" when they are fine. */
  function timesProblem(f) {
    if (!HMS.test(f.start.value)) return _("Enter the start time as HH:MM:SS (Beijing time).");
    if (!HMS.test(f.end.value)) return _("Enter the end time as HH:MM:SS (Beijing time).");
    const started = startOf(f), ended = H.bjtToIso(f.end.value, true);
    // Whole seconds on the form: an end in the start's own second is not before it.
    if (Date.parse(ended) < Math.floor(Date.parse(started) / 1000) * 1000) {
      return _("The end time %(end)s is before the start time %(start)s: enter an end time not earlier than the start.",
        { end: f.end.value, start: H.bjt(started) });
    }
    return "";
  }
  function showTimesProblem(f, text) {
    const box = f.querySelector(".field-error");
    f.end.setCustomValidity(text);
    f.end.classList.toggle("invalid", !!text);
    if (box) { box.textContent = text; box.hidden = !text; }
  }
  document.addEventListener("hailops:tick", function () {
    document.querySelectorAll("form.report-form input[name=end][data-auto]").forEach(function (el) {
      if (el === document.activeElement) return; // the operator is about to type
      const f = el.form;
      el.value = defaultEnd(HMS.test(f.start.value) ? startOf(f) : f.start.dataset.exact);
    });
  });

  function reportForm(op) {
    const kept = openForms.get(op.id) || {};
    const started = H.lastEntry(op, "start_firing");
    const startIso = started ? started.at : new Date().toISOString();
    const types = Array.from(new Set(Object.keys(op.quantity || {}).concat(Object.keys((sites.find(s => s.code === op.site_code) || {}).ammunition || {}))));
    const hms = 'type="text" inputmode="numeric" pattern="([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?" placeholder="HH:MM:SS" required';
    const endTyped = kept.end != null;
    return '<form class="report-form" data-op="' + esc(op.id) + '" novalidate>' +
      "<h4>" + esc(_("Immediate firing report")) + "</h4>" +
      '<div class="form-grid">' +
      "<label>" + esc(_("Start (BJT)")) + " <input " + hms + ' name="start" value="' +
        esc(kept.start || H.bjt(startIso)) + '" data-exact="' + esc(startIso) + '"></label>' +
      "<label>" + esc(_("End (BJT)")) + " <input " + hms + ' name="end" value="' + esc(endTyped ? kept.end : defaultEnd(startIso)) + '"' +
        (endTyped ? "" : " data-auto") + "></label>" +
      '<p class="field-error wide" role="alert"' + (kept.error ? "" : " hidden") + ">" + esc(kept.error || "") + "</p>" +
      types.map(t => "<label>" + esc(H.ammoLabel(t)) + ' <input type="number" min="0" inputmode="numeric" name="rounds:' + esc(t) + '" value="' +
        esc(kept["rounds:" + t] != null ? kept["rounds:" + t] : (op.quantity[t] || 0)) + '"></label>').join("") +
      "<label>" + esc(_("Azimuth °")) + ' <input type="number" step="0.1" name="azimuth_deg" inputmode="decimal" value="' + esc(kept.azimuth_deg || op.azimuth_deg) + '"></label>' +
      "<label>" + esc(_("Elevation °")) + ' <input type="number" step="0.1" name="elevation_deg" inputmode="decimal" value="' + esc(kept.elevation_deg || op.elevation_deg) + '"></label>' +
      "<label>" + esc(_("Observation")) + ' <select name="observation">' + OBS.map(o => '<option value="' + o + '"' +
        ((kept.observation || "none") === o ? " selected" : "") + ">" + esc(H.label("observation", o)) + "</option>").join("") + "</select></label>" +
      '<label class="wide">' + esc(_("Remarks")) + ' <input name="remarks" value="' + esc(kept.remarks || "") + '"></label>' +
      '</div><button type="submit" class="big danger">' + esc(_("File firing report")) + "</button></form>";
  }

  function card(op) {
    const win = op.cleared ? op.cleared.window : (op.ordered_window ? [op.ordered_window.start, op.ordered_window.end] : [op.window.start, op.window.end]);
    let actions = "";
    if (op.state === "ordered") actions = '<button type="button" class="big danger" data-do="acknowledge">' + esc(_("Acknowledge order")) + "</button>";
    else if (op.state === "acknowledged") actions = '<button type="button" class="big danger" data-do="start-firing">' + esc(_("Start firing")) + "</button>";
    else if (!op.report && (op.state === "firing" || ((op.state === "recalled" || op.state === "expired") && H.lastEntry(op, "start_firing")))) actions = reportForm(op);
    else if (op.report && !H.lastEntry(op, "file_written_report")) actions = '<button type="button" class="big" data-do="written-report">' + esc(_("Written report filed")) + "</button>";
    const rep = op.report ? '<p class="small report-filed">' + esc(_("Reported:")) + " " + H.bjt(op.report.started_at) + "–" + H.bjt(op.report.ended_at) + " · " + esc(H.qty(op.report.rounds)) +
      (H.lastEntry(op, "file_written_report") ? " · " + esc(_("written report in")) : "") + "</p>" : "";
    const viol = (op.violations || []).map(v => '<p class="violation">⚠ ' + esc(H.violationText(v)) + "</p>").join("");
    return '<article class="order-card state-bg-' + esc(op.state) + (op.state === "ordered" ? " flashing" : "") + '" data-op="' + esc(op.id) + '">' +
      "<header><b>" + esc(op.site_code) + "</b> " + H.stateBadge(op.state) + (op.storm_name ? ' <span class="muted small storm-name">' + esc(H.stormName(op)) + "</span>" : "") + "</header>" +
      (op.cease_fire ? '<p class="cease">' + esc(_("CEASE FIRE! Permission has ended: stop firing now")) + "</p>" : "") +
      '<dl class="kv big-kv">' +
      "<dt>" + esc(_("Window")) + "</dt><dd>" + H.bjt(win[0]).slice(0, 5) + "–" + H.bjt(win[1]).slice(0, 5) +
        (H.CLOSED.has(op.state) ? "" : " · " + esc(_("ends in")) + ' <span class="countdown" data-until="' + esc(win[1]) + '"></span>') + "</dd>" +
      "<dt>" + esc(_("Az/El")) + "</dt><dd><b>" + H.fmt(op.azimuth_deg) + "° / " + H.fmt(op.elevation_deg) + "°</b></dd>" +
      "<dt>" + esc(_("Rounds")) + "</dt><dd><b>" + esc(H.qty(op.quantity)) + "</b></dd>" +
      "<dt>" + esc(_("Ceiling")) + "</dt><dd>" + esc(_("%(m)s m ASL", { m: H.fmt(op.cleared ? op.cleared.ceiling_m : op.max_altitude_m) })) + "</dd>" +
      "</dl>" + rep + viol + '<div class="order-actions">' + actions + "</div></article>";
  }

  function keepForms() {
    document.querySelectorAll("form.report-form").forEach(function (f) {
      const v = {};
      // The end follows the clock until typed: only a typed end is kept.
      Array.from(f.elements).forEach(el => { if (el.name && !(el.name === "end" && el.hasAttribute("data-auto"))) v[el.name] = el.value; });
      const err = f.querySelector(".field-error");
      if (err && !err.hidden) v.error = err.textContent;
      openForms.set(f.dataset.op, v);
    });
  }
  function render() {
    keepForms();
    const list = Array.from(H.ops.values()).sort(function (a, b) {
      const ca = H.CLOSED.has(a.state) && (a.report || !H.lastEntry(a, "start_firing")), cb = H.CLOSED.has(b.state) && (b.report || !H.lastEntry(b, "start_firing"));
      return ca === cb ? (a.window.start < b.window.start ? 1 : -1) : (ca ? 1 : -1);
    }).slice(0, 20);
    const open = list.filter(op => !H.CLOSED.has(op.state)).length;
    document.getElementById("orders-count").textContent = open ? String(open) : "";
    document.getElementById("orders-count").classList.toggle("hot", list.some(op => op.state === "ordered"));
    document.getElementById("orders").innerHTML = list.length ? list.map(card).join("") :
      '<p class="muted">' + esc(_("No orders")) + "</p>";
    document.dispatchEvent(new CustomEvent("hailops:tick"));
  }
  function renderAmmo() {
    document.getElementById("ammo").innerHTML = sites.length ? '<table class="grid compact"><thead><tr><th>' + esc(_("Site")) + "</th><th>" +
      esc(_("Readiness")) + "</th><th>" + esc(_("Stock")) + "</th></tr></thead><tbody>" + sites.map(s => '<tr data-site="' + esc(s.code) + '"><td><b>' + esc(s.code) + '</b><br><span class="small muted">' +
        esc(s.name) + "</span></td><td>" + esc(readiness(s.readiness)) + "</td><td>" + Object.keys(s.ammunition).map(k => esc(H.ammoLabel(k)) + " <b>" + s.ammunition[k] + "</b>").join("<br>") +
        "</td></tr>").join("") + "</tbody></table>" : '<p class="muted">—</p>';
  }
  async function loadSites() {
    const r = await H.api("GET", "/api/sites");
    sites = r.ok ? r.data.sites : [];
    renderAmmo();
  }

  const box = document.getElementById("orders");
  box.addEventListener("click", async function (ev) {
    const btn = ev.target.closest("button[data-do]");
    if (!btn) return;
    const op = H.ops.get(btn.closest("article").dataset.op), action = btn.dataset.do;
    const done = await H.act(btn, "POST", "/api/operations/" + encodeURIComponent(op.id) + "/" + action, {},
      op.id + ":" + action + ":" + op.history.length, {
        acknowledge: _("Order acknowledged"), "start-firing": _("Firing started"),
        "written-report": _("Written report recorded") }[action]);
    if (done) { H.upsert(done); render(); ringUntilAcknowledged(); }
  });
  box.addEventListener("input", function (ev) {
    const el = ev.target;
    if (el.name === "end") el.removeAttribute("data-auto");
    if ((el.name === "end" || el.name === "start") && el.form && el.form.querySelector(".field-error:not([hidden])")) {
      showTimesProblem(el.form, timesProblem(el.form));
    }
  });
  box.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const f = ev.target, op = H.ops.get(f.dataset.op);
    const problem = timesProblem(f);
    showTimesProblem(f, problem);
    if (problem) { f.end.focus(); H.toast(problem, "error", op.id + ":report"); return; }
    const rounds = {};
    Array.from(f.elements).forEach(el => { if (el.name && el.name.startsWith("rounds:") && Number(el.value) > 0) rounds[el.name.slice(7)] = Number(el.value); });
    const started = startOf(f);
    // The end as typed; within the start's own second it is the start itself, sent as
    // recorded (the form shows whole seconds, the record has microseconds).
    const endMs = Date.parse(H.bjtToIso(f.end.value, true));
    const ended = endMs <= Date.parse(started) ? started : new Date(endMs).toISOString();
    const az = Number(f.azimuth_deg.value), el = Number(f.elevation_deg.value);
    const body = { started_at: started, ended_at: ended, rounds, observation: f.observation.value, remarks: f.remarks.value,
      bursts: Object.keys(rounds).map(t => ({ at: started, azimuth_deg: az, elevation_deg: el, ammo_type: t, rounds: rounds[t] })) };
    const done = await H.act(f.querySelector("button[type=submit]"), "POST", "/api/operations/" + encodeURIComponent(op.id) + "/report", body,
      op.id + ":report", _("Firing report filed"));
    if (done) { openForms.delete(op.id); H.upsert(done); render(); loadSites(); }
  });

  H.on("operation.update", function (data) {
    const before = H.ops.get(data.operation.id);
    if (!H.upsert(data.operation)) return;
    render();
    const op = data.operation;
    if (op.state === "ordered" && (!before || before.state !== "ordered")) ringUntilAcknowledged();
    if (op.state !== "ordered") ringUntilAcknowledged();
    // Inside a drill readiness follows the drill's operations (no site.status is sent).
    if (data.action === "report" || (H.boot.drill && ["start-firing", "recall", "expire"].includes(data.action))) loadSites();
  });
  H.on("operation.cease_fire", function (d) {
    H.alarm(_("CEASE FIRE! %(site)s %(reason)s", { site: d.site_code, reason: d.reason || "" }), { pulses: 6, loud: true });
  });
  H.on("site.status", loadSites);
  H.on("site.stock", loadSites);
  H.on("warning.issue", d => H.toast(_("Hail warning: %(counties)s", { counties: d.counties.map(H.countyName).join(_(", ")) }), "warn"));

  (async function start() {
    const seq = await H.currentSeq();
    await loadSites();
    const r = await H.api("GET", "/api/operations");
    if (r.ok) r.data.operations.forEach(H.upsert);
    render();
    ringUntilAcknowledged();
    H.connect(seq);
  })();
})();
