"""The command map in headless Chromium (Debian package), as users see it: every role logs
in, the demo event replays, and one user's change reaches another's map within 2 seconds.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
# Flags for this closed network (no background connections, no sandbox as root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "hailops-demo"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server"), ["--demo"]) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium missing: run `make install`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _login(browser, base, username, viewport=(1400, 900)):
    # bypass_csp: string predicates of wait_for_function need eval(); test_csp_browser.py
    # drives the same pages under the real policy.
    ctx = browser.new_context(bypass_csp=True,
                              viewport={"width": viewport[0], "height": viewport[1]})
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live-status")
    return ctx, page, requests


@pytest.mark.parametrize("username", ["forecaster", "commander", "atc", "military", "member",
                                      "admin", "lishi"])
def test_every_role_sees_the_live_map_offline(server, browser, username):
    ctx, page, requests = _login(browser, server, username,
                                 viewport=(390, 844) if username == "lishi" else (1400, 900))
    page.wait_for_function("document.getElementById('live-status').textContent.includes('实时连接正常')",
                           timeout=15000)
    assert page.locator("div.county-label > div.county-label").count() == 13
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_{username}.png"))
    external = [u for u in requests if not u.startswith((server, "data:", "blob:"))]
    assert external == []
    ctx.close()


def test_demo_volume_appears_with_cells(server, browser):
    ctx, page, _ = _login(browser, server, "commander")
    # The live map never joins a drill by itself (issue 10): the demo drill is offered in the
    # banner, and the user joins it.
    page.click("#drill-banner a[href^='/?drill=']", timeout=60000)
    page.wait_for_url("**/?drill=*")
    page.wait_for_function("(document.getElementById('volume-label') || {}).textContent"
                           " && document.getElementById('volume-label').textContent.includes('冰雹单体')",
                           timeout=60000)
    assert page.locator("path.leaflet-interactive").count() > 20
    page.screenshot(path=str(ARTIFACTS / "map_demo_volume.png"))
    ctx.close()


def test_a_change_reaches_another_users_map_within_two_seconds(server, browser):
    watcher_ctx, watcher, _ = _login(browser, server, "forecaster")
    watcher.wait_for_function("document.getElementById('live-status').textContent.includes('实时连接正常')")
    actor_ctx, actor, _ = _login(browser, server, "commander")
    code = actor.evaluate("Object.keys(window.HAILOPS.siteMarkers)[0]")
    colour_js = f"window[window.HAILOPS.siteMarkers['{code}']].options.fillColor"
    before = watcher.evaluate(colour_js)
    target = "offline" if before != "#7f8c8d" else "ready"
    started = time.monotonic()
    status = actor.evaluate(
        """async ([code, target]) => (await fetch('/api/sites/' + code + '/readiness', {
               method: 'PATCH', headers: {'Content-Type': 'application/json',
               'X-CSRFToken': document.querySelector('input[name=csrf_token]').value},
               body: JSON.stringify({readiness: target})})).status""", [code, target])
    assert status == 200
    watcher.wait_for_function(f"{colour_js} !== '{before}'", timeout=2000)
    assert time.monotonic() - started < 2.0
    watcher.screenshot(path=str(ARTIFACTS / "map_site_status_pushed.png"))
    watcher_ctx.close()
    actor_ctx.close()
