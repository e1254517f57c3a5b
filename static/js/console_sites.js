/* Readiness and restock (commander, admin): every site's readiness set by hand, its stock per
 * ammunition type (names from the vocabulary), deliveries recorded through the ammunition
 * ledger (POST /api/sites/<code>/restock, one idempotency key per delivery), and the stock
 * per type across all sites.  Live sites only; kept current by site.status / site.stock. */
(function () {
  "use strict";
  const H = window.HO, _ = H._, esc = H.esc;
  const below = Number(H.boot.restockBelow || 0);
  // Readiness a person may set; "firing" follows the operations and is never set by hand.
  const SETTABLE = ["ready", "standby", "offline", "out_of_ammunition"];
  let sites = [];
  const deliveries = {}; // site code -> number of deliveries recorded from this page (key scope)

  /** The ammunition types a site can hold: those in its stock and those its equipment fires. */
  function typesOf(s) {
    const types = new Set(Object.keys(s.ammunition || {}));
    (s.equipment || []).forEach(function (e) {
      if (e.kind === "gun_37mm") types.add("37mm_shell");
      else if (e.model) types.add("rocket_" + e.model.toLowerCase().replace(/[^a-z0-9]/g, ""));
    });
    return Array.from(types).sort();
  }
  function stockCell(s) {
    const types = Object.keys(s.ammunition || {}).sort();
    if (!types.length) return '<span class="muted">—</span>';
    return types.map(t => '<span class="stock-line' + (s.ammunition[t] < below ? " low" : "") + '" data-type="' + esc(t) + '">' +
      esc(H.ammoLabel(t)) + " <b>" + s.ammunition[t] + "</b></span>").join("<br>");
  }
  function row(s) {
    const current = s.readiness;
    const options = SETTABLE.concat(SETTABLE.includes(current) ? [] : [current]).map(r => '<option value="' + esc(r) + '"' +
      (r === current ? " selected" : "") + (SETTABLE.includes(r) ? "" : " disabled") + ">" + esc(H.label("readiness", r)) + "</option>").join("");
    const types = typesOf(s).map(t => '<option value="' + esc(t) + '">' + esc(H.ammoLabel(t)) + "</option>").join("");
    return '<tr data-site="' + esc(s.code) + '" data-readiness="' + esc(current) + '"><td><b>' + esc(s.code) + "</b> " + esc(s.name) +
      '<br><span class="muted small">' + esc(H.countyName(s.county)) + "</span></td>" +
      '<td><span class="readiness readiness-' + esc(current) + '">' + esc(H.label("readiness", current)) + "</span><br>" +
      '<select class="set-readiness" aria-label="' + esc(_("Set readiness")) + '">' + options + "</select></td>" +
      '<td class="small stock">' + stockCell(s) + "</td>" +
      '<td><form class="restock-form row" data-site="' + esc(s.code) + '">' +
      '<select name="ammo_type" aria-label="' + esc(_("Ammunition type")) + '">' + types + "</select>" +
      '<input name="count" type="number" min="1" max="100000" step="1" required inputmode="numeric" placeholder="' + esc(_("rounds")) + '" aria-label="' + esc(_("Rounds delivered")) + '">' +
      '<button type="submit" class="ok">' + esc(_("Record delivery")) + "</button></form></td></tr>";
  }
  function renderSummary() {
    const totals = {}, holders = {}, low = {};
    sites.forEach(s => Object.keys(s.ammunition || {}).forEach(function (t) {
      totals[t] = (totals[t] || 0) + s.ammunition[t];
      holders[t] = (holders[t] || 0) + 1;
      if (s.ammunition[t] < below) low[t] = (low[t] || 0) + 1;
    }));
    const types = Object.keys(totals).sort();
    document.getElementById("stock-head").innerHTML = "<tr><th>" + esc(_("Ammunition type")) + "</th><th>" + esc(_("Total")) + "</th><th>" +
      esc(_("Sites holding it")) + "</th><th>" + esc(_("Sites below %(n)s", { n: below })) + "</th></tr>";
    document.getElementById("stock-body").innerHTML = types.length ? types.map(t => '<tr data-type="' + esc(t) + '"><td>' + esc(H.ammoLabel(t)) +
      "</td><td><b>" + totals[t] + "</b></td><td>" + holders[t] + "</td><td" + (low[t] ? ' class="low"' : "") + ">" + (low[t] || 0) + "</td></tr>").join("")
      : '<tr><td colspan="4" class="muted">—</td></tr>';
  }
  function render() {
    const county = document.getElementById("county-filter").value;
    const shown = sites.filter(s => !county || s.county === county);
    document.getElementById("sites-count").textContent = String(shown.length);
    document.getElementById("sites-body").innerHTML = shown.length ? shown.map(row).join("")
      : '<tr><td colspan="4" class="muted">' + esc(_("No sites")) + "</td></tr>";
    renderSummary();
  }
  async function load() {
    const r = await H.api("GET", "/api/sites");
    sites = r.ok ? r.data.sites : [];
    render();
  }
  /** Re-render keeping what is being typed in the delivery forms. */
  function rerender() {
    const typed = {};
    document.querySelectorAll("form.restock-form").forEach(f => { typed[f.dataset.site] = [f.ammo_type.value, f.count.value]; });
    render();
    document.querySelectorAll("form.restock-form").forEach(function (f) {
      const t = typed[f.dataset.site];
      if (t) { f.ammo_type.value = t[0]; f.count.value = t[1]; }
    });
  }

  document.getElementById("county-filter").addEventListener("change", rerender);
  const body = document.getElementById("sites-body");
  body.addEventListener("change", async function (ev) {
    const sel = ev.target.closest("select.set-readiness");
    if (!sel) return;
    const code = sel.closest("tr").dataset.site, s = sites.find(x => x.code === code);
    const done = await H.act(null, "PATCH", "/api/sites/" + encodeURIComponent(code) + "/readiness", { readiness: sel.value },
      "readiness:" + code + ":" + sel.value, _("%(site)s: readiness set to %(state)s", { site: code, state: H.label("readiness", sel.value) }));
    if (done && s) s.readiness = done.readiness;
    rerender();
  });
  body.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const f = ev.target, code = f.dataset.site, count = Number(f.count.value);
    if (!Number.isInteger(count) || count < 1) { H.toast(_("Enter the number of rounds delivered (at least 1)."), "error"); f.count.focus(); return; }
    const type = f.ammo_type.value;
    // One key per delivery: a double click or a retry after a lost answer records it once.
    const scope = "restock:" + code + ":" + (deliveries[code] || 0) + ":" + type + ":" + count;
    const done = await H.act(f.querySelector("button"), "POST", "/api/sites/" + encodeURIComponent(code) + "/restock",
      { ammo_type: type, count: count }, scope, _("%(site)s: %(n)s × %(type)s recorded", { site: code, n: count, type: H.ammoLabel(type) }));
    if (!done) return;
    deliveries[code] = (deliveries[code] || 0) + 1;
    const s = sites.find(x => x.code === code);
    if (s) s.ammunition = Object.assign({}, done.stock);
    f.count.value = "";
    rerender();
  });
  H.on("site.status", function (d) { const s = sites.find(x => x.code === d.code); if (s) { s.readiness = d.readiness; rerender(); } });
  H.on("site.stock", function (d) {
    const s = sites.find(x => x.code === d.code);
    if (s) { s.ammunition = Object.assign({}, d.stock); if (d.readiness) s.readiness = d.readiness; rerender(); }
  });
  H.on("operation.update", function (d) { if (d.action === "report") load(); });

  (async function start() {
    const seq = await H.currentSeq();
    await load();
    H.connect(seq);
  })();
})();
