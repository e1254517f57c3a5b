/* Live layers of the command map: a Socket.IO client on /live that keeps the map current.
 * Every event carries a sequence number; after a reconnect the client asks for what it
 * missed (auth.since), so nothing is lost on a flaky link. */
(function () {
  "use strict";
  const boot = window.HAILOPS;
  const map = window[boot.map];
  const zh = boot.locale === "zh";
  const T = (zhText, enText) => (zh ? zhText : enText);
  let lastSeq = Number(sessionStorage.getItem("hailops.lastSeq") || 0);

  // Beijing clock in the top bar.
  const clock = document.getElementById("bjt-clock");
  function tick() {
    if (!clock) return;
    const s = new Date().toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
    clock.textContent = s + " " + T("北京时间", "BJT");
  }
  tick(); setInterval(tick, 1000);

  // Connection status control.
  const Status = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "live-status");
      div.id = "live-status";
      div.textContent = T("实时连接中…", "connecting…");
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
      const names = { ready: T("就绪", "ready"), standby: T("待命", "standby"), firing: T("作业中", "firing"),
        offline: T("离线", "offline"), out_of_ammunition: T("弹药耗尽", "out of ammunition") };
      let html = "<b>" + T("作业点状态", "Site readiness") + "</b><br>";
      for (const k of Object.keys(boot.colours)) html += '<i style="background:' + boot.colours[k] + '"></i>' + names[k] + "<br>";
      if (boot.sampleRegistry) html += '<span class="sample-banner">' + T("示例作业点数据", "SAMPLE site data") + "</span>";
      div.innerHTML = html;
      return div;
    },
  });
  new Legend({ position: "bottomright" }).addTo(map);

  // Layers fed by live events.
  const cellsLayer = L.layerGroup().addTo(map);
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
  function cellPopup(p) {
    return "<b>" + p.id + "</b>" + (p.hail ? ' <span style="color:#e74c3c">' + T("冰雹", "HAIL") + "</span>" : "") +
      "<br>" + T("最大反射率", "max") + ": " + fmt(p.max_dbz, 1) + " dBZ" +
      "<br>MESH: " + fmt(p.mesh_mm, 1) + " mm · POSH: " + fmt(p.posh_pct, 0) + " %" +
      "<br>SHI: " + fmt(p.shi, 1) + " · POH: " + fmt(p.poh_pct, 0) + " %" +
      "<br>" + T("45 dBZ 顶高", "45 dBZ top") + ": " + fmt(p.top45_km, 1) + " km" +
      "<br>VIL: " + fmt(p.vil_kgm2, 1) + " kg/m² · VILD: " + fmt(p.vild_gm3, 2) + " g/m³" +
      "<br>" + T("面积", "area") + ": " + fmt(p.area_km2, 0) + " km²" +
      (p.criteria && p.criteria.length ? "<br>" + T("判据", "criteria") + ": " + p.criteria.join(", ") : "");
  }
  function showVolume(data) {
    cellsLayer.clearLayers();
    (data.cells || []).forEach(function (f) {
      const p = f.properties;
      L.geoJSON(f, { style: { color: meshColour(p.mesh_mm), weight: p.hail ? 3 : 1.5, fillOpacity: 0.25 } })
        .bindPopup(cellPopup(p)).addTo(cellsLayer);
    });
    for (const key of ["reflectivity", "mesh"]) {
      const prod = data.products && data.products[key];
      if (!prod) continue;
      if (overlays[key]) map.removeLayer(overlays[key]);
      overlays[key] = L.imageOverlay(prod.url, prod.bounds, { opacity: key === "mesh" ? 0.8 : 0.6 });
      if (key === "reflectivity") overlays[key].addTo(map);
    }
  }
  function siteStatus(data) {
    const name = boot.siteMarkers[data.code];
    const marker = name && window[name];
    if (marker) marker.setStyle({ fillColor: boot.colours[data.readiness] || "#bdc3c7" });
  }
  const handlers = { "volume.new": showVolume, "site.status": siteStatus };

  if (typeof io === "undefined") { setStatus(T("实时组件缺失", "live client missing"), false); return; }
  const socket = io("/live", {
    auth: function (cb) { cb({ since: lastSeq }); },
    transports: ["websocket", "polling"],
  });
  socket.on("connect", function () { setStatus(T("实时连接正常", "live") + " · #" + lastSeq, true); });
  socket.on("disconnect", function () { setStatus(T("连接中断，重连中…", "disconnected, reconnecting…"), false); });
  socket.on("connect_error", function (err) { setStatus(T("连接失败: ", "connection failed: ") + err.message, false); });
  socket.onAny(function (name, env) {
    if (!env || typeof env.seq !== "number") return;
    if (env.seq <= lastSeq) return; // already seen (catch-up overlap)
    lastSeq = env.seq;
    sessionStorage.setItem("hailops.lastSeq", String(lastSeq));
    setStatus(T("实时连接正常", "live") + " · #" + lastSeq, true);
    const h = handlers[name];
    if (h) h(env.data);
    document.dispatchEvent(new CustomEvent("hailops:" + name, { detail: env }));
  });
  fetch("/api/live/state", { credentials: "same-origin" }).then(r => r.ok ? r.json() : null).then(function (s) {
    if (!s) return;
    if (s.volume) showVolume(s.volume);
    if (typeof s.seq === "number" && s.seq > lastSeq) { lastSeq = s.seq; }
  });
  window.HAILOPS_SOCKET = socket;
})();
