/* Forecaster console: the cells of the latest volume with their products, trends and
 * arrivals; confirm/dismiss (reason recorded); hail warnings exported as CAP 1.2. */
(function () {
  "use strict";
  /** Where H0/H−20 come from: the sounding (file) or the configured seasonal fallback. */
  function levelsSource(src) {
    src = src || "";
    if (src.startsWith("seasonal")) return window.HO.T("季节默认值（无探空）", "seasonal fallback (no sounding)");
    if (src.startsWith("sounding:")) return window.HO.T("探空 ", "sounding ") + src.slice(9).replace(/\.[a-z0-9]+$/i, "");
    if (src === "cli") return window.HO.T("人工输入", "entered by hand");
    return window.HO.T("来源未知", "source unknown");
  }
  const H = window.HO, T = H.T, esc = H.esc, fmt = H.fmt;
  const countyNames = {};
  (H.boot.counties || []).forEach(c => { countyNames[c.key] = H.zh ? c.name_zh : c.name_en; });
  let data = null;
  let chosen = null; // record_id of the cell to warn for
  const TREND = { growing: ["↑ 增强", "↑ growing"], decaying: ["↓ 减弱", "↓ decaying"], steady: ["→ 稳定", "→ steady"] };
  const REVIEW = { new: ["待审核", "new"], confirmed: ["已确认", "confirmed"], dismissed: ["已排除", "dismissed"] };

  function isNewTrack(t) { return !t || !t.trend || t.trend.overall === "unknown"; }
  function trend(t) {
    if (!t) return "—";
    if (isNewTrack({ trend: t })) return '<span class="muted">' + T("新航迹", "new track") + "</span>";
    const l = TREND[t.overall] || [t.overall, t.overall];
    const tip = "MESH " + fmt(t.mesh_mm_per_h, 0) + " mm/h · top45 " + fmt(t.top45_km_per_h, 1) + " km/h · VIL " + fmt(t.vil_kgm2_per_h, 0) + " kg/m²/h";
    return '<span class="trend trend-' + esc(t.overall) + '" title="' + esc(tip) + '">' + esc(T(l[0], l[1])) + "</span>";
  }
  function arrivalsText(track) {
    const c = (track && track.arrivals && track.arrivals.counties) || {};
    const keys = Object.keys(c).sort((a, b) => (c[a] < c[b] ? -1 : 1));
    if (!keys.length) return "—";
    const scan = data && data.scan_time ? new Date(data.scan_time).getTime() : 0;
    return keys.map(k => '<span class="arr">' + esc(countyNames[k] || k) + " " +
      (new Date(c[k]).getTime() <= scan + 1000 ? '<b class="trend-growing">' + T("已进入", "inside") + "</b>" : H.bjt(c[k]).slice(0, 5)) + "</span>").join("<br>");
  }
  function render() {
    const body = document.getElementById("cells-body");
    if (!data || !data.cells.length) {
      body.innerHTML = '<tr><td colspan="13" class="muted">' + T("最新体扫无单体", "No cells in the latest volume") + "</td></tr>";
      return;
    }
    const hailOnly = document.getElementById("hail-only").checked;
    body.innerHTML = data.cells.filter(c => !hailOnly || c.hail || c.verdict === "cannot_tell").map(function (c) {
      const p = c.properties, t = c.track;
      const rv = REVIEW[c.review] || [c.review, c.review];
      const prior = c.review === "new" && c.track_review ? '<br><span class="muted small">' + T("航迹此前: ", "track earlier: ") +
        esc(T(REVIEW[c.track_review.review][0], REVIEW[c.track_review.review][1])) + "</span>" : "";
      return '<tr data-record="' + c.record_id + '" class="' + (c.hail ? "hail" : "") + (chosen === c.record_id ? " chosen" : "") + '">' +
        "<td><b>" + esc(p.id.split("-").pop()) + "</b>" + (c.hail ? ' <span class="state state-denied">' + T("冰雹", "HAIL") + "</span>" : "") +
        (c.verdict === "cannot_tell" ? ' <span class="state state-clearance_requested" title="' + esc(c.verdict_text) + '">' + T("待核实", "REVIEW") + "</span>" : "") +
        (c.verdict_reason_text ? '<br><span class="muted small verdict-reason">' + esc(c.verdict_reason_text) + "</span>" : "") +
        '<br><span class="muted small">' + esc(t ? t.id : "") + "</span></td>" +
        "<td>" + fmt(p.max_dbz, 1) + "</td><td><b>" + fmt(p.mesh_mm, 1) + "</b></td><td>" + fmt(p.posh_pct) + "</td><td>" + fmt(p.top45_km, 1) +
        "</td><td>" + fmt(p.vil_kgm2, 1) + "</td><td>" + fmt(p.vild_gm3, 2) + "</td><td>" + fmt(p.area_km2) + "</td>" +
        "<td>" + trend(t && t.trend) + "</td>" +
        "<td>" + (t && !isNewTrack(t) ? fmt((t.speed_mps || 0) * 3.6) + " km/h<br>" + T("移向 ", "to ") + esc(H.compass(t.direction_deg)) + " " + fmt(t.direction_deg) + "°" : "—") + "</td>" +
        '<td class="small">' + arrivalsText(t) + "</td>" +
        '<td><span class="review review-' + esc(c.review) + '">' + esc(T(rv[0], rv[1])) + "</span>" +
        (c.review_reason ? '<br><span class="muted small">' + esc(c.review_reason) + "</span>" : "") + prior + "</td>" +
        '<td class="actions"><button type="button" data-do="confirmed"' + (c.review === "confirmed" ? " disabled" : "") + ">" + T("确认", "Confirm") +
        '</button> <button type="button" class="secondary" data-do="dismissed"' + (c.review === "dismissed" ? " disabled" : "") + ">" + T("排除", "Dismiss") +
        '</button> <button type="button" class="' + (c.hail ? "warn" : "secondary") + '" data-do="warn">' + T("预警", "Warn") + "</button></td></tr>";
    }).join("");
  }
  function setInfo() {
    const el = document.getElementById("volume-info");
    if (!data || !data.scan_time) { el.textContent = T("尚无雷达体扫", "no radar volume yet"); return; }
    const hail = data.cells.filter(c => c.hail).length;
    el.textContent = T("体扫 ", "volume ") + H.bjtDateTime(data.scan_time) + T(" 北京时间", " BJT") + " · " + T("单体 ", "cells ") + data.cells.length +
      " · " + T("冰雹单体 ", "hail cells ") + hail +
      (data.complete === false ? " · " + T("体扫不完整 ", "incomplete volume ") + data.sweeps_read + "/" + (data.sweeps_expected == null ? "?" : data.sweeps_expected) : "") +
      (data.levels ? " · H0 " + fmt(data.levels.h0_m) + " m · H-20 " + fmt(data.levels.h20_m) + T(" m（海拔）", " m ASL") + " · " + levelsSource(data.levels.source) : "");
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
    const decision = btn.dataset.do;
    let reason = "";
    if (decision === "dismissed") {
      reason = await H.askReason(T("排除单体 ", "Dismiss cell ") + cell.cell_id);
      if (!reason) return;
    }
    const res = await H.act(btn, "POST", "/api/cells/" + id + "/review", { decision, reason }, "review:" + id + ":" + decision,
      decision === "confirmed" ? T("已确认 ", "Confirmed ") + cell.cell_id : T("已排除 ", "Dismissed ") + cell.cell_id);
    if (res) { cell.review = decision; cell.review_reason = reason; render(); }
  });
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
    if (!cell) { label.textContent = T("请在表中点击“预警”选择单体。", "Choose a cell with “Warn” in the table."); updateWarningControls(); return; }
    const p = cell.properties;
    label.innerHTML = T("单体 ", "Cell ") + "<b>" + esc(cell.cell_id) + "</b> · MESH " + fmt(p.mesh_mm, 1) + " mm · POSH " + fmt(p.posh_pct) + " %";
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
      "warning:" + chosen + ":" + counties.join(","), T("冰雹预警已发布", "Hail warning issued"));
    if (w) addIssued(w);
  });
  const issued = new Set();
  function addIssued(w) {
    if (issued.has(w.identifier)) return;
    issued.add(w.identifier);
    const li = document.createElement("li");
    li.innerHTML = '<span class="muted">' + H.bjt(w.sent) + "</span> " + esc(w.counties.map(k => countyNames[k] || k).join("、")) +
      " · " + esc(w.cell_id) + ' · <a href="' + esc(w.cap_url) + '" target="_blank" rel="noopener">CAP XML</a> <span class="muted small">' + esc(w.identifier) + "</span>";
    document.getElementById("warnings-issued").prepend(li);
  }

  H.on("volume.new", load);
  H.on("cell.review", function (d) {
    const cell = data && data.cells.find(c => c.record_id === d.record_id);
    if (cell) { cell.review = d.review; cell.review_reason = d.reason; cell.reviewed_by = d.by; render(); }
  });
  H.on("warning.issue", addIssued);

  (async function start() {
    const seq = await H.currentSeq();
    await load();
    const w = await H.api("GET", "/api/warnings");
    if (w.ok) w.data.warnings.slice().reverse().forEach(addIssued);
    H.connect(seq);
  })();
})();
