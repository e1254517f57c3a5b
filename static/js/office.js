// Office pages: every <form data-api="/api/..." data-method="POST"> is sent as JSON.
// Field names with dots build nested objects ("attendance.police", "decisions.0.text");
// checkboxes give true/false.  Field errors from the {code, message, details} envelope are
// shown next to the form, nothing is lost, and the page reloads on success.
(function () {
  "use strict";
  function csrf() {
    const el = document.querySelector("input[name=csrf_token]");
    return el ? el.value : "";
  }
  function put(obj, path, value) {
    const parts = path.split(".");
    let cur = obj;
    for (let i = 0; i < parts.length - 1; i++) {
      cur[parts[i]] = cur[parts[i]] || {};
      cur = cur[parts[i]];
    }
    cur[parts[parts.length - 1]] = value;
  }
  function serialise(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.name === "csrf_token" || el.type === "submit" || el.type === "file") continue;
      if (el.type === "checkbox") put(body, el.name, el.checked);
      else if (el.type === "number" && el.value !== "") put(body, el.name, Number(el.value));
      else put(body, el.name, el.value);
    }
    return body;
  }
  async function submit(ev) {
    const form = ev.target.closest("form[data-api]");
    if (!form) return;
    ev.preventDefault();
    const out = form.querySelector(".form-result") || form.appendChild(document.createElement("div"));
    out.className = "form-result";
    out.textContent = "…";
    const hasFile = form.querySelector("input[type=file]");
    let opts;
    if (hasFile) {
      const data = new FormData(form);
      opts = { method: form.dataset.method || "POST", body: data,
               headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } };
    } else {
      opts = { method: form.dataset.method || "POST", body: JSON.stringify(serialise(form)),
               headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(),
                          "Accept": "application/json" } };
    }
    try {
      const res = await fetch(form.dataset.api, opts);
      const data = await res.json().catch(() => ({}));
      if (!res.ok) {
        out.classList.add("error");
        const details = data.details && typeof data.details === "object"
          ? Object.entries(data.details).map(([k, v]) => k + ": " + v).join("; ") : "";
        out.textContent = (data.message || res.statusText) + (details ? " — " + details : "");
        return;
      }
      if (form.dataset.next) window.location.href = form.dataset.next.replace("{id}", data.id);
      else window.location.reload();
    } catch (err) {
      out.classList.add("error");
      out.textContent = String(err);
    }
  }
  document.addEventListener("submit", submit);
})();
