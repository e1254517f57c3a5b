/* Member units: read-only overview (latest volume, operations by state, member units) and
 * bulletins (hail warnings, completed operations) as they happen. */
(function () {
  "use strict";
  const H = window.HO, _ = H._, esc = H.esc;
  const ORDER = ["proposed", "authorized", "clearance_requested", "cleared", "ordered", "acknowledged", "firing",
    "completed", "denied", "cancelled", "expired", "recalled"];
  let pending = null;

  function render(d) {
    const v = d.volume;
    document.getElementById("volume").innerHTML = v ? '<dl class="kv">' +
      "<dt>" + esc(_("Scan time")) + "</dt><dd>" + H.bjtDateTime(v.scan_time) + " " + esc(_("BJT")) + "</dd>" +
      "<dt>" + esc(_("Cells")) + "</dt><dd>" + v.cells + "</dd>" +
      "<dt>" + esc(_("Hail cells")) + "</dt><dd><b>" + v.hail_cells + "</b></dd>" +
      "<dt>" + esc(_("Max MESH")) + "</dt><dd>" + H.fmt(v.max_mesh_mm, 1) + " mm</dd>" +
      (v.levels ? "<dt>H0 / H-20</dt><dd>" + H.fmt(v.levels.h0_m) + " / " + H.fmt(v.levels.h20_m) + " m</dd>" : "") +
      "</dl>" : '<p class="muted">' + esc(_("No radar volume yet")) + "</p>";
    const counts = d.operations_by_state || {};
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    document.getElementById("states").innerHTML = total ? '<ul class="state-counts">' + ORDER.filter(s => counts[s]).map(s =>
      "<li>" + H.stateBadge(s) + " <b>" + counts[s] + "</b></li>").join("") + "</ul>" : '<p class="muted">' + esc(_("No operations")) + "</p>";
    document.getElementById("units").innerHTML = '<table class="grid compact"><thead><tr><th>' + esc(_("Unit")) + "</th><th>" +
      esc(_("Liaison")) + "</th><th>" + esc(_("Phone")) + "</th></tr></thead><tbody>" + d.member_units.map(u => "<tr><td>" +
        esc(H.zh ? u.name_zh : u.name_en) + (u.sample ? ' <span class="muted small">' + esc(_("sample")) + "</span>" : "") + "</td><td>" +
        esc(u.liaison.name) + ' <span class="muted small">' + esc(u.liaison.title) + "</span></td><td>" + esc(u.liaison.phone) + "</td></tr>").join("") + "</tbody></table>";
  }
  async function load() {
    const r = await H.api("GET", "/api/member/overview");
    if (r.ok) render(r.data);
  }
  function later() { clearTimeout(pending); pending = setTimeout(load, 500); } // coalesce bursts of events
  function bulletin(text, at) {
    const li = document.createElement("li");
    li.innerHTML = '<span class="muted">' + H.bjt(at) + "</span> " + esc(text);
    const ul = document.getElementById("bulletins");
    const ph = ul.querySelector(".placeholder"); if (ph) ph.remove();
    ul.prepend(li);
    while (ul.children.length > 30) ul.lastChild.remove();
  }
  H.on("volume.new", later);
  // Bulletins carry the time of the step itself (the drill clock inside a drill) and are
  // rebuilt from the record on load, so a reload loses none.
  const OP_BULLETINS = { report_firing: site => _("%(site)s: operation completed", { site }),
    order: site => _("%(site)s: ordered to fire", { site }) };
  const seenBulletins = new Set();
  function opBulletin(op, entry) {
    const label = OP_BULLETINS[entry.action];
    const key = op.id + ":" + entry.action + ":" + entry.at;
    if (!label || seenBulletins.has(key)) return;
    seenBulletins.add(key);
    bulletin(label(op.site_code), entry.at);
  }
  H.on("operation.update", function (d) {
    later();
    const h = d.operation.history || [];
    if (h.length) opBulletin(d.operation, h[h.length - 1]);
  });
  function warningText(d) {
    return _("Hail warning: %(counties)s · %(storm)s", { counties: d.counties.map(H.countyName).join(_(", ")), storm: H.stormName(d) });
  }
  H.on("warning.issue", d => bulletin(warningText(d), d.sent));

  (async function start() {
    const seq = await H.currentSeq();
    await load();
    document.getElementById("bulletins").innerHTML = '<li class="muted placeholder">' + esc(_("No bulletins yet")) + "</li>";
    const items = [];
    const w = await H.api("GET", "/api/warnings");
    if (w.ok) w.data.warnings.forEach(d => items.push({ at: d.sent, run: () => bulletin(warningText(d), d.sent) }));
    const o = await H.api("GET", "/api/operations");
    if (o.ok) o.data.operations.forEach(op => (op.history || []).forEach(e => {
      if (OP_BULLETINS[e.action]) items.push({ at: e.at, run: () => opBulletin(op, e) });
    }));
    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).forEach(i => i.run());
    H.connect(seq);
  })();
})();
