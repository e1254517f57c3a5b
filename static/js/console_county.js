/* County site operator console (phone first): incoming orders with a loud alarm,
 * acknowledge, start firing, the immediate firing report, the written report, ammunition. */
(function () {
  "use strict";
  const H = window.HO, T = H.T, esc = H.esc;
  let sites = [];
  let alarmTimer = null;
  const openForms = new Map(); // op id -> form values kept across live re-renders

  const READY = { ready: ["就绪", "ready"], standby: ["待命", "standby"], firing: ["作业中", "firing"], offline: ["离线", "offline"],
    out_of_ammunition: ["弹药耗尽", "out of ammunition"] };
  const readiness = r => (READY[r] ? T(READY[r][0], READY[r][1]) : r);
  const OBS = [["none", "无降雹", "none"], ["rain", "降雨", "rain"], ["hail", "见冰雹", "hail seen"]];

  function ringUntilAcknowledged() {
    const waiting = Array.from(H.ops.values()).filter(op => op.state === "ordered");
    if (!waiting.length) { clearInterval(alarmTimer); alarmTimer = null; H.clearAlarm(); return; }
    const op = waiting[0];
    H.alarm(T("新作业指令！", "NEW FIRING ORDER! ") + op.site_code + " · " + T("方位 ", "az ") + H.fmt(op.azimuth_deg) + "° " +
      T("仰角 ", "el ") + H.fmt(op.elevation_deg) + "° · " + T("请立即确认", "acknowledge now"), { pulses: 4, loud: true });
    if (!alarmTimer) alarmTimer = setInterval(ringUntilAcknowledged, 5000);
  }

  function reportForm(op) {
    const kept = openForms.get(op.id) || {};
    const started = H.lastEntry(op, "start_firing");
    const startIso = started ? started.at : new Date().toISOString();
    const types = Array.from(new Set(Object.keys(op.quantity || {}).concat(Object.keys((sites.find(s => s.code === op.site_code) || {}).ammunition || {}))));
    return '<form class="report-form" data-op="' + esc(op.id) + '">' +
      "<h4>" + T("作业即时报告", "Immediate firing report") + "</h4>" +
      '<div class="form-grid">' +
      "<label>" + T("开始（北京时间）", "Start (BJT)") + ' <input type="text" inputmode="numeric" pattern="[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?" placeholder="HH:MM:SS" name="start" required value="' +
        esc(kept.start || H.bjt(startIso)) + '" data-exact="' + esc(startIso) + '"></label>' +
      "<label>" + T("结束（北京时间）", "End (BJT)") + ' <input type="text" inputmode="numeric" pattern="[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?" placeholder="HH:MM:SS" name="end" required value="' + esc(kept.end || H.bjtNowHms()) + '"></label>' +
      types.map(t => "<label>" + esc(H.ammoLabel(t)) + ' <input type="number" min="0" inputmode="numeric" name="rounds:' + esc(t) + '" value="' +
        esc(kept["rounds:" + t] != null ? kept["rounds:" + t] : (op.quantity[t] || 0)) + '"></label>').join("") +
      "<label>" + T("方位 °", "Azimuth °") + ' <input type="number" step="0.1" name="azimuth_deg" inputmode="decimal" value="' + esc(kept.azimuth_deg || op.azimuth_deg) + '"></label>' +
      "<label>" + T("仰角 °", "Elevation °") + ' <input type="number" step="0.1" name="elevation_deg" inputmode="decimal" value="' + esc(kept.elevation_deg || op.elevation_deg) + '"></label>' +
      "<label>" + T("观测", "Observation") + ' <select name="observation">' + OBS.map(o => '<option value="' + o[0] + '"' +
        ((kept.observation || "none") === o[0] ? " selected" : "") + ">" + esc(T(o[1], o[2])) + "</option>").join("") + "</select></label>" +
      '<label class="wide">' + T("备注", "Remarks") + ' <input name="remarks" value="' + esc(kept.remarks || "") + '"></label>' +
      '</div><button type="submit" class="big danger">' + T("上报作业情况", "File firing report") + "</button></form>";
  }

  function card(op) {
    const win = op.cleared ? op.cleared.window : (op.ordered_window ? [op.ordered_window.start, op.ordered_window.end] : [op.window.start, op.window.end]);
    let actions = "";
    if (op.state === "ordered") actions = '<button type="button" class="big danger" data-do="acknowledge">' + T("确认收到指令", "Acknowledge order") + "</button>";
    else if (op.state === "acknowledged") actions = '<button type="button" class="big danger" data-do="start-firing">' + T("开始作业", "Start firing") + "</button>";
    else if (!op.report && (op.state === "firing" || ((op.state === "recalled" || op.state === "expired") && H.lastEntry(op, "start_firing")))) actions = reportForm(op);
    else if (op.report && !H.lastEntry(op, "file_written_report")) actions = '<button type="button" class="big" data-do="written-report">' + T("书面报告已提交", "Written report filed") + "</button>";
    const rep = op.report ? '<p class="small">' + T("已上报: ", "Reported: ") + H.bjt(op.report.started_at) + "–" + H.bjt(op.report.ended_at) + " · " + esc(H.qty(op.report.rounds)) +
      (H.lastEntry(op, "file_written_report") ? " · " + T("书面报告已交", "written report in") : "") + "</p>" : "";
    const viol = (op.violations || []).map(v => '<p class="violation">⚠ ' + esc(v.message) + "</p>").join("");
    return '<article class="order-card state-bg-' + esc(op.state) + (op.state === "ordered" ? " flashing" : "") + '" data-op="' + esc(op.id) + '">' +
      "<header><b>" + esc(op.site_code) + "</b> " + H.stateBadge(op.state) + (op.storm_name ? ' <span class="muted small storm-name">' + esc(H.stormName(op)) + "</span>" : "") + "</header>" +
      (op.cease_fire ? '<p class="cease">' + T("停火！许可已终止，立即停止射击", "CEASE FIRE! Permission has ended: stop firing now") + "</p>" : "") +
      '<dl class="kv big-kv">' +
      "<dt>" + T("窗口", "Window") + "</dt><dd>" + H.bjt(win[0]).slice(0, 5) + "–" + H.bjt(win[1]).slice(0, 5) +
        (H.CLOSED.has(op.state) ? "" : ' · ' + T("剩余 ", "ends in ") + '<span class="countdown" data-until="' + esc(win[1]) + '"></span>') + "</dd>" +
      "<dt>" + T("方位/仰角", "Az / El") + "</dt><dd><b>" + H.fmt(op.azimuth_deg) + "° / " + H.fmt(op.elevation_deg) + "°</b></dd>" +
      "<dt>" + T("弹药", "Rounds") + "</dt><dd><b>" + esc(H.qty(op.quantity)) + "</b></dd>" +
      "<dt>" + T("限高", "Ceiling") + "</dt><dd>" + H.fmt(op.cleared ? op.cleared.ceiling_m : op.max_altitude_m) + " m</dd>" +
      "</dl>" + rep + viol + '<div class="order-actions">' + actions + "</div></article>";
  }

  function keepForms() {
    document.querySelectorAll("form.report-form").forEach(function (f) {
      const v = {};
      Array.from(f.elements).forEach(el => { if (el.name) v[el.name] = el.value; });
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
      '<p class="muted">' + T("暂无作业指令", "No orders") + "</p>";
    document.dispatchEvent(new CustomEvent("hailops:tick"));
  }
  function renderAmmo() {
    document.getElementById("ammo").innerHTML = sites.length ? '<table class="grid compact"><thead><tr><th>' + T("作业点", "Site") + "</th><th>" +
      T("状态", "Readiness") + "</th><th>" + T("库存", "Stock") + "</th></tr></thead><tbody>" + sites.map(s => "<tr><td><b>" + esc(s.code) + '</b><br><span class="small muted">' +
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
        acknowledge: T("已确认指令", "Order acknowledged"), "start-firing": T("已开始作业", "Firing started"),
        "written-report": T("书面报告已登记", "Written report recorded") }[action]);
    if (done) { H.upsert(done); render(); ringUntilAcknowledged(); }
  });
  box.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const f = ev.target, op = H.ops.get(f.dataset.op);
    const rounds = {};
    Array.from(f.elements).forEach(el => { if (el.name && el.name.startsWith("rounds:") && Number(el.value) > 0) rounds[el.name.slice(7)] = Number(el.value); });
    // The form shows whole seconds; an untouched start keeps the recorded start-firing time
    // (truncating it could put it before the order and be recorded as a violation).
    const started = f.start.value === H.bjt(f.start.dataset.exact) ? f.start.dataset.exact : H.bjtToIso(f.start.value, true);
    let ended = H.bjtToIso(f.end.value, true);
    if (new Date(ended) < new Date(started)) ended = new Date(Math.max(Date.parse(started), Date.now())).toISOString();
    const az = Number(f.azimuth_deg.value), el = Number(f.elevation_deg.value);
    const body = { started_at: started, ended_at: ended, rounds, observation: f.observation.value, remarks: f.remarks.value,
      bursts: Object.keys(rounds).map(t => ({ at: started, azimuth_deg: az, elevation_deg: el, ammo_type: t, rounds: rounds[t] })) };
    const done = await H.act(f.querySelector("button[type=submit]"), "POST", "/api/operations/" + encodeURIComponent(op.id) + "/report", body,
      op.id + ":report", T("作业报告已上报", "Firing report filed"));
    if (done) { openForms.delete(op.id); H.upsert(done); render(); loadSites(); }
  });

  H.on("operation.update", function (data) {
    const before = H.ops.get(data.operation.id);
    if (!H.upsert(data.operation)) return;
    render();
    const op = data.operation;
    if (op.state === "ordered" && (!before || before.state !== "ordered")) ringUntilAcknowledged();
    if (op.state !== "ordered") ringUntilAcknowledged();
    if (data.action === "report") loadSites();
  });
  H.on("operation.cease_fire", function (d) {
    H.alarm(T("停火！", "CEASE FIRE! ") + d.site_code + " " + (d.reason || ""), { pulses: 6, loud: true });
  });
  H.on("site.status", loadSites);
  H.on("warning.issue", d => H.toast(T("冰雹预警: ", "Hail warning: ") + d.counties.map(H.countyName).join(H.zh ? "、" : ", "), "warn"));

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
