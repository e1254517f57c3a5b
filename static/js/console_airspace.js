/* Airport ATC and military consoles: pending clearance requests drawn over the airport
 * control zone; grant (optionally narrowed), deny with a reason, revoke; alarm on a new
 * request. */
(function () {
  "use strict";
  const H = window.HO, _ = H._, esc = H.esc;
  const me = H.boot.authority;
  const other = me === "atc" ? "military" : "atc";
  const otherLabel = H.label("authority", other);
  let selected = null;
  let airport = null; // {lat, lon, icao, name_zh, name_en}
  /** Distance (km) and bearing (° from true north) from the airport to a point. */
  function fromAirport(lat, lon) {
    const R = 6371.0088, rad = Math.PI / 180;
    const p1 = airport.lat * rad, p2 = lat * rad, dp = (lat - airport.lat) * rad, dl = (lon - airport.lon) * rad;
    const h = Math.sin(dp / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
    const km = 2 * R * Math.asin(Math.sqrt(h));
    const y = Math.sin(dl) * Math.cos(p2), x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
    return { km, deg: (Math.atan2(y, x) / rad + 360) % 360 };
  }
  let focused = null; // the request the map was last fitted to (refit only on a new selection)
  const flashUntil = new Map();

  // --- map ---------------------------------------------------------------------------------
  const map = L.map("airspace-map", { zoomControl: true, attributionControl: false });
  map.setView([37.5, 111.2], 9);
  const sectorsLayer = L.layerGroup().addTo(map);
  window.HAILOPS_AIRSPACE_MAP = map;
  async function loadBase() {
    const [c, a] = await Promise.all([H.api("GET", "/api/counties"), H.api("GET", "/api/airspace")]);
    if (c.ok) {
      const layer = L.geoJSON(c.data, { style: { color: "#ffe8a3", weight: 1, fillColor: "#2d4a2b", fillOpacity: 0.25 },
        onEachFeature: (f, l) => l.bindTooltip(H.zh ? f.properties.name_zh : f.properties.name_en) }).addTo(map);
      map.fitBounds(layer.getBounds(), { animate: false });
    }
    if (a.ok) {
      airport = a.data.airport;
      renderAll();
      L.geoJSON(a.data.no_fire, { style: { color: "#e67e22", weight: 2, dashArray: "6 4", fillOpacity: 0.2 },
        onEachFeature: (f, l) => l.bindTooltip(H.zh ? f.properties.name_zh : f.properties.name_en) }).addTo(map);
      const ap = a.data.airport;
      L.marker([ap.lat, ap.lon], { icon: L.divIcon({ className: "airport-icon", html: "✈", iconSize: [22, 22], iconAnchor: [11, 11] }) })
        .bindTooltip((H.zh ? ap.name_zh : ap.name_en) + " (" + ap.icao + ")").addTo(map);
    }
  }
  function drawSectors() {
    sectorsLayer.clearLayers();
    let focus = null;
    visible().forEach(function (op) {
      if (!op.clearance_polygon) return;
      const pending = isPending(op);
      const colour = pending ? "#ff4d4f" : (op.state === "cleared" || op.state === "ordered" || op.state === "acknowledged" || op.state === "firing") ? "#2ecc71" : "#9fb3c8";
      const layer = L.geoJSON(op.clearance_polygon, { style: { color: colour, weight: op.id === selected ? 3 : 1.5,
        fillOpacity: op.id === selected ? 0.35 : 0.15 } })
        .bindTooltip(op.site_code + " · " + H.stateLabel(op.state) + " · ≤" + H.fmt(req(op).altitude.ceiling_m) + " m").addTo(sectorsLayer);
      L.circleMarker([req(op).lat, req(op).lon], { radius: 4, color: "#111", weight: 1, fillColor: colour, fillOpacity: 1 }).addTo(sectorsLayer);
      if (op.id === selected) focus = layer;
    });
    const wasFocused = focused;
    if (focus) focused = selected;
    if (wasFocused === focused) return;
    // No animation: Leaflet ignores a second zoom while one is animating.
    map.fitBounds(focus.getBounds().pad(1.2), { maxZoom: 11, animate: false });
  }

  // --- lists ---------------------------------------------------------------------------------
  const req = op => op.clearance_request;
  const clockOf = (op, who) => (op.approval_clock || {})[who || me] || {};
  function isPending(op) { return op.state === "clearance_requested" && clockOf(op).state === "pending"; }
  function visible() {
    const world = H.boot.drill ? H.boot.drill.id : null; // this page's world only: live, or its drill
    return Array.from(H.ops.values()).filter(op => op.clearance_request && (op.drill_id || null) === world);
  }
  function sectorsText(r) { return (r.sectors || []).map(s => H.fmt(s.start_deg) + "°–" + H.fmt(s.end_deg) + "°").join(", "); }
  function exportLinks(op) {
    const base = "/api/operations/" + encodeURIComponent(op.id) + "/clearance-request";
    return '<a href="' + base + '?format=text" target="_blank" rel="noopener">' + esc(_("QX/T 422 application")) +
      '</a> · <a href="' + base + '" target="_blank" rel="noopener">JSON</a>';
  }
  function details(op) {
    const r = req(op);
    return '<dl class="kv">' +
      "<dt>" + esc(_("Site")) + "</dt><dd><b>" + esc(r.site_code) + "</b> " + esc(r.site_name) + "</dd>" +
      "<dt>" + esc(_("Position")) + "</dt><dd>" + r.lon.toFixed(4) + "°E " + r.lat.toFixed(4) + "°N · " + H.fmt(r.site_elevation_m) + " m</dd>" +
      (airport ? (function () { const d = fromAirport(r.lat, r.lon);
        return "<dt>" + esc(_("From airport")) + '</dt><dd class="from-airport"><b>' + H.fmt(d.km, 1) + " km</b> · " + esc(_("bearing %(deg)s° (%(point)s)", { deg: H.fmt(d.deg), point: H.compass(d.deg) })) +
          " · " + esc(airport.icao) + "</dd>"; })() : "") +
      "<dt>" + esc(_("Weapon")) + "</dt><dd>" + esc(r.weapon_model || H.label("equipment", r.weapon)) + " · " + esc(_("range %(km)s km", { km: H.fmt(r.range_km, 1) })) + "</dd>" +
      "<dt>" + esc(_("Sector")) + "</dt><dd>" + esc(sectorsText(r)) + "</dd>" +
      "<dt>" + esc(_("Altitude")) + "</dt><dd><b>" + esc(_("%(m)s m ASL", { m: H.fmt(r.altitude.floor_m) + "–" + H.fmt(r.altitude.ceiling_m) })) + "</b></dd>" +
      "<dt>" + esc(_("Window")) + "</dt><dd><b>" + H.bjt(r.window.start).slice(0, 5) + "–" + H.bjt(r.window.end).slice(0, 5) + "</b> " + esc(_("BJT")) + "</dd>" +
      "<dt>" + esc(_("Requested by")) + "</dt><dd>" + esc(r.contact.name) + (r.contact.role === "commander" ? esc(_(" (commander)")) : "") + " " +
        (r.contact.phone ? '<a href="tel:' + esc(r.contact.phone) + '">' + esc(r.contact.phone) + "</a>" : esc(_("(no phone registered)"))) + "</dd>" +
      "</dl>";
  }
  /** The intersection granted so far, when the other authority narrowed it (issue 11). */
  function envelopeNote(op) {
    const env = op.envelope;
    if (!env || !(env.granted_by || []).length) return "";
    const n = env.narrowed_by || {};
    const parts = [];
    if (env.window) parts.push(_("window") + " " + H.bjt(env.window[0]).slice(0, 5) + "–" + H.bjt(env.window[1]).slice(0, 5) + (n.window ? " ▼" : ""));
    parts.push(_("ceiling %(m)s m ASL", { m: H.fmt(env.ceiling_m) }) + (n.ceiling_m ? " ▼" : ""));
    if (env.sectors) parts.push(_("sectors") + " " + env.sectors.map(s => H.fmt(s[0]) + "°–" + H.fmt(s[1]) + "°").join(", ") + (n.sectors ? " ▼" : ""));
    const narrowed = Object.keys(n).length > 0;
    return '<p class="small envelope" data-envelope="' + esc(op.id) + '"><b>' + esc(_("Cleared so far")) + "</b>" +
      (narrowed ? esc(_(" (▼ narrowed)")) : "") + ": " + esc(parts.join(" · ")) + "</p>";
  }
  function renderPending() {
    const list = visible().filter(isPending).sort((a, b) => (req(a).requested_at < req(b).requested_at ? -1 : 1));
    document.getElementById("pending-count").textContent = list.length ? String(list.length) : "";
    document.getElementById("pending-count").classList.toggle("hot", list.length > 0);
    const box = document.getElementById("pending");
    if (!list.length) { box.innerHTML = '<p class="muted">' + esc(_("No pending clearance requests")) + "</p>"; return; }
    if (!selected || !visible().some(o => o.id === selected)) selected = list[0].id;
    box.innerHTML = list.map(function (op) {
      const r = req(op), oc = clockOf(op, other);
      const fresh = (flashUntil.get(op.id) || 0) > Date.now();
      return '<article class="req-card' + (op.id === selected ? " selected" : "") + (fresh ? " flashing" : "") + '" data-op="' + esc(op.id) + '">' +
        '<header><b>' + esc(r.site_code) + "</b> " + H.stateBadge(op.state) + ' <span class="req-clock">' + esc(_("waiting")) + " " + H.approvalCell(op, me) + "</span></header>" +
        details(op) +
        '<p class="small">' + esc(otherLabel) + ": " + H.approvalCell(op, other) + (oc.state === "granted" ? " ✓" : "") + "</p>" +
        envelopeNote(op) +
        '<form class="grant-form form-grid compact" data-op="' + esc(op.id) + '">' +
        "<label>" + esc(_("Window end (narrow)")) + ' <input type="text" inputmode="numeric" pattern="[0-2][0-9]:[0-5][0-9]" placeholder="HH:MM" name="end" value="' + H.bjt(r.window.end).slice(0, 5) + '"></label>' +
        "<label>" + esc(_("Ceiling m ASL (lower)")) + ' <input type="number" name="ceiling_m" min="0" step="100" value="' + Math.round(r.altitude.ceiling_m) + '"></label>' +
        '<div class="row"><button type="submit" class="ok" data-do="grant">' + esc(_("Grant")) + '</button> <button type="button" class="danger" data-do="deny">' +
        esc(_("Deny")) + "</button></div></form>" +
        '<p class="small">' + exportLinks(op) + "</p></article>";
    }).join("");
  }
  function renderActive() {
    const list = visible().filter(op => !isPending(op) && !H.CLOSED.has(op.state))
      .concat(visible().filter(op => H.CLOSED.has(op.state)).sort((a, b) => (a.deadline < b.deadline ? 1 : -1)).slice(0, 8));
    const box = document.getElementById("active");
    if (!list.length) { box.innerHTML = '<p class="muted">' + esc(_("None")) + "</p>"; return; }
    box.innerHTML = '<table class="grid compact"><thead><tr><th>' + esc(_("Site")) + "</th><th>" + esc(_("State")) + "</th><th>" +
      esc(_("Cleared window")) + "</th><th>" + esc(_("Ceiling")) + "</th><th>" + esc(_("Mine")) + "</th><th>" + esc(otherLabel) +
      "</th><th>" + esc(_("Ends in")) + "</th><th></th></tr></thead><tbody>" + list.map(function (op) {
        const c = op.cleared, mine = clockOf(op).state;
        const canRevoke = mine === "granted" && ["clearance_requested", "cleared", "ordered", "acknowledged", "firing"].includes(op.state);
        return '<tr data-op="' + esc(op.id) + '"><td><b>' + esc(op.site_code) + "</b>" + (op.storm_name ? '<br><span class="muted small storm-name">' + esc(H.stormName(op)) + "</span>" : "") + "</td><td>" + H.stateBadge(op.state) + (op.cease_fire ? ' <span class="state state-recalled">' + esc(_("cease-fire")) + "</span>" : "") +
          "</td><td>" + (c ? H.bjt(c.window[0]).slice(0, 5) + "–" + H.bjt(c.window[1]).slice(0, 5) : "—") + "</td><td>" + (c ? esc(_("%(m)s m ASL", { m: H.fmt(c.ceiling_m) })) + (c.standing ? " " + esc(_("(standing agreement)")) : "") : "—") +
          "</td><td>" + H.approvalCell(op, me) + "</td><td>" + H.approvalCell(op, other) + "</td><td>" +
          (H.CLOSED.has(op.state) ? "—" : '<span class="countdown" data-until="' + esc(op.deadline) + '"></span>') + "</td><td>" +
          (canRevoke ? '<button type="button" class="danger" data-do="revoke">' + esc(_("Revoke clearance")) + "</button> " : "") +
          '<a class="small" href="/api/operations/' + encodeURIComponent(op.id) + '/clearance-request?format=text" target="_blank" rel="noopener">QX/T 422</a></td></tr>';
      }).join("") + "</tbody></table>";
  }
  function renderAll() { renderPending(); renderActive(); drawSectors(); document.dispatchEvent(new CustomEvent("hailops:tick")); }

  // --- actions -------------------------------------------------------------------------------
  document.getElementById("pending").addEventListener("click", async function (ev) {
    const card = ev.target.closest(".req-card");
    if (!card) return;
    const op = H.ops.get(card.dataset.op);
    const btn = ev.target.closest("button[data-do=deny]");
    if (!btn) {
      if (!ev.target.closest("form, a") && selected !== op.id) { selected = op.id; renderAll(); }
      return;
    }
    const reason = await H.askReason(_("Deny clearance for %(site)s", { site: op.site_code }));
    if (!reason) return;
    const done = await H.act(btn, "POST", "/api/operations/" + encodeURIComponent(op.id) + "/deny", { reason },
      op.id + ":deny:" + op.history.length, _("Denied: %(site)s", { site: op.site_code }));
    if (done) { H.upsert(done); renderAll(); }
  });
  document.getElementById("pending").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const form = ev.target, op = H.ops.get(form.dataset.op), r = req(op);
    const body = {};
    const origEnd = H.bjt(r.window.end).slice(0, 5);
    if (form.end.value && form.end.value !== origEnd) {
      let end = H.bjtToIso(form.end.value, false);
      if (new Date(end) < new Date(r.window.start)) end = new Date(new Date(end).getTime() + 86400000).toISOString();
      body.window = [r.window.start, end];
    }
    const ceiling = Number(form.ceiling_m.value);
    if (form.ceiling_m.value && Math.abs(ceiling - r.altitude.ceiling_m) >= 1) body.ceiling_m = ceiling;
    const done = await H.act(form.querySelector("button[type=submit]"), "POST", "/api/operations/" + encodeURIComponent(op.id) + "/grant", body,
      op.id + ":grant:" + op.history.length, _("Granted: %(site)s", { site: op.site_code }));
    if (done) { H.upsert(done); renderAll(); }
  });
  document.getElementById("active").addEventListener("click", async function (ev) {
    const btn = ev.target.closest("button[data-do=revoke]");
    if (!btn) return;
    const op = H.ops.get(btn.closest("tr").dataset.op);
    const reason = await H.askReason(_("Revoke clearance (immediate cease-fire)") + " · " + op.site_code, false);
    if (reason === null) return;
    const done = await H.act(btn, "POST", "/api/operations/" + encodeURIComponent(op.id) + "/revoke", { reason },
      op.id + ":revoke:" + op.history.length, _("Revoked: %(site)s", { site: op.site_code }));
    if (done) { H.upsert(done); renderAll(); }
  });

  // --- standing agreements ------------------------------------------------------------------
  let agreements = [];
  async function loadAgreements() {
    const r = await H.api("GET", "/api/standing-agreements");
    agreements = r.ok ? r.data.agreements : [];
    renderAgreements();
  }
  function renderAgreements() {
    const box = document.getElementById("agreements");
    const hours = a => (a.daily_start === a.daily_end ? _("all day") : String(a.daily_start).slice(0, 5) + "–" + String(a.daily_end).slice(0, 5));
    box.innerHTML = agreements.length ? '<table class="grid compact"><thead><tr><th>' + esc(_("Site")) + "</th><th>" + esc(_("Authority")) + "</th><th>" +
      esc(_("Sectors")) + "</th><th>" + esc(_("Ceiling")) + "</th><th>" + esc(_("Daily (BJT)")) + "</th><th></th></tr></thead><tbody>" +
      agreements.map(a => '<tr data-id="' + esc(a.id) + '"><td><b>' + esc(a.site_code) + "</b></td><td>" + esc(H.label("authority", a.authority)) +
        "</td><td>" + esc(sectorsText(a)) + "</td><td>" + H.fmt(a.ceiling_m) + " m</td><td>" + esc(hours(a)) + "</td><td>" +
        (a.authority === me ? '<button type="button" class="secondary" data-do="revoke-agreement">' + esc(_("Revoke")) + "</button>" : "") + "</td></tr>").join("") +
      "</tbody></table>" : '<p class="muted">' + esc(_("No standing agreements")) + "</p>";
  }
  document.getElementById("agreements").addEventListener("click", async function (ev) {
    const btn = ev.target.closest("button[data-do=revoke-agreement]");
    if (!btn) return;
    const id = btn.closest("tr").dataset.id;
    if (await H.act(btn, "DELETE", "/api/standing-agreements/" + encodeURIComponent(id), {}, "agreement-revoke:" + id, _("Agreement revoked"))) loadAgreements();
  });
  const agForm = document.getElementById("agreement-form");
  agForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const sectors = agForm.sectors.value.split(",").map(s => s.split("-").map(Number));
    const body = { site_code: agForm.site_code.value, sectors, ceiling_m: Number(agForm.ceiling_m.value),
      daily_start: agForm.daily_start.value || "00:00", daily_end: agForm.daily_end.value || "00:00" };
    if (await H.act(document.getElementById("ag-submit"), "POST", "/api/standing-agreements", body, "agreement:" + JSON.stringify(body), _("Agreement added"))) loadAgreements();
  });
  async function loadSites() {
    const r = await H.api("GET", "/api/sites");
    const sites = r.ok ? r.data.sites : [];
    document.getElementById("ag-site").innerHTML = sites.map(s => '<option value="' + esc(s.code) + '">' + esc(s.code + " " + s.name) + "</option>").join("");
  }
  H.on("agreement.update", loadAgreements);

  // --- live ----------------------------------------------------------------------------------
  H.on("operation.update", function (data) {
    const op = data.operation;
    const before = H.ops.get(op.id);
    if (!H.upsert(op)) return;
    if (isPending(op) && (!before || !isPending(before))) {
      flashUntil.set(op.id, Date.now() + 15000);
      selected = op.id;
      H.alarm(_("New clearance request:") + " " + op.site_code + " " + H.bjt(req(op).window.start).slice(0, 5) + "–" +
        H.bjt(req(op).window.end).slice(0, 5) + " ≤" + H.fmt(req(op).altitude.ceiling_m) + " m", { pulses: 4 });
      setTimeout(renderAll, 15100);
    }
    if (!visible().some(isPending)) H.clearAlarm();
    renderAll();
  });
  H.on("alert", function (d) { if (d.kind && d.kind.indexOf("clearance") >= 0) { H.toast((d.site_code ? d.site_code + " " : "") + H.label("alert", d.kind), "warn"); H.beep(2); } });

  (async function start() {
    const seq = await H.currentSeq();
    await loadBase();
    const r = await H.api("GET", "/api/operations");
    if (r.ok) r.data.operations.forEach(H.upsert);
    renderAll();
    H.connect(seq);
    loadSites();
    loadAgreements();
  })();
})();
