// The admin drills page: start, pause, resume and stop drills (CSRF header on every write).
(function () {
  const csrf = document.querySelector("input[name=csrf_token]").value;
  const post = (url, body) => fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body || {})});
  document.getElementById("drill-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const r = await post("/api/drills", {event: f.get("event"), speed: Number(f.get("speed")),
      auto_approve: f.get("auto_approve") === "on", script: f.get("script")});
    const j = await r.json();
    if (!r.ok) { alert(j.message); return; }
    location.reload();
  });
  document.querySelectorAll("button[data-act]").forEach(function (b) {
    b.addEventListener("click", async function () {
      const id = b.closest("tr").dataset.id;
      const r = await post("/api/drills/" + id + "/" + b.dataset.act);
      if (!r.ok) alert((await r.json()).message); else location.reload();
    });
  });
})();
