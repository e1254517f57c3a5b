/* Commander console: recommendations per hail cell, proposals, the lifecycle actions and
 * every operation at a glance with its timers (approval clocks, window end, cell arrival). */
(function () {
  "use strict";
  const H = window.HO, _ = H._, esc = H.esc;
  let arrivals = {};   // cell_id -> {track: {arrivals: {sites, counties}}}
  let sites = [];
  let recs = null;

  const BUTTON = { authorize: _("Authorize"), "request-clearance": _("Request clearance"), order: _("Order"),
    cancel: _("Cancel"), recall: _("Recall") };
  const ACTIONS = {
    proposed: [["authorize", ""], ["cancel", "secondary"]],
    authorized: [["request-clearance", ""], ["cancel", "secondary"]],
    clearance_requested: [["cancel", "secondary"]],
    cleared: [["order", "danger"], ["cancel", "secondary"]],
    ordered: [["recall", "danger"]],
    acknowledged: [["recall", "danger"]],
    firing: [["recall", "danger"]],
  };
  const NEEDS_REASON = { cancel: _("Reason to cancel"), recall: _("Reason to recall (sends a cease-fire to the site)") };

  function arrivalOf(op) {
    const a = arrivals[op.cell_id];
    if (!a || !a.track) return null;
    const arr = a.track.arrivals || {};
    return (arr.sites || {})[op.site_code] || (arr.counties || {})[op.county] || null;
  }

  const expanded = new Set(); // operations whose timeline is open (kept across live re-renders)
  /** Timeline of one operation: each step, who, when (BJT), the approval clocks and the
   *  firing report's contents. */
  function timelineRow(op) {
    const steps = (op.history || []).map(h => "<li><span class=\"muted\">" + H.bjt(h.at) + "</span> <b>" + esc(H.label("action", h.action)) + "</b> · " +
      esc(h.actor) + (h.detail ? ' <span class="small muted">' + esc(h.detail) + "</span>" : "") + "</li>").join("");
    const clocks = ["atc", "military"].map(a => esc(H.label("authority", a)) + " " + H.approvalCell(op, a)).join(" · ");
    const rep = op.report;
    const report = rep ? '<p class="report-contents"><b>' + esc(_("Firing report")) + "</b> · " + H.bjt(rep.started_at) + "–" + H.bjt(rep.ended_at) +
      " · " + esc(H.qty(rep.rounds)) + " · " + esc(_("observed:")) + " " + esc(H.label("observation", rep.observation)) +
      (rep.remarks ? " · " + esc(rep.remarks) : "") + "</p>" : "";
    return '<tr class="timeline-row" data-timeline="' + esc(op.id) + '"><td colspan="9"><ol class="timeline">' + steps + "</ol>" +
      '<p class="small">' + esc(_("Approval clocks")) + ": " + clocks + "</p>" + report + "</td></tr>";
  }
  /** Who narrowed: "机场空管" / "军方" (joined). */
  function whoLabel(list) {
    return (list || []).map(a => H.label("authority", a)).join(_(", "));
  }
  /** One conflict between the plan and the airspace granted so far, in words. */
  function conflictText(c) {
    const by = c.authorities && c.authorities.length ? _(" (narrowed by %(who)s)", { who: whoLabel(c.authorities) }) : "";
    switch (c.kind) {
      case "ceiling": return _("rounds reach %(planned)s m, above the cleared ceiling %(allowed)s m ASL", { planned: H.fmt(c.planned), allowed: H.fmt(c.allowed) }) + by;
      case "sector": return _("azimuth %(az)s° outside the cleared sectors", { az: H.fmt(c.planned, 1) }) + by;
      default: return H.label("conflict", c.kind) + by;
    }
  }
  /** The live envelope, the plan's conflicts with it and the one-step amendment. */
  function conflictRow(op) {
    const cs = op.conflicts || [];
    const env = op.envelope;
    if (!cs.length) {
      if (!env || op.cleared || H.CLOSED.has(op.state) || !(env.granted_by || []).length) return "";
      return '<tr class="envelope-row"><td colspan="9" class="small">' + esc(envelopeText(env)) + "</td></tr>";
    }
    const fix = op.amendment;
    const btn = fix ? '<button type="button" class="ok" data-op="' + esc(op.id) + '" data-action="amend-fit">' +
      esc(_("Amend into the cleared airspace")) + "</button> " +
      '<span class="small">' + esc(_("azimuth") + " " + H.fmt(op.azimuth_deg, 1) + "°→" + H.fmt(fix.azimuth_deg, 1) + "° · " +
        _("elevation") + " " + H.fmt(op.elevation_deg, 1) + "°→" + H.fmt(fix.elevation_deg, 1) + "° · " +
        _("reach") + " " + H.fmt(op.max_altitude_m) + "→" + H.fmt(fix.max_altitude_m) + " m") + "</span>"
      : '<span class="small">' + esc(_("no aim of this site fits the cleared airspace")) + "</span>";
    return '<tr class="conflict-row" data-conflict="' + esc(op.id) + '"><td colspan="9"><div class="conflict" role="alert"><b>' +
      esc(_("Conflict")) + "</b> · " + cs.map(c => esc(conflictText(c))).join(_("; ")) +
      (env ? '<br><span class="small">' + esc(envelopeText(env)) + "</span>" : "") + "<br>" + btn + "</div></td></tr>";
  }
  function envelopeText(env) {
    const parts = [_("Cleared so far")];
    if (env.window) parts.push(_("window") + " " + H.bjt(env.window[0]).slice(0, 5) + "–" + H.bjt(env.window[1]).slice(0, 5));
    parts.push(_("ceiling %(m)s m ASL", { m: H.fmt(env.ceiling_m) }));
    if (env.sectors && env.sectors.length) parts.push(_("sectors") + " " + env.sectors.map(s => H.fmt(s[0]) + "°–" + H.fmt(s[1]) + "°").join(", "));
    if ((env.pending || []).length) parts.push(_("pending:") + " " + whoLabel(env.pending));
    return parts.join(" · ");
  }

  function renderOps() {
    const showClosed = document.getElementById("show-closed").checked;
    const list = Array.from(H.ops.values()).filter(op => showClosed || !H.CLOSED.has(op.state))
      .sort((a, b) => (a.window.start < b.window.start ? 1 : -1));
    const body = document.getElementById("ops-body");
    document.getElementById("ops-count").textContent = _("open %(n)s", {
      n: Array.from(H.ops.values()).filter(op => !H.CLOSED.has(op.state)).length });
    if (!list.length) {
      body.innerHTML = '<tr><td colspan="9" class="muted">' + esc(_("No operations")) + "</td></tr>";
      return;
    }
    body.innerHTML = list.map(function (op) {
      const win = op.cleared ? op.cleared.window : [op.window.start, op.window.end];
      const arr = arrivalOf(op);
      const blocked = (op.conflicts || []).length > 0;
      const acts = (ACTIONS[op.state] || []).map(a => '<button type="button" class="' + a[1] + '" data-op="' + esc(op.id) +
        '" data-action="' + a[0] + '"' + (a[0] === "order" && blocked ? ' disabled title="' + esc(_("the plan lies outside the cleared airspace: amend first")) + '"' : "") +
        ">" + esc(BUTTON[a[0]]) + "</button>").join(" ");
      const warn = (op.violations || []).length ? ' <span class="state state-denied" title="' +
        esc(op.violations.map(H.violationText).join("\n")) + '">' + esc(_("violations %(n)s", { n: op.violations.length })) + "</span>" : "";
      const cease = op.cease_fire ? ' <span class="state state-recalled">' + esc(_("cease-fire")) + "</span>" : "";
      const last = H.lastEntry(op);
      return '<tr id="op-' + esc(op.id) + '" data-state="' + esc(op.state) + '">' +
        '<td title="' + esc(op.id) + '"><button type="button" class="link tl-toggle" data-tl="' + esc(op.id) + '" aria-expanded="' + expanded.has(op.id) + '">' +
        (expanded.has(op.id) ? "▾" : "▸") + "</button> <b>#" + esc(op.id.slice(-4)) + "</b> " + H.bjt(op.history[0].at).slice(0, 5) +
        '<br><span class="muted small">' + esc(op.cell_id === "manual" ? _("manual proposal") : H.stormName(op)) + "</span></td>" +
        "<td>" + esc(op.site_code) + '<br><span class="muted small">' + esc(H.qty(op.quantity)) + " · " +
        H.fmt(op.azimuth_deg, 0) + "°/" + H.fmt(op.elevation_deg, 0) + "°</span></td>" +
        "<td>" + H.stateBadge(op.state) + warn + cease + '<br><span class="muted small">' + esc(last ? last.actor + " " + H.bjt(last.at) : "") +
        (last && last.detail ? " · " + esc(last.detail) : "") + "</span></td>" +
        "<td>" + H.bjt(win[0]).slice(0, 5) + "–" + H.bjt(win[1]).slice(0, 5) +
        (op.cleared ? '<br><span class="muted small">' + esc(_("ceiling %(m)s m ASL", { m: H.fmt(op.cleared.ceiling_m) })) +
          (op.cleared.standing ? " " + esc(_("(standing agreement)")) : "") + "</span>" : "") + "</td>" +
        "<td>" + (H.CLOSED.has(op.state) ? "—" : '<span class="countdown" data-opens="' + esc(win[0]) + '" data-until="' + esc(op.deadline) + '"></span>') + "</td>" +
        "<td>" + H.approvalCell(op, "atc") + "</td><td>" + H.approvalCell(op, "military") + "</td>" +
        "<td>" + (arr && !H.CLOSED.has(op.state) ? '<span class="countdown" data-past="' + esc(_("arrived")) +
          '" data-until="' + esc(arr) + '"></span><br><span class="muted small">' + H.bjt(arr).slice(0, 5) + "</span>" : "—") + "</td>" +
        '<td class="actions">' + acts + "</td></tr>" + conflictRow(op) + (expanded.has(op.id) ? timelineRow(op) : "");
    }).join("");
    document.dispatchEvent(new CustomEvent("hailops:tick"));
  }

  document.getElementById("ops-body").addEventListener("click", async function (ev) {
    const tl = ev.target.closest("button[data-tl]");
    if (tl) { const id = tl.dataset.tl; if (expanded.has(id)) expanded.delete(id); else expanded.add(id); renderOps(); return; }
    const btn = ev.target.closest("button[data-action]");
    if (!btn) return;
    const op = H.ops.get(btn.dataset.op), action = btn.dataset.action;
    if (!op) return;
    if (action === "amend-fit") {
      const fixed = await H.act(btn, "POST", "/api/operations/" + encodeURIComponent(op.id) + "/amend", { fit: true },
        op.id + ":amend:" + op.history.length, _("Plan amended: %(site)s", { site: op.site_code }));
      if (fixed) { H.upsert(fixed); renderOps(); }
      return;
    }
    const body = {};
    if (NEEDS_REASON[action]) {
      const reason = await H.askReason(NEEDS_REASON[action] + " · " + op.site_code);
      if (!reason) return;
      body.reason = reason;
    }
    const done = await H.act(btn, "POST", "/api/operations/" + encodeURIComponent(op.id) + "/" + action, body,
      op.id + ":" + action + ":" + op.history.length);
    if (done) { H.upsert(done); renderOps(); renderRecs(); }
  });
  document.getElementById("show-closed").addEventListener("change", renderOps);

  // --- recommendations ---------------------------------------------------------------------
  function openOpFor(cellId, siteCode) {
    return Array.from(H.ops.values()).find(op => op.site_code === siteCode && !H.CLOSED.has(op.state) &&
      (cellId == null || op.cell_id === cellId));
  }
  function renderRecs() {
    const box = document.getElementById("recs");
    if (!recs) { box.innerHTML = '<p class="muted">' + esc(_("Loading…")) + "</p>"; return; }
    document.getElementById("recs-info").textContent = recs.at ? _("as of %(t)s", { t: H.bjt(recs.at) }) +
      (recs.seeding_layer_m ? " · " + _("seeding layer %(bottom)s–%(top)s m ASL", recs.seeding_layer_m) +
        ((recs.seeding_layer_m.source || "").startsWith("seasonal") ? " " + _("(seasonal fallback, no sounding)") : "") : "") : "";
    const cells = recs.cells || [];
    if (!cells.length) {
      box.innerHTML = '<p class="muted">' + esc(_("No hail cells now. Use the manual proposal below to create an operation for a site.")) + "</p>";
      return;
    }
    const dl = document.getElementById("pf-cells");
    if (dl) dl.innerHTML = cells.map(c => '<option value="' + esc(c.cell_id) + '" label="' + esc(H.stormName(c)) + '">').join("");
    cells.sort((a, b) => (b.threat || 0) - (a.threat || 0));
    box.innerHTML = cells.map(function (c) {
      const mine = (recs.recommendations || []).filter(r => r.cell_id === c.cell_id);
      // The storm's one name and whether the forecaster confirmed it (issue 11).
      const shortId = '<b class="storm-name">' + esc(H.stormName(c)) + "</b> " + (c.confirmed === false
        ? '<span class="review review-new unconfirmed">' + esc(H.label("storm", "unconfirmed")) + "</span>"
        : c.confirmed ? '<span class="review review-confirmed">' + esc(H.label("review", "confirmed")) + "</span>" : "");
      const excl = (c.excluded || []).map(e => "<li>" + esc(e.site_code) + ": " + esc(e.reason_text || e.reason) + "</li>").join("");
      if (!mine.length && !(c.candidates || []).length) {
        return '<div class="rec-cell empty">' + shortId + " · " + esc(_("threat %(t)s", { t: H.fmt(c.threat, 2) })) + " · " +
          esc(_("no site can engage")) + (excl ? ' <details class="small inline-details"><summary>' +
          esc(_("excluded %(n)s", { n: c.excluded.length })) + "</summary><ul>" + excl + "</ul></details>" : "") + "</div>";
      }
      const rows = mine.map(function (r, i) {
        const open = openOpFor(r.cell_id, r.site_code);
        return '<tr><td><b>' + esc(r.site_code) + "</b></td><td>" + H.bjt(r.window_start).slice(0, 5) + "–" + H.bjt(r.window_end).slice(0, 5) +
          "</td><td>" + H.fmt(r.azimuth_deg, 0) + "° / " + H.fmt(r.elevation_deg, 0) + "°</td><td>" + esc(H.qty(r.ammunition)) +
          "</td><td>" + H.fmt(r.max_altitude_m) + ' m</td><td class="small muted">' + esc((r.reasons_text || r.reasons || []).join(_("; "))) + "</td><td>" +
          (open ? H.stateBadge(open.state) : '<button type="button" class="propose" data-cell="' + esc(c.cell_id) + '" data-i="' + i + '">' +
            esc(_("Propose")) + "</button>") + "</td></tr>";
      }).join("");
      const cands = (c.candidates || []).filter(k => !mine.some(r => r.site_code === k.site_code))
        .map(k => '<button type="button" class="secondary cand" title="' + esc(_("fill the manual proposal")) + '" data-cell="' + esc(c.cell_id) +
          '" data-site="' + esc(k.site_code) + '" data-start="' + esc(k.window_start) + '" data-end="' + esc(k.window_end) + '">' +
          esc(k.site_code) + " " + H.bjt(k.window_start).slice(0, 5) + " · " + esc(_("%(n)s min", { n: k.time_in_range_min })) + "</button>").join(" ");
      return '<div class="rec-cell' + (c.confirmed === false ? " unconfirmed" : "") + '" data-storm="' + esc(c.storm ? c.storm.id : "") + '"><div class="rec-head">' + shortId + " · " + esc(_("threat %(t)s", { t: H.fmt(c.threat, 2) })) +
        (c.reaches_populated_area_at ? " · " + esc(_("reaches counties %(t)s", { t: H.bjt(c.reaches_populated_area_at).slice(0, 5) })) +
          ' (<span class="countdown" data-past="' + esc(_("inside")) + '" data-until="' + esc(c.reaches_populated_area_at) + '"></span>)' : "") + "</div>" +
        (rows ? '<table class="grid compact"><thead><tr><th>' + esc(_("Site")) + "</th><th>" + esc(_("Window")) + "</th><th>" +
          esc(_("Az/El")) + "</th><th>" + esc(_("Ammunition")) + "</th><th>" + esc(_("Ceiling")) + "</th><th>" +
          esc(_("Reasons")) + "</th><th></th></tr></thead><tbody>" + rows + "</tbody></table>" : '<p class="muted small">' + esc(_("No site assigned (candidates went to more threatening cells)")) + "</p>") +
        (cands ? '<p class="small muted">' + esc(_("Other candidates (click to fill the manual proposal):")) + " " + cands + "</p>" : "") +
        (excl ? '<details class="small"><summary>' + esc(_("Excluded sites %(n)s", { n: c.excluded.length })) + "</summary><ul>" + excl + "</ul></details>" : "") +
        "</div>";
    }).join("") + ((recs.dismissed_storms || []).length ? '<p class="small muted dismissed-storms">' +
      esc(_("Dismissed by the forecaster, not planned: %(names)s", { names: recs.dismissed_storms.join(_(", ")) })) + "</p>" : "");
  }
  document.getElementById("recs").addEventListener("click", async function (ev) {
    const cand = ev.target.closest("button.cand");
    if (cand) {
      const sel = document.getElementById("pf-site");
      sel.value = cand.dataset.site; sel.dispatchEvent(new Event("change"));
      form.cell_id.value = cand.dataset.cell;
      form.minutes.value = Math.max(5, Math.ceil((Date.parse(cand.dataset.end) - Date.now()) / 60000));
      document.getElementById("propose-panel").scrollIntoView({ behavior: "smooth" });
      form.azimuth_deg.focus();
      return;
    }
    const btn = ev.target.closest("button.propose");
    if (!btn) return;
    const r = (recs.recommendations || []).filter(x => x.cell_id === btn.dataset.cell)[Number(btn.dataset.i)];
    if (!r) return;
    const body = { cell_id: r.cell_id, site_code: r.site_code, window: [r.window_start, r.window_end],
      azimuth_deg: r.azimuth_deg, elevation_deg: r.elevation_deg, quantity: r.ammunition, max_altitude_m: r.max_altitude_m };
    const op = await H.act(btn, "POST", "/api/operations", body, "propose:" + r.cell_id + ":" + r.site_code + ":" + r.window_start,
      _("Proposed: %(site)s", { site: r.site_code }));
    if (op) { H.upsert(op); renderOps(); renderRecs(); }
  });

  // --- manual proposal ---------------------------------------------------------------------
  const form = document.getElementById("propose-form");
  function fillSiteForm() {
    const sel = document.getElementById("pf-site");
    sel.innerHTML = sites.map(s => '<option value="' + esc(s.code) + '">' + esc(s.code + " " + s.name) + "</option>").join("");
    sel.dispatchEvent(new Event("change"));
  }
  /** Ammunition types of the site with their stock (keeps the chosen type). */
  function fillAmmo(code) {
    const s = sites.find(x => x.code === code), sel = document.getElementById("pf-ammo"), keep = sel.value;
    if (!s) return;
    sel.innerHTML = Object.keys(s.ammunition || {}).map(t => '<option value="' + esc(t) + '">' + esc(H.ammoLabel(t) + " (" + s.ammunition[t] + ")") + "</option>").join("");
    if (keep && s.ammunition[keep] != null) sel.value = keep;
  }
  document.getElementById("pf-site").addEventListener("change", function () {
    const s = sites.find(x => x.code === this.value);
    if (!s) return;
    fillAmmo(s.code);
    const ceiling = Math.max(...s.equipment.map(e => (e.ceiling_km || 0) * 1000));
    if (ceiling > 0) document.getElementById("pf-ceiling").value = Math.round(ceiling);
    const sec = s.equipment[0] && s.equipment[0].sectors && s.equipment[0].sectors[0];
    if (sec) { let mid = (sec[0] + ((sec[1] - sec[0] + 360) % 360) / 2) % 360; form.azimuth_deg.value = mid.toFixed(0); }
  });
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const now = Date.now(), minutes = Number(form.minutes.value || 30);
    const body = { cell_id: form.cell_id.value.trim() || null, site_code: form.site_code.value,
      window: [new Date(now - 60000).toISOString(), new Date(now + minutes * 60000).toISOString()],
      azimuth_deg: Number(form.azimuth_deg.value), elevation_deg: Number(form.elevation_deg.value),
      quantity: { [form.ammo_type.value]: Number(form.count.value) }, max_altitude_m: Number(form.max_altitude_m.value) };
    // The key covers what was typed: a double submit of the same form is one proposal.
    const op = await H.act(document.getElementById("pf-submit"), "POST", "/api/operations", body,
      "manual:" + JSON.stringify([body.cell_id, body.site_code, minutes, body.azimuth_deg, body.elevation_deg, body.quantity, body.max_altitude_m]),
      _("Proposed: %(site)s", { site: body.site_code }));
    if (op) { H.upsert(op); renderOps(); }
  });

  // --- board of all sites ----------------------------------------------------------------------
  const lastSign = {}; // site code -> ISO time of the latest thing heard from or about it
  function noteSign(code, at) { if (code && (!lastSign[code] || lastSign[code] < at)) lastSign[code] = at; }
  function renderBoard() {
    const body = document.getElementById("board-body");
    if (!body) return;
    Array.from(H.ops.values()).forEach(op => (op.history || []).forEach(h => { if (h.role === "county_operator") noteSign(op.site_code, h.at); }));
    document.getElementById("board-count").textContent = sites.length ? String(sites.length) : "";
    body.innerHTML = sites.map(function (s) {
      const op = Array.from(H.ops.values()).find(o => o.site_code === s.code && !H.CLOSED.has(o.state));
      const ammo = Object.keys(s.ammunition || {}).map(k => esc(H.ammoLabel(k)) + " " + s.ammunition[k]).join("<br>") || "—";
      return '<tr data-site="' + esc(s.code) + '" data-readiness="' + esc(s.readiness) + '"><td><b>' + esc(s.code) + '</b><br><span class="muted small">' + esc(H.countyName(s.county)) +
        "</span></td><td>" + '<span class="readiness readiness-' + esc(s.readiness) + '">' + esc(H.label("readiness", s.readiness)) + "</span></td><td class=\"small\">" + ammo +
        "</td><td>" + (op ? H.stateBadge(op.state) : "—") + '</td><td class="small">' + (lastSign[s.code] ? H.bjt(lastSign[s.code]) : "—") + "</td></tr>";
    }).join("");
  }
  H.on("site.status", function (d, env) {
    const s = sites.find(x => x.code === d.code);
    if (s) s.readiness = d.readiness;
    noteSign(d.code, env.at);
    renderBoard();
  });

  // --- alerts ----------------------------------------------------------------------------------
  // The list is the server's (/api/alerts: from the audit log, worded from the catalogue,
  // stamped in the world's time — the drill clock inside a drill), so it survives a reload;
  // a live event that makes an alert fetches the list again.
  function renderAlerts(list) {
    const ul = document.getElementById("alerts");
    ul.innerHTML = list.length ? list.map(a => '<li class="' + esc(a.level) + '" data-alert="' + esc(a.id) + '" data-kind="' + esc(a.kind) +
      '"><span class="muted">' + H.bjt(a.at) + "</span> " + esc(a.text) + "</li>").join("")
      : '<li class="muted">' + esc(_("No alerts")) + "</li>";
  }
  let alertsTimer = null;
  async function loadAlerts() {
    const r = await H.api("GET", "/api/alerts");
    if (r.ok) renderAlerts(r.data.alerts);
  }
  function alertsLater() { clearTimeout(alertsTimer); alertsTimer = setTimeout(loadAlerts, 250); }

  // --- loading and live ------------------------------------------------------------------------
  const ALERTING = new Set(["deny", "revoke", "report", "recall"]);
  const DRILL_READINESS = new Set(["start-firing", "recall", "expire", "cancel"]);
  async function loadSites() {
    const r = await H.api("GET", "/api/sites");
    if (!r.ok) return;
    sites = r.data.sites;
    fillAmmo(document.getElementById("pf-site").value);
    renderBoard();
  }
  async function loadOps() {
    const r = await H.api("GET", "/api/operations");
    if (r.ok) r.data.operations.forEach(H.upsert);
  }
  async function loadArrivals() {
    const ids = Array.from(new Set(Array.from(H.ops.values()).filter(op => !H.CLOSED.has(op.state)).map(op => op.cell_id)));
    if (!ids.length) return;
    const r = await H.api("GET", "/api/cells/arrivals?cells=" + encodeURIComponent(ids.join(",")));
    if (r.ok) arrivals = Object.assign(arrivals, r.data.arrivals);
  }
  async function loadRecs() {
    const r = await H.api("GET", "/api/recommendations");
    recs = r.ok ? r.data : { cells: [], recommendations: [] };
    renderRecs();
  }
  H.on("operation.update", function (data) {
    const op = data.operation;
    const before = H.ops.get(op.id);
    if (!H.upsert(op)) return;
    if (ALERTING.has(data.action) || (op.state === "cleared" && (!before || before.state !== "cleared"))) alertsLater();
    // Inside a drill readiness follows the drill's operations (no site.status is sent).
    if (data.action === "report" || (H.boot.drill && DRILL_READINESS.has(data.action))) loadSites();
    if (!arrivals[op.cell_id]) loadArrivals().then(renderOps);
    renderOps(); renderRecs(); renderBoard();
  });
  H.on("operation.cease_fire", alertsLater);
  H.on("alert", function () { alertsLater(); H.beep(2); });
  H.on("warning.issue", alertsLater);
  H.on("cell.review", function (d) {
    alertsLater();
    // The storm's recommendations show the decision at once (a dismissal drops them).
    if (d.review === "dismissed") { loadRecs(); return; }
    ((recs && recs.cells) || []).forEach(c => { if (c.storm && c.storm.id === d.storm_id) { c.confirmed = d.review === "confirmed"; c.review = d.review; } });
    ((recs && recs.recommendations) || []).forEach(r => { if (r.storm && r.storm.id === d.storm_id) r.confirmed = d.review === "confirmed"; });
    renderRecs();
  });
  // A restock elsewhere (the readiness and restock screen) raises the stock on the board.
  H.on("site.stock", function (d, env) {
    const s = sites.find(x => x.code === d.code);
    if (s) { s.ammunition = Object.assign({}, d.stock); if (d.readiness) s.readiness = d.readiness; }
    noteSign(d.code, env.at);
    fillAmmo(document.getElementById("pf-site").value);
    renderBoard();
  });
  H.on("storm.update", function () { loadRecs(); loadOps().then(renderOps); });
  H.on("volume.new", function () { loadRecs(); loadArrivals().then(renderOps); });

  (async function start() {
    const seq = await H.currentSeq();
    const s = await H.api("GET", "/api/sites");
    sites = s.ok ? s.data.sites : [];
    fillSiteForm();
    await loadOps();
    await loadArrivals();
    renderOps();
    renderBoard();
    await loadAlerts();
    H.connect(seq);
    loadRecs();
  })();
})();
