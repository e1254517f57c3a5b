"""Issue 13: the pages work under the Content Security Policy — now without 'unsafe-inline'
for styles as well as scripts.  Every role opens the map, its console and the office pages it
may see, live and inside the running drill, plus the stand-alone documents (the drill report,
an issued bulletin) and the error page, in headless Chromium against a real server (demo,
Chinese).  On every page: the policy allows no inline style or script, the browser reports no
CSP violation and no console error, and the page does its work (the live socket connects, the
map draws its layers and opens folium's popups, the product colour bars are painted).

A canary proves the policy is enforced on each page: a style attribute written through
innerHTML is refused (one violation, the colour not applied), as it would not be with
'unsafe-inline'."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.web.browser import ARTIFACTS, CONNECTED, DESK, PASSWORD, PHONE
from tests.web.browser import browser as browser  # noqa: PLC0414 - the module's fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROLES = {
    "forecaster": ("forecaster", "/console/forecaster"),
    "commander": ("commander", "/console/commander"),
    "atc": ("atc", "/console/atc"),
    "military": ("military", "/console/military"),
    "county": ("lishi", "/console/county"),
    "member": ("member", "/console/member"),
    "admin": ("admin", "/admin/drills"),
}
OFFICE = {
    "forecaster": ["/office/ground", "/office/bulletins", "/office/season", "/office/joint"],
    "commander": [
        "/office",
        "/office/ground",
        "/office/bulletins",
        "/office/season",
        "/office/joint",
    ],
    "atc": ["/office/ground", "/office/bulletins", "/office/season", "/office/joint"],
    "military": ["/office/ground", "/office/bulletins", "/office/season", "/office/joint"],
    "county": ["/office/ground", "/office/bulletins"],
    "member": ["/office/ground", "/office/bulletins", "/office/season", "/office/joint"],
    "admin": ["/office", "/office/ground", "/office/bulletins", "/office/season", "/office/joint"],
}
SEASON_ROLES = ("forecaster", "commander", "atc", "military", "member", "admin")

# Every violation of the page, kept where the test reads it (the DOM event fires for each
# one, including those the console folds).
COLLECTOR = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__csp.push("
    "e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber +"
    " ' ' + (e.sample || '')));"
)
CANARY = """() => {
  const d = document.createElement('div');
  d.innerHTML = '<b id="csp-canary" style="color: rgb(1, 2, 3)">canary</b>';
  document.body.appendChild(d);
  return getComputedStyle(document.getElementById('csp-canary')).color;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("csp"), ["--demo"]) as base:
        yield base


def _login(browser, base: str, username: str, viewport: dict[str, int]) -> Any:
    """A context under the real policy (no bypass), logged in through the form."""
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    ctx.add_init_script(COLLECTOR)
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    page.close()
    return ctx


def _csrf(ctx, base: str, path: str) -> str:
    page = ctx.new_page()
    page.goto(base + path)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    page.close()
    return token


@pytest.fixture(scope="module")
def world(server, browser) -> dict[str, Any]:
    """The demo's running drill and an issued bulletin (drafted and issued by the commander
    through the API, with the page's CSRF token)."""
    ctx = _login(browser, server, "commander", DESK)
    token = _csrf(ctx, server, "/office/bulletins")
    headers = {"X-CSRFToken": token}
    draft = ctx.request.post(
        server + "/api/office/bulletins",
        data={"kind": "notice", "title": "CSP 测试通知", "body": "各单位：\n测试。"},
        headers=headers,
    )
    assert draft.status == 201, draft.text()
    bid = draft.json()["id"]
    issued = ctx.request.post(f"{server}/api/office/bulletins/{bid}/issue", headers=headers)
    assert issued.status == 200, issued.text()
    drills = ctx.request.get(server + "/api/drills").json()["drills"]
    ctx.close()
    running = [d["id"] for d in drills if d["state"] in ("running", "paused")]
    assert running, drills
    return {"drill": running[0], "bulletin": bid}


def _connected(page) -> None:
    page.locator("#live-status", has_text=CONNECTED).wait_for(timeout=20000)


def _map(page) -> None:
    _connected(page)
    assert page.locator("div.county-label > div.county-label").count() == 13
    # folium's popup (its size now a class, not a style attribute) opens on a site marker.
    marker = page.evaluate("() => Object.values(window.HAILOPS.siteMarkers)[0]")
    page.evaluate("(name) => window[name].openPopup()", marker)
    popup = page.locator(".leaflet-popup-content .folium-popup-fill")
    popup.wait_for(timeout=5000)
    assert popup.bounding_box()["width"] > 50


def _drill_map(page) -> None:
    _map(page)
    page.locator("#drill-banner").wait_for(timeout=20000)
    # The product colour bars: spans coloured through the CSSOM (reflectivity is on by
    # default; MESH is turned on in the layer control).
    page.locator("#volume-label", has_text="冰雹单体").wait_for(timeout=60000)
    page.locator(".leaflet-control-layers").first.hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="MESH").click()
    for key in ("reflectivity", "mesh"):
        bar = page.locator(f"#product-scales .scale[data-scale={key}] .bar span").first
        bar.wait_for(timeout=5000)
        colour = bar.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour not in ("", "rgba(0, 0, 0, 0)"), key


