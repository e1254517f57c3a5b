"""The command map in headless Chromium (Debian package), as users see it: every role logs
in, the demo event replays, and one user's change reaches another's map within 2 seconds.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import time

import pytest

from tests.web.browser import browser, login, shot, wait_connected  # noqa: F401 - fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server"), ["--demo"]) as base:
        yield base


def _login(browser, base, username, phone=False):  # noqa: F811 - the imported fixture
    requests: list[str] = []
    ctx, page, _ = login(browser, base, username, phone=phone, requests=requests)
    page.wait_for_selector("#live-status")
    return ctx, page, requests


@pytest.mark.parametrize("username", ["forecaster", "commander", "atc", "military", "member",
                                      "admin", "lishi"])
def test_every_role_sees_the_live_map_offline(server, browser, username):  # noqa: F811
    ctx, page, requests = _login(browser, server, username, phone=username == "lishi")
    wait_connected(page)
    assert page.locator("div.county-label > div.county-label").count() == 13
    shot(page, f"map_{username}", full_page=False)
    external = [u for u in requests if not u.startswith((server, "data:", "blob:"))]
    assert external == []
    ctx.close()


def test_demo_volume_appears_with_cells(server, browser):  # noqa: F811
    ctx, page, _ = _login(browser, server, "commander")
    # The live map never joins a drill by itself (issue 10): the demo drill is offered in the
    # banner, and the user joins it.
    page.click("#drill-banner a[href^='/?drill=']", timeout=60000)
    page.wait_for_url("**/?drill=*")
    page.wait_for_function("(document.getElementById('volume-label') || {}).textContent"
                           " && document.getElementById('volume-label').textContent.includes('冰雹单体')",
                           timeout=60000)
    assert page.locator("path.leaflet-interactive").count() > 20
    shot(page, "map_demo_volume", full_page=False)
    ctx.close()


def test_a_change_reaches_another_users_map_within_two_seconds(server, browser):  # noqa: F811
    watcher_ctx, watcher, _ = _login(browser, server, "forecaster")
    wait_connected(watcher)
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
    shot(watcher, "map_site_status_pushed", full_page=False)
    watcher_ctx.close()
    actor_ctx.close()
