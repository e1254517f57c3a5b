/* Live layers of the command map: a Socket.IO client on /live that keeps the map current.
 * Every event carries a sequence number; after a reconnect the client asks for what it
 * missed (auth.since), so nothing is lost on a flaky link. */
(function () {
  "use strict";

  const fresh = window.HailopsSeq.fresh;
  const boot = window.HAILOPS;
  const map = window[boot.map];
  // The one vocabulary served by the server (the consoles use the same labels).
  const VOCAB = boot.vocab || {};
  function vlabel(kind, code) { const v = VOCAB[kind] || {}; return v[code] != null ? v[code] : String(code).replace(/_/g, " "); }
  // Every sentence from the translation catalogue (boot.i18n, served for this script).
  const I18N = boot.i18n || {};
  function _(msgid, params) {
    const s = I18N[msgid] ? I18N[msgid] : msgid;
    return params ? s.replace(/%\((\w+)\)s/g, (m, k) => (params[k] != null ? String(params[k]) : m)) : s;
  }
  // A drill's map (``?drill=ID``, also inside a drill console's frame) shows that drill only;
  // the embedded map (``?embed=1``) sits in a console, which offers drills itself.
  const chosenDrill = boot.drill || new URLSearchParams(location.search).get("drill");
  const embedded = !!boot.embed;
  const esc = v => String(v == null ? "" : v).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const seqKey = "hailops.lastSeq" + (chosenDrill ? ":" + chosenDrill : "");
  let lastSeq = Number(sessionStorage.getItem(seqKey) || 0);

  // Beijing clock in the top bar.
  const clock = document.getElementById("bjt-clock");
  function tick() {
    if (!clock) return;
    // A joined drill shows its own clock (drill time, Beijing time) beside the DRILL marker.
    const dc = window.HAILOPS_DRILL_CLOCK;
    const now = dc ? new Date(dc.t + (Date.now() - dc.at) * dc.speed) : new Date();
    const s = now.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
    clock.textContent = (dc ? _("DRILL") + " " : "") + s + " " + _("BJT");
  }
  tick(); setInterval(tick, 1000);

  // Connection status control.
  const Status = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "live-status");
      div.id = "live-status";
      div.textContent = _("connecting…");
      return div;
    },
  });
  new Status({ position: "bottomleft" }).addTo(map);
  const statusEl = () => document.getElementById("live-status");
  function setStatus(text, ok) {
    const el = statusEl();
    if (!el) return;
    el.textContent = text;
    el.style.borderLeft = "4px solid " + (ok ? "#2ecc71" : "#e74c3c");
  }

  // Legend.
  const Legend = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "legend");
      const names = VOCAB.readiness || {};
      // A drill's map draws the sites without their live readiness: no readiness legend.
      let html = chosenDrill ? "" : "<b>" + _("Site readiness") + "</b><br>";
      if (!chosenDrill) for (const k of Object.keys(boot.colours)) html += '<i data-colour="' + k + '"></i>' + names[k] + "<br>";
      if (boot.sampleRegistry) html += '<span class="sample-banner">' + _("SAMPLE site data") + "</span>";
      div.innerHTML = html;
      // Colours through the CSSOM: the CSP applies no style="" attribute.
      div.querySelectorAll("i[data-colour]").forEach(function (i) { i.style.background = boot.colours[i.dataset.colour]; });
      return div;
    },
  });
  new Legend({ position: "bottomright" }).addTo(map);

  // Layers fed by live events.
  const cellsLayer = L.layerGroup().addTo(map);
  const liveControl = L.control.layers(null, null, { collapsed: true, position: "topleft" }).addTo(map);
  // One layer control: the server-drawn layers (counties, airport zone, radar, sites) join it.
  Object.keys(boot.baseLayers || {}).forEach(function (v) { if (window[v]) liveControl.addOverlay(window[v], boot.baseLayers[v]); });
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  // Colour bars of the reflectivity and MESH overlays, shown while the overlay is on.
  const scaleBox = L.control({ position: "bottomright" });
  scaleBox.onAdd = function () { const d = L.DomUtil.create("div", "legend scales"); d.id = "product-scales"; d.style.display = "none"; return d; };
  scaleBox.addTo(map);
  function renderScales() {
    const box = document.getElementById("product-scales");
    if (!box) return;
    const titles = { reflectivity: _("Composite reflectivity"), mesh: _("MESH (max hail size)") };
    let html = "";
    for (const key of ["reflectivity", "mesh"]) {
      const sc = (boot.scales || {})[key];
      if (!sc || !overlays[key] || !map.hasLayer(overlays[key])) continue;
      html += '<div class="scale" data-scale="' + key + '"><b>' + titles[key] + "</b> (" + sc.unit + ')<div class="bar">' +
        sc.colours.map((c, i) => '<span data-colour="' + c + '" title="≥ ' + sc.bounds[Math.min(i, sc.bounds.length - 1)] + '"></span>').join("") +
        '</div><div class="ticks">' + sc.bounds.filter((b, i) => i % 2 === 0).map(b => "<span>" + b + "</span>").join("") + "</div></div>";
    }
    box.innerHTML = html;
    box.querySelectorAll("span[data-colour]").forEach(function (el) { el.style.background = el.dataset.colour; });
    box.style.display = html ? "" : "none";
  }
  map.on("overlayadd overlayremove", renderScales);
  const CRITERIA = { mesh: "MESH", posh: "POSH", "top45-h0": _("45 dBZ top above H0"),
    top45: _("45 dBZ top"), vil: "VIL", vild: _("VIL density"), composite: _("composite reflectivity") };
  function criterionLabel(c) {
    const m = /^([a-z0-9-]+)>=(.+)$/.exec(c);
    return m ? (CRITERIA[m[1]] || m[1]) + " ≥ " + m[2] : c;
  }
  const tracksLayer = L.layerGroup().addTo(map);
  const conesLayer = L.layerGroup().addTo(map);
  const overlays = {};
  function meshColour(mesh) {
    if (mesh == null) return "#9b59b6";
    if (mesh >= 50) return "#ff00ff";
    if (mesh >= 30) return "#e74c3c";
    if (mesh >= 19) return "#e67e22";
    if (mesh >= 10) return "#f1c40f";
    return "#2ecc71";
  }
  function fmt(v, d) { return v == null ? "—" : Number(v).toFixed(d); }
  /** The storm's one name (issue 11), as in every console: the server's ``storm_name``. */
  function stormName(p) { return p.storm_name || p.id; }
  function cellPopup(p) {
    return '<b class="storm-name">' + esc(stormName(p)) + "</b>" + (p.hail ? ' <span class="hail-tag">' + _("HAIL") + "</span>" : "") +
      (p.storm_review ? ' <span class="review review-' + esc(p.storm_review) + '">' + esc(vlabel("review", p.storm_review)) + "</span>" : "") +
      "<br>" + _("max reflectivity") + ": " + fmt(p.max_dbz, 1) + " dBZ" +
      "<br>MESH: " + fmt(p.mesh_mm, 1) + " mm · POSH: " + fmt(p.posh_pct, 0) + " %" +
      "<br>SHI: " + fmt(p.shi, 1) + " · POH: " + fmt(p.poh_pct, 0) + " %" +
      "<br>" + _("45 dBZ top") + ": " + fmt(p.top45_km, 1) + " km" +
      "<br>VIL: " + fmt(p.vil_kgm2, 1) + " kg/m² · VILD: " + fmt(p.vild_gm3, 2) + " g/m³" +
      "<br>" + _("area") + ": " + fmt(p.area_km2, 0) + " km²" +
      (p.criteria && p.criteria.length ? "<br>" + _("criteria") + ": " + p.criteria.map(criterionLabel).join(_(", ")) : "");
  }
  function showTracks(tracks, hailCells) {
    tracksLayer.clearLayers();
    conesLayer.clearLayers();
    (tracks || []).forEach(function (t) {
      if (hailCells && !hailCells.has(t.cell_id)) return; // cones for hail cells only
      if (t.history && t.history.length > 1) {
        L.polyline(t.history.map(p => [p[1], p[0]]), { color: "#ffffff", weight: 2, dashArray: "4 3" })
          .bindTooltip(esc(t.storm_name || t.id)).addTo(tracksLayer);
      }
      const steps = (t.nowcast && t.nowcast.steps) || [];
      // Without clutter: one cone (the 30-min forecast, or the nearest lead) per hail track;
      // every lead time with its details when the track is selected.
      const main = steps.filter(st => st.lead_min <= 30).pop() || steps[0];
      if (main) {
        L.geoJSON(main.polygon, { style: { color: "#ff9f43", weight: 1, fillOpacity: 0.08, dashArray: "3 3" } })
          .bindTooltip(esc(t.storm_name || t.id) + " +" + _("%(n)s min", { n: main.lead_min }))
          .on("click", function (ev) { L.DomEvent.stopPropagation(ev); selectTrack(t); }).addTo(conesLayer);
      }
      if (steps.length) {
        const last = steps[steps.length - 1];
        L.polyline([[t.history[t.history.length - 1][1], t.history[t.history.length - 1][0]],
                    [last.centroid[1], last.centroid[0]]], { color: "#ff9f43", weight: 2 }).addTo(conesLayer);
      }
    });
  }
  const selectedLayer = L.layerGroup().addTo(map);
  function selectTrack(t) {
    selectedLayer.clearLayers();
    ((t.nowcast && t.nowcast.steps) || []).slice().reverse().forEach(function (st) {
      L.geoJSON(st.polygon, { style: { color: "#ffd166", weight: 1.5, fillOpacity: 0.05 } })
        .bindTooltip(esc(t.storm_name || t.id) + " +" + _("%(n)s min", { n: st.lead_min }), { permanent: st === t.nowcast.steps[t.nowcast.steps.length - 1] }).addTo(selectedLayer);
    });
  }
  map.on("click", function () { selectedLayer.clearLayers(); });
  const volumeLabel = L.control({ position: "topright" });
  // Hidden until a volume is shown (an empty box otherwise).
  volumeLabel.onAdd = function () { const d = L.DomUtil.create("div", "live-status"); d.id = "volume-label"; d.style.display = "none"; return d; };
  volumeLabel.addTo(map);
  function bjt(iso) {
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  let shown = null; // the volume on screen, refreshed when a storm is reviewed or renamed
  function showVolume(data) {
    shown = data && data.volume_id ? { id: data.volume_id, drill: data.drill_id } : shown;
    const label = document.getElementById("volume-label");
    if (label) {
      label.style.display = "";
      const hail = (data.cells || []).filter(f => f.properties.hail).length;
      label.innerHTML = (data.drill_id ? '<span class="drill-banner">' + _("DRILL data") + "</span><br>" : "") + (data.replay ? '<span class="sample-banner">' + _("DEMO replay: Canberra hail event 2018-12-20, relocated over the local radar") + "</span><br>" : "") +
        (data.drill_id ? _("Drill radar time") : _("Radar volume")) + " " + bjt(data.scan_time) + " " + _("BJT") +
        "<br>" + _("cells") + " " + (data.cells || []).length + " · " + _("hail cells") + " " + hail +
        (data.levels ? "<br>H0 " + Math.round(data.levels.h0_m) + " m · H-20 " + Math.round(data.levels.h20_m) + " m" : "");
    }
    showTracks(data.tracks, new Set((data.cells || []).filter(f => f.properties.hail).map(f => f.properties.id)));
    cellsLayer.clearLayers();
    (data.cells || []).forEach(function (f) {
      const p = f.properties;
      L.geoJSON(f, { style: { color: meshColour(p.mesh_mm), weight: p.hail ? 3 : 1.5, fillOpacity: 0.25 } })
        .bindPopup(cellPopup(p)).bindTooltip(esc(stormName(p)), { sticky: true }).addTo(cellsLayer);
    });
    for (const key of ["reflectivity", "mesh"]) {
      const prod = data.products && data.products[key];
      if (!prod) continue;
      const shown = overlays[key] ? map.hasLayer(overlays[key]) : key === "reflectivity";
      if (overlays[key]) { map.removeLayer(overlays[key]); liveControl.removeLayer(overlays[key]); }
      overlays[key] = L.imageOverlay(prod.url, prod.bounds, { opacity: key === "mesh" ? 0.8 : 0.6 });
      liveControl.addOverlay(overlays[key], key === "mesh" ? _("MESH (max hail size)") : _("Composite reflectivity"));
      if (shown) overlays[key].addTo(map);
    }
    renderScales();
  }
  function siteStatus(data) {
    const name = boot.siteMarkers[data.code];
    const marker = name && window[name];
    if (marker && !chosenDrill) marker.setStyle({ fillColor: boot.colours[data.readiness] || "#bdc3c7" });
  }
  // Operations: clearance sectors coloured by state, with the site, state and clocks.
  const opsLayer = L.layerGroup().addTo(map);
  liveControl.addOverlay(cellsLayer, _("Hail cells"));
  liveControl.addOverlay(tracksLayer, _("Tracks"));
  liveControl.addOverlay(conesLayer, _("Nowcast cones"));
  liveControl.addOverlay(opsLayer, _("Operations and clearance sectors"));
  const opLayers = {};
  const OP_COLOURS = { clearance_requested: "#f1c40f", cleared: "#2ecc71", ordered: "#e67e22",
    acknowledged: "#e67e22", firing: "#e74c3c", completed: "#95a5a6", denied: "#7f8c8d",
    recalled: "#8e44ad", expired: "#7f8c8d", cancelled: "#7f8c8d" };
  function showOperation(data) {
    const op = data.operation || data;
    if (!op || !op.id) return;
    if (opLayers[op.id]) { opsLayer.removeLayer(opLayers[op.id]); delete opLayers[op.id]; }
    if (!op.clearance_polygon) return;
    const colour = OP_COLOURS[op.state] || "#bdc3c7";
    const label = op.site_code + " · " + vlabel("state", op.state) +
      (op.drill_id ? " · " + _("DRILL") : "");
    opLayers[op.id] = L.geoJSON(op.clearance_polygon, { style: { color: colour, weight: 2, fillOpacity: 0.15,
      dashArray: op.state === "clearance_requested" ? "6 4" : null } }).bindTooltip(label).addTo(opsLayer);
  }

  // Drills: a running drill is joined and shown under a DRILL banner; it never mixes with
  // live data in the server (separate rooms), only on this screen, clearly marked.
  const banner = L.control({ position: "topright" });
  banner.onAdd = function () { const d = L.DomUtil.create("div", "drill-banner"); d.id = "drill-banner"; d.style.display = "none"; return d; };
  banner.addTo(map);
  let joinedDrill = null;
  // The map joins the drill the user chose (``/?drill=ID``), never one by itself; a live
  // map shows no drill data, only an invitation to join each running drill (not when
  // embedded: the console around it offers the drills).
  function inviteDrills(drills) {
    const el = document.getElementById("drill-banner");
    if (chosenDrill || embedded || !el) return;
    const running = (drills || []).filter(d => d.state === "running" || d.state === "paused");
    el.style.display = running.length ? "block" : "none";
    el.innerHTML = running.map(d => esc(_("Drill running")) + " " + esc(d.id) + " · " + esc(d.event) +
      ' — <a href="/?drill=' + encodeURIComponent(d.id) + '">' + esc(_("join")) + "</a>").join("<br>");
  }
  function joinDrill(drill) {
    if (!drill || drill.id !== chosenDrill || joinedDrill === drill.id || !window.HAILOPS_SOCKET) return;
    joinedDrill = drill.id;
    window.HAILOPS_SOCKET.emit("join_drill", { drill_id: drill.id });
    const el = document.getElementById("drill-banner");
    el.style.display = "block";
    // Embedded, the console around the map names the drill: a short marker is enough.
    el.textContent = embedded ? _("DRILL") : _("DRILL") + " " + drill.id + " · " + (boot.drillTitle || drill.event) + " · " + drill.speed + "×";
    fetch("/api/drills/" + drill.id + "/state", { credentials: "same-origin" }).then(r => r.ok ? r.json() : null).then(function (st) {
      if (!st) return;
      window.HAILOPS_DRILL_CLOCK = { at: Date.now(), t: Date.parse(st.drill.drill_time),
        speed: st.drill.state === "running" ? Number(st.drill.speed) || 1 : 0 };
      if (st.volume) showVolume(st.volume);
      refreshVolumes();
      (st.operations || []).forEach(showOperation);
    });
  }
  function drillState(data) {
    if (!chosenDrill) { fetch("/api/drills", { credentials: "same-origin" }).then(r => r.ok ? r.json() : { drills: [] }).then(j => inviteDrills(j.drills)); return; }
    if (data.state === "running" && data.drill_id) {
      joinDrill({ id: data.drill_id, event: data.event || "", speed: data.speed || "" });
    } else if (data.drill_id === joinedDrill && (data.state === "completed" || data.state === "stopped")) {
      const el = document.getElementById("drill-banner");
      el.textContent = _("drill ended") + " " + joinedDrill;
      joinedDrill = null;
    }
  }
  // volume.new is a summary with the volume's URL: fetch the cells, tracks and nowcasts.
  let newestPushed = 0;
  function newVolume(d) {
    newestPushed = Math.max(newestPushed, d.volume_id);
    fetch(d.url, { credentials: "same-origin" }).then(r => r.ok ? r.json() : null).then(function (v) {
      if (v && v.volume_id === newestPushed) showVolume(v); // a slower, older answer is dropped
    });
  }
  /** A storm reviewed or renamed: the volume on screen shows its new state and name. */
  function stormChanged() {
    if (!shown) return;
    const id = shown.id;
    fetch("/api/volumes/" + id + (shown.drill ? "?drill=" + encodeURIComponent(shown.drill) : ""), { credentials: "same-origin" })
      .then(r => r.ok ? r.json() : null).then(v => { if (v && shown && v.volume_id === shown.id) showVolume(v); });
  }
  const handlers = { "volume.new": newVolume, "site.status": siteStatus,
    "operation.update": showOperation, "drill.state": drillState,
    "cell.review": stormChanged, "storm.update": stormChanged };

  if (typeof io === "undefined") { setStatus(_("live client missing"), false); return; }
  const socket = io("/live", {
    auth: function (cb) { cb(Object.assign({ since: window.HailopsSeq.resumeFrom(lastSeq) }, chosenDrill ? { drill: chosenDrill } : {})); },
    transports: ["websocket", "polling"],
  });
  // Catch-up pages, gap detection and the sequence heartbeat (seq.js).
  const seqSync = window.HailopsSeq.attach(socket, {
    get: function () { return lastSeq; },
    set: function (v) { lastSeq = v; sessionStorage.setItem(seqKey, String(lastSeq)); },
  });
  socket.on("connect", function () { setStatus(_("live") + " · #" + lastSeq, true); });
  socket.on("disconnect", function () { setStatus(_("disconnected, reconnecting…"), false); });
  socket.on("connect_error", function (err) { setStatus(_("connection failed:") + " " + err.message, false); });
  socket.onAny(function (name, env) {
    if (!env || typeof env.seq !== "number") return;
    if (!fresh(env.seq)) return; // already seen (catch-up overlap, several rooms)
    seqSync.observe(env.seq);
    lastSeq = Math.max(lastSeq, env.seq);
    sessionStorage.setItem(seqKey, String(lastSeq));
    setStatus(_("live") + " · #" + lastSeq, true);
    const h = handlers[name];
    if (h && !(name === "volume.new" && !following)) h(env.data);
    document.dispatchEvent(new CustomEvent("hailops:" + name, { detail: env }));
  });
  if (!chosenDrill) fetch("/api/live/state", { credentials: "same-origin" }).then(r => r.ok ? r.json() : null).then(function (s) {
    if (!s) return;
    if (s.volume) showVolume(s.volume);
    if (typeof s.seq === "number" && s.seq > lastSeq) { lastSeq = s.seq; }
  });
  // Time slider: step back through the last two hours of volumes.
  const slider = L.control({ position: "bottomleft" });
  slider.onAdd = function () {
    const d = L.DomUtil.create("div", "live-status vol-history");
    d.innerHTML = esc(_("History")) + ' <input id="vol-slider" class="vol-slider" type="range" min="0" max="0" value="0"> <span id="vol-slider-label">' + esc(_("latest")) + "</span>";
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  slider.addTo(map);
  let volumes = [];
  let following = true;
  function refreshVolumes() {
    const scope = joinedDrill ? "?drill=" + encodeURIComponent(joinedDrill) : "";
    return fetch("/api/volumes" + scope, { credentials: "same-origin" }).then(r => r.ok ? r.json() : { volumes: [] }).then(function (j) {
      volumes = j.volumes || [];
      const input = document.getElementById("vol-slider");
      input.max = String(Math.max(0, volumes.length - 1));
      if (following) input.value = input.max;
    });
  }
  // A drill's map lists the drill's volumes once joined, never the live ones meanwhile.
  if (!chosenDrill) refreshVolumes();
  document.getElementById("vol-slider").addEventListener("input", function (ev) {
    const i = Number(ev.target.value);
    following = i >= volumes.length - 1;
    const label = document.getElementById("vol-slider-label");
    if (following) { label.textContent = _("latest"); }
    const v = volumes[i];
    if (!v) return;
    if (!following) label.textContent = bjt(v.scan_time);
    fetch("/api/volumes/" + v.id + (joinedDrill ? "?drill=" + encodeURIComponent(joinedDrill) : ""), { credentials: "same-origin" }).then(r => r.json()).then(showVolume);
  });
  document.addEventListener("hailops:volume.new", function () { refreshVolumes(); });
  window.HAILOPS_SOCKET = socket;
  socket.on("connect", function () {
    const again = joinedDrill; joinedDrill = null;
    fetch("/api/drills", { credentials: "same-origin" }).then(r => r.ok ? r.json() : { drills: [] }).then(function (j) {
      const chosen = (j.drills || []).find(d => d.id === chosenDrill);
      if (chosen) joinDrill(chosen); else inviteDrills(j.drills);
      if (again && !chosen) joinedDrill = null;
    });
  });
})();
