// The admin drills page: start, pause, resume and stop drills (CSRF header on every write);
// errors (a bad inject script, a deployment without sites) shown on the page; drill clocks.
(function () {
  const csrf = document.querySelector("input[name=csrf_token]").value;
  const post = (url, body) => fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body || {})});
  const errBox = document.getElementById("drill-error");
  const form = document.getElementById("drill-form");
  // Worded in the page's language: the server's wording of a drill problem (drill_text),
  // else the form's own labels of the fields at fault; the English message is the contract
  // for API clients, not for this page.
  function showError(j) {
    const d = j && j.details && typeof j.details === "object" && !Array.isArray(j.details) ? j.details : {};
    let msg;
    if (d.drill_text) {
      msg = d.drill_text;
    } else if (j && j.code === "validation_failed") {
      const names = Object.keys(d).map(function (k) {
        const el = form.querySelector("[name='" + k + "']");
        return el && el.dataset.label ? el.dataset.label : k;
      });
      msg = form.dataset.invalid + (names.length ? ": " + names.join(", ") : "");
    } else {
      msg = form.dataset.failed + " (" + ((j && j.code) || "error") + ")";
    }
    errBox.textContent = msg; errBox.hidden = false;
  }
  document.getElementById("drill-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    errBox.hidden = true;
    const f = new FormData(ev.target);
    const r = await post("/api/drills", {event: f.get("event"), speed: Number(f.get("speed")),
      auto_approve: f.get("auto_approve") === "on", script: f.get("script")});
    const j = await r.json().catch(() => null);
    if (!r.ok) { showError(j); return; }
    location.reload();
  });
  document.querySelectorAll("button[data-act]").forEach(function (b) {
    b.addEventListener("click", async function () {
      const id = b.closest("tr").dataset.id;
      const r = await post("/api/drills/" + id + "/" + b.dataset.act);
      if (!r.ok) showError(await r.json().catch(() => null)); else location.reload();
    });
  });
  // Each running drill's clock advances at its speed (drill time, Beijing time).
  const loaded = Date.now();
  setInterval(function () {
    document.querySelectorAll("tr[data-state=running]").forEach(function (tr) {
      const t = new Date(Date.parse(tr.dataset.time) + (Date.now() - loaded) * Number(tr.dataset.speed));
      tr.querySelector(".drill-clock").textContent = new Date(t.getTime() + 8 * 3600e3).toISOString().slice(0, 19).replace("T", " ");
    });
  }, 1000);
})();
