/* Forecaster console: the cells of the latest volume with their products, trends and
 * arrivals, each under its storm's one name; confirm/dismiss the storm (reason recorded; the
 * decision carries to its later scans), rename it; hail warnings exported as CAP 1.2. */
(function () {
  "use strict";
  /** Where H0/H−20 come from: the sounding (file) or the configured seasonal fallback. */
  const H = window.HO, _ = H._, esc = H.esc, fmt = H.fmt;
  function levelsSource(src) {
    src = src || "";
    if (src.startsWith("seasonal")) return _("seasonal fallback (no sounding)");
    if (src.startsWith("sounding:")) return _("sounding %(name)s", { name: src.slice(9).replace(/\.[a-z0-9]+$/i, "") });
    if (src === "cli") return _("entered by hand");
    return _("source unknown");
  }
  const countyNames = {};
  (H.boot.counties || []).forEach(c => { countyNames[c.key] = H.zh ? c.name_zh : c.name_en; });
  let data = null;
  let chosen = null; // record_id of the cell to warn for
  const TREND = { growing: "↑ " + _("growing"), decaying: "↓ " + _("decaying"), steady: "→ " + _("steady") };
  // Review labels from the served vocabulary (the same words on the map and every console).
  const reviewLabel = code => H.label("review", code);

  function isNewTrack(t) { return !t || !t.trend || t.trend.overall === "unknown"; }
  function trend(t) {
    if (!t) return "—";
    if (isNewTrack({ trend: t })) return '<span class="muted">' + _("new track") + "</span>";
    const l = TREND[t.overall] || t.overall;
    const tip = "MESH " + fmt(t.mesh_mm_per_h, 0) + " mm/h · top45 " + fmt(t.top45_km_per_h, 1) + " km/h · VIL " + fmt(t.vil_kgm2_per_h, 0) + " kg/m²/h";
    return '<span class="trend trend-' + esc(t.overall) + '" title="' + esc(tip) + '">' + esc(l) + "</span>";
  }
  function arrivalsText(track) {
    const c = (track && track.arrivals && track.arrivals.counties) || {};
    const keys = Object.keys(c).sort((a, b) => (c[a] < c[b] ? -1 : 1));
    if (!keys.length) return "—";
    const scan = data && data.scan_time ? new Date(data.scan_time).getTime() : 0;
    return keys.map(k => '<span class="arr">' + esc(countyNames[k] || k) + " " +
      (new Date(c[k]).getTime() <= scan + 1000 ? '<b class="trend-growing">' + _("inside") + "</b>" : H.bjt(c[k]).slice(0, 5)) + "</span>").join("<br>");
  }
  function render() {
    const body = document.getElementById("cells-body");
    if (!data || !data.cells.length) {
      body.innerHTML = '<tr><td colspan="13" class="muted">' + _("No cells in the latest volume") + "</td></tr>";
      return;
    }
    const hailOnly = document.getElementById("hail-only").checked;
    body.innerHTML = data.cells.filter(c => !hailOnly || c.hail || c.verdict === "cannot_tell").map(function (c) {
      const p = c.properties, t = c.track, st = c.storm;
      // A dismissed storm that turned to hail (or severe hail) is back to review: say why.
      const prior = c.review === "new" && c.track_review ? '<br><span class="muted small reopened">' +
        esc(st && st.reopened ? H.label("storm", st.reopened) : _("earlier: %(review)s", { review: reviewLabel(c.track_review.review) })) +
        (c.track_review.by ? " · " + esc(c.track_review.by) : "") + "</span>" : "";
      const decided = c.review !== "new" && st && st.reviewed_at ? '<br><span class="muted small">' + esc(st.reviewed_by || "") + " " + H.bjt(st.reviewed_at).slice(0, 5) + "</span>" : "";
      return '<tr data-record="' + c.record_id + '" data-storm="' + (st ? st.id : "") + '" class="' + (c.hail ? "hail" : "") + (chosen === c.record_id ? " chosen" : "") + '">' +
        '<td><b class="storm-name">' + esc(H.stormName(c)) + "</b>" +
        (st ? ' <button type="button" class="link small" data-do="rename" title="' + esc(_("Rename the storm")) + '">✎</button>' : "") +
        (c.hail ? ' <span class="state state-denied">' + _("HAIL") + "</span>" : "") +
        (c.verdict === "cannot_tell" ? ' <span class="state state-clearance_requested" title="' + esc(c.verdict_text) + '">' + _("REVIEW") + "</span>" : "") +
        (c.verdict_reason_text ? '<br><span class="muted small verdict-reason">' + esc(c.verdict_reason_text) + "</span>" : "") +
        (c.parent_storm_name ? '<br><span class="muted small">' + esc(_("split from %(name)s", { name: c.parent_storm_name })) + "</span>" : "") + "</td>" +
        "<td>" + fmt(p.max_dbz, 1) + "</td><td><b>" + fmt(p.mesh_mm, 1) + "</b></td><td>" + fmt(p.posh_pct) + "</td><td>" + fmt(p.top45_km, 1) +
        "</td><td>" + fmt(p.vil_kgm2, 1) + "</td><td>" + fmt(p.vild_gm3, 2) + "</td><td>" + fmt(p.area_km2) + "</td>" +
        "<td>" + trend(t && t.trend) + "</td>" +
        "<td>" + (t && !isNewTrack(t) ? fmt((t.speed_mps || 0) * 3.6) + " km/h<br>" + esc(_("toward %(dir)s", { dir: H.compass(t.direction_deg) + " " + fmt(t.direction_deg) + "°" })) : "—") + "</td>" +
        '<td class="small">' + arrivalsText(t) + "</td>" +
        '<td><span class="review review-' + esc(c.review) + '">' + esc(reviewLabel(c.review)) + "</span>" +
        (c.review_reason && c.review !== "new" ? '<br><span class="muted small">' + esc(c.review_reason) + "</span>" : "") + decided + prior + "</td>" +
        '<td class="actions"><button type="button" data-do="confirmed"' + (c.review === "confirmed" ? " disabled" : "") + ">" + _("Confirm storm") +
        '</button> <button type="button" class="secondary" data-do="dismissed"' + (c.review === "dismissed" ? " disabled" : "") + ">" + _("Dismiss storm") +
        '</button> <button type="button" class="' + (c.hail ? "warn" : "secondary") + '" data-do="warn">' + _("Warn") + "</button></td></tr>";
    }).join("");
  }
  function setInfo() {
    const el = document.getElementById("volume-info");
    if (!data || !data.scan_time) { el.textContent = _("no radar volume yet"); return; }
    const hail = data.cells.filter(c => c.hail).length;
    el.textContent = _("volume %(t)s BJT", { t: H.bjtDateTime(data.scan_time) }) + " · " + _("cells %(n)s", { n: data.cells.length }) +
      " · " + _("hail cells %(n)s", { n: hail }) +
      (data.complete === false ? " · " + _("incomplete volume %(read)s/%(expected)s", { read: data.sweeps_read, expected: data.sweeps_expected == null ? "?" : data.sweeps_expected }) : "") +
      (data.levels ? " · " + _("H0 %(h0)s m · H-20 %(h20)s m ASL", { h0: fmt(data.levels.h0_m), h20: fmt(data.levels.h20_m) }) + " · " + levelsSource(data.levels.source) : "");
  }
  async function load() {
    const r = await H.api("GET", "/api/cells/latest");
    if (!r.ok) { H.toast(H.errorText(r), "error"); return; }
    data = r.data;
    if (chosen && !data.cells.some(c => c.record_id === chosen)) chooseCell(null);
    setInfo(); render();
  }

  document.getElementById("cells-body").addEventListener("click", async function (ev) {
    const btn = ev.target.closest("button[data-do]");
    if (!btn) return;
    const id = Number(btn.closest("tr").dataset.record);
    const cell = data.cells.find(c => c.record_id === id);
    if (btn.dataset.do === "warn") { chooseCell(cell); return; }
    if (btn.dataset.do === "rename") { rename(cell); return; }
    const decision = btn.dataset.do;
    const name = H.stormName(cell);
    let reason = "";
    if (decision === "dismissed") {
      reason = await H.askReason(_("Dismiss %(name)s", { name }));
      if (!reason) return;
    }
    // The storm is reviewed (its later scans keep the decision); a cell without a storm alone.
    const path = cell.storm ? "/api/storms/" + cell.storm.id + "/review" : "/api/cells/" + id + "/review";
    const res = await H.act(btn, "POST", path, { decision, reason }, "review:" + (cell.storm ? "s" + cell.storm.id : id) + ":" + decision,
      decision === "confirmed" ? _("Confirmed %(name)s", { name }) : _("Dismissed %(name)s", { name }));
    if (res) applyReview({ record_id: id, storm_id: cell.storm && cell.storm.id, storm: res.storm, review: decision, reason, by: H.boot.user.username });
  });
  /** A review of a storm (own or pushed): every row of that storm shows it. */
  function applyReview(d) {
    if (!data) return;
    data.cells.forEach(function (c) {
      if (!(d.storm_id ? c.storm && c.storm.id === d.storm_id : c.record_id === d.record_id)) return;
      c.review = d.review; c.review_reason = d.reason; c.reviewed_by = d.by;
      if (c.storm) {
        Object.assign(c.storm, { review: d.review, reviewed_by: d.by, review_note: d.reason, reopened: null,
          reviewed_at: (d.storm && d.storm.reviewed_at) || new Date().toISOString() });
        c.track_review = { review: d.review, reason: d.reason, by: d.by, at: c.storm.reviewed_at, reopened: null };
      }
    });
    render();
  }
  /** The forecaster names the storm (empty: back to "风暴 N"): one name everywhere. */
  function rename(cell) {
    const dlg = document.createElement("dialog");
    dlg.className = "reason-dialog";
    dlg.innerHTML = "<form method=dialog><h3>" + esc(_("Storm name")) + "</h3>" +
      '<input name=name maxlength=64 value="' + esc(cell.storm.name || "") + '" placeholder="' + esc(H.label("storm", "name").replace("{number}", cell.storm.number)) + '">' +
      '<p class="muted small">' + esc(_("Leave empty for the default name")) + "</p>" +
      '<div class=row><button value=cancel formnovalidate class=secondary>' + esc(_("Back")) +
      "</button><button value=ok>" + esc(_("Save")) + "</button></div></form>";
    document.body.appendChild(dlg);
    dlg.addEventListener("close", async function () {
      const name = dlg.querySelector("input").value.trim();
      dlg.remove();
      if (dlg.returnValue !== "ok") return;
      const res = await H.act(null, "POST", "/api/storms/" + cell.storm.id + "/name", { name }, "rename:" + cell.storm.id + ":" + name,
        _("Renamed %(name)s", { name: name || H.label("storm", "name").replace("{number}", cell.storm.number) }));
      if (res) applyStorm(res.storm);
    });
    dlg.showModal();
    dlg.querySelector("input").focus();
  }
  /** A storm's new name (own or pushed) on every row of it. */
  function applyStorm(s) {
    if (!data || !s) return;
    data.cells.forEach(c => { if (c.storm && c.storm.id === s.id) { c.storm.name = s.name; c.storm_name = H.stormName({ storm: c.storm }); } });
    render();
    if (chosen) chooseCell(data.cells.find(c => c.record_id === chosen) || null);
  }
  document.getElementById("hail-only").addEventListener("change", render);

  // --- warnings ----------------------------------------------------------------------------
  const issueBtn = document.getElementById("issue-warning"), preview = document.getElementById("cap-preview");
  function selectedCounties() {
    return Array.from(document.querySelectorAll("#warning-counties input:checked")).map(i => i.value);
  }
  function updateWarningControls() {
    const counties = selectedCounties();
    const ready = chosen != null && counties.length > 0;
    issueBtn.disabled = !ready;
    preview.setAttribute("aria-disabled", String(!ready));
    preview.href = ready ? H.url("/api/cells/" + chosen + "/cap.xml?counties=" + encodeURIComponent(counties.join(","))) : "#";
  }
  function chooseCell(cell) {
    chosen = cell ? cell.record_id : null;
    const label = document.getElementById("warning-cell");
    if (!cell) { label.textContent = _("Choose a cell with “Warn” in the table."); updateWarningControls(); return; }
    const p = cell.properties;
    label.innerHTML = "<b>" + esc(H.stormName(cell)) + "</b> · MESH " + fmt(p.mesh_mm, 1) + " mm · POSH " + fmt(p.posh_pct) + " %";
    const arr = (cell.track && cell.track.arrivals && cell.track.arrivals.counties) || {};
    document.querySelectorAll("#warning-counties input").forEach(i => { i.checked = i.value in arr; });
    updateWarningControls(); render();
    document.getElementById("warning-panel").scrollIntoView({ behavior: "smooth", block: "nearest" });
  }
  document.getElementById("warning-counties").addEventListener("change", updateWarningControls);
  preview.addEventListener("click", ev => { if (preview.getAttribute("aria-disabled") === "true") ev.preventDefault(); });
  issueBtn.addEventListener("click", async function () {
    const counties = selectedCounties();
    const w = await H.act(issueBtn, "POST", "/api/cells/" + chosen + "/warning", { counties },
      "warning:" + chosen + ":" + counties.join(","), _("Hail warning issued"));
    if (w) addIssued(w);
  });
  const issued = new Set();
  function addIssued(w) {
    if (issued.has(w.identifier)) return;
    issued.add(w.identifier);
    const li = document.createElement("li");
    li.innerHTML = '<span class="muted">' + H.bjt(w.sent) + "</span> " + esc(w.counties.map(k => countyNames[k] || k).join(_(", "))) +
      " · " + esc(H.stormName(w)) + ' · <a href="' + esc(w.cap_url) + '" target="_blank" rel="noopener">CAP XML</a> <span class="muted small">' + esc(w.identifier) + "</span>";
    document.getElementById("warnings-issued").prepend(li);
  }

  H.on("volume.new", load);
  H.on("cell.review", applyReview);
  H.on("storm.update", d => applyStorm(d.storm));
  H.on("warning.issue", addIssued);

  (async function start() {
    const seq = await H.currentSeq();
    await load();
    const w = await H.api("GET", "/api/warnings");
    if (w.ok) w.data.warnings.slice().reverse().forEach(addIssued);
    H.connect(seq);
  })();
})();
