/* Office layers of the command map: neighbouring cities (joint defence), ground hail reports
 * (降雹实况) and storm handover notices, kept current by the live client's DOM events
 * (hailops:hail.report, hailops:handover.*).  DOM text is set with textContent (no HTML
 * built from data). */
(function () {
  "use strict";
  const boot = window.HAILOPS;
  if (!boot || !window[boot.map]) return;
  const map = window[boot.map];
  const zh = boot.locale === "zh";
  // Sentences from the translation catalogue (boot.i18n, served for the map's scripts).
  const I18N = boot.i18n || {};
  const _ = (msgid) => (I18N[msgid] ? I18N[msgid] : msgid);
  const SIZE_COLOURS = { graupel: "#b3e5fc", small: "#4fc3f7", medium: "#ffb300", large: "#e53935", giant: "#8e24aa" };
  const neighbours = L.layerGroup().addTo(map);
  const reports = L.layerGroup().addTo(map);
  const handovers = L.layerGroup().addTo(map);
  const seen = new Set();
  function bjt(iso) {
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  function popup(lines) {
    const div = document.createElement("div");
    for (const line of lines) { const p = document.createElement("div"); p.textContent = line; div.appendChild(p); }
    return div;
  }
  function addReport(r) {
    if (!r || seen.has("r" + r.id)) return;
    seen.add("r" + r.id);
    const m = L.circleMarker([r.lat, r.lon], { radius: 7, color: "#fff", weight: 2,
      fillColor: SIZE_COLOURS[r.size_class] || "#fff", fillOpacity: 0.95 });
    m.bindPopup(popup([_("Hail report") + " · " + bjt(r.observed_at),
      (zh ? r.size_label_zh : r.size_class) + (r.place ? " · " + r.place : ""),
      _("reported by") + " " + r.reporter]));
    m.addTo(reports);
  }
  function addHandover(h) {
    if (!h || seen.has("h" + h.id + h.state)) return;
    seen.add("h" + h.id + h.state);
    const incoming = h.direction === "in";
    const m = L.marker([h.crossing_lat, h.crossing_lon], { icon: L.divIcon({ className: "handover-icon",
      html: "", iconSize: [18, 18] }) });
    m.bindPopup(popup([(incoming ? _("Incoming from") + " " : _("Handover to") + " ") +
      (zh ? h.neighbour_zh : h.neighbour_en), _("expected") + " " + bjt(h.crossing_at),
      "MESH " + (h.mesh_mm == null ? "—" : Math.round(h.mesh_mm) + " mm")]));
    m.on("add", function () {
      const node = m.getElement();
      if (node) { node.style.background = incoming ? "#ff7043" : "#26c6da"; node.style.borderRadius = "50%";
        node.style.border = "2px solid #fff"; node.title = incoming ? _("incoming handover") : _("outgoing handover"); }
    });
    m.addTo(handovers);
  }
  fetch("/api/office/neighbours", { credentials: "same-origin" }).then(r => r.ok ? r.json() : null).then(function (fc) {
    if (!fc) return;
    L.geoJSON(fc, { style: { color: "#9e9e9e", weight: 1.5, dashArray: "6 4", fill: false },
      onEachFeature: function (f, layer) {
        const li = f.properties.liaison;
        layer.bindTooltip((zh ? f.properties.name_zh : f.properties.name_en) +
          (li ? " · " + li.name + " " + li.phone : ""), { sticky: true });
      } }).addTo(neighbours);
  });
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  fetch("/api/office/ground-reports?since=" + encodeURIComponent(since), { credentials: "same-origin" })
    .then(r => r.ok ? r.json() : { reports: [] }).then(j => (j.reports || []).forEach(addReport));
  // Handover notices are not a county operator's (the API refuses them: no 403 to log).
  if ((boot.user || {}).role !== "county_operator") {
    fetch("/api/office/handovers", { credentials: "same-origin" })
      .then(r => r.ok ? r.json() : { handovers: [] }).then(j => (j.handovers || []).forEach(addHandover));
  }
  document.addEventListener("hailops:hail.report", ev => addReport(ev.detail.data));
  document.addEventListener("hailops:handover.received", ev => addHandover(ev.detail.data));
  document.addEventListener("hailops:handover.draft", ev => addHandover(ev.detail.data));
  document.addEventListener("hailops:handover.update", ev => addHandover(ev.detail.data));
})();