def _legend(page) -> None:
    swatch = page.locator(".legend i[data-colour]").first
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"


def _admin(page) -> None:
    page.locator("#drill-form").wait_for()
    assert "仅有 2 个体扫" in page.locator(".event-note").first.inner_text()


def _admin_error(page) -> None:
    """The admin drills page refuses a bad inject script and says so in Chinese (issue 10)."""
    page.fill("textarea[name=script]", "[{")
    page.click("#drill-form button[type=submit]")
    error = page.locator("#drill-error")
    error.wait_for(timeout=10000)
    assert error.inner_text().startswith("情景注入脚本不是有效的 JSON（第 1 行"), error.inner_text()


def _loaded(page) -> None:
    page.wait_for_load_state("load")


def _pages(role: str, drill: str, bulletin: int) -> list[tuple[str, Callable[[Any], None]]]:
    console = ROLES[role][1]
    live = _connected if role != "admin" else _admin
    out = [("/", lambda p: (_map(p), _legend(p))), (console, live)]
    out += [(path, _loaded) for path in OFFICE[role]]
    out += [("/?drill=" + drill, _drill_map)]
    if role != "admin":
        out += [(f"{console}?drill={drill}", _connected)]
    if role in SEASON_ROLES:
        out += [(f"/office/season?drill={drill}", _loaded)]
    if role in ("commander", "county"):
        out += [(f"/api/drills/{drill}/report?format=html", _loaded)]
    if role in ("commander", "member"):
        out += [
            (f"/office/bulletins/{bulletin}", _loaded),
            (f"/office/bulletins/{bulletin}.html", _loaded),
        ]
    if role == "admin":
        out += [("/no-such-page", _loaded)]
    return out


def _visit(ctx, base: str, path: str, check: Callable[[Any], None]) -> dict[str, Any]:
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))
    resp = page.goto(base + path)
    expected = 404 if path == "/no-such-page" else 200
    assert resp.status == expected, (path, resp.status)
    policy = resp.headers["content-security-policy"]
    check(page)
    page.wait_for_timeout(700)  # late violations and errors are queued as tasks
    # Every frame's violations (the commander's and forecaster's consoles frame the map).
    frames = {f.url: f.evaluate("() => (window.__csp || []).slice()") for f in page.frames}
    violations = [f"{url}: {v}" for url, seen in frames.items() for v in seen]
    # The error page's own status is logged by the browser: that is the page working.
    errors = [e for e in console if expected == 200 or f"status of {expected}" not in e]
    # The canary: an inline style attribute is refused, and the refusal is seen.
    before = len(page.evaluate("() => window.__csp"))
    colour = page.evaluate(CANARY)
    page.wait_for_timeout(300)
    canary = page.evaluate("() => window.__csp.slice()")[before:]
    page.close()
    return {
        "path": path,
        "frames": len(frames),
        "policy": policy,
        "violations": violations,
        "console_errors": errors,
        "canary_colour": colour,
        "canary": canary,
    }


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_works_without_inline_styles(server, browser, world, role):
    username = ROLES[role][0]
    ctx = _login(browser, server, username, PHONE if role == "county" else DESK)
    results = [
        _visit(ctx, server, path, check)
        for path, check in _pages(role, world["drill"], world["bulletin"])
    ]
    page = ctx.new_page()
    page.goto(server + ("/?drill=" + world["drill"]))
    _drill_map(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"csp_{role}_drill_map.png"))
    page.goto(server + ROLES[role][1])
    page.wait_for_timeout(1500)
    if role == "admin":
        _admin_error(page)
    page.screenshot(path=str(ARTIFACTS / f"csp_{role}.png"), full_page=True)
    ctx.close()
    (ARTIFACTS / f"csp_{role}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(
        f"CSP {role}: {len(results)} pages, "
        f"{sum(len(r['violations']) for r in results)} violations, "
        f"{sum(len(r['console_errors']) for r in results)} console errors"
    )
    for r in results:
        style_src = next(d for d in r["policy"].split(";") if d.strip().startswith("style-src"))
        assert "'unsafe-inline'" not in r["policy"] and "'unsafe-eval'" not in r["policy"], r
        assert "'unsafe-hashes'" not in style_src, r  # new documents carry no style attribute
        assert r["canary_colour"] != "rgb(1, 2, 3)", r
        assert len(r["canary"]) == 1 and r["canary"][0].startswith("style-src"), r
    assert [(r["path"], r["violations"]) for r in results if r["violations"]] == []
    assert [(r["path"], r["console_errors"]) for r in results if r["console_errors"]] == []


def test_the_login_page_and_the_headers(server, browser):
    with urllib.request.urlopen(server + "/login") as resp:  # noqa: S310 - loopback test server
        headers = resp.headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers.get_all("Server") in (["hailops"], ["hailops", "hailops"])
    assert "Werkzeug" not in str(headers) and "Python/" not in str(headers)
    ctx = browser.new_context(viewport=DESK)
    ctx.add_init_script(COLLECTOR)
    result = _visit(ctx, server, "/login", _loaded)
    ctx.close()
    assert result["violations"] == [] and result["console_errors"] == []
    assert result["canary_colour"] != "rgb(1, 2, 3)" and len(result["canary"]) == 1
