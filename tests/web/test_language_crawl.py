"""Issue 11: one language.  Every console and the map, crawled in Chinese with live cells and
an operation in flight, must show no English sentence, no English word outside a small
allowlist (units, ICAO codes, product names), no raw snake_case code and no ISO UTC time."""

from __future__ import annotations

import re

import pytest

from tests.web.browser import ARTIFACTS, browser, login  # noqa: F401 - fixture
from tests.web.live_server import running_server
from tests.web.test_console_browser import _ingest_live_volumes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [("forecaster", "/console/forecaster"), ("commander", "/console/commander"),
         ("atc", "/console/atc"), ("military", "/console/military"), ("lishi", "/console/county"),
         ("member", "/console/member"), ("commander", "/")]

#: Latin words allowed in the Chinese UI: units, product and standard names, codes of the
#: airport, the language switch, and sample data markers in the registry's own strings.
ALLOWED = {
    "dBZ", "MESH", "POSH", "VIL", "km", "mm", "ZBLL", "ICAO", "QX", "JSON", "CAP", "English",
    "WR", "BL", "JFJ", "LS", "FS", "SAMPLE", "hailops", "OP", "BJT", "Dawu", "VILD", "XML",
    "min", "Leaflet",
    # the sample registry's own marker in liaison titles ("联络员 liaison (SAMPLE)")
    "liaison",
}
#: Login names of the demo accounts (identities, not UI language; they have no display name).
ACCOUNTS = {"commander", "atc", "military", "forecaster", "member", "admin", "lishi"}
WORD = re.compile(r"[A-Za-z]{3,}")
CODE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def offending(text: str) -> list[str]:
    """The English words, raw codes and ISO times in a page's visible text."""
    found = [w for w in WORD.findall(text) if w not in ALLOWED]
    found += CODE.findall(text)
    found += ISO_UTC.findall(text)
    return found


def test_offending_detects_what_the_user_found() -> None:
    """The crawl's own check: the strings the new user reported are caught."""
    assert offending("rounds reach 6500 m, above the cleared ceiling 6000 m")
    assert offending("火箭弹 rocket_wr98") == ["rocket", "rocket_wr98"]
    assert offending("依据 2026-07-01T08:30:00Z") == ["2026-07-01T08:30"]
    assert offending("射高 6500 m · 45 dBZ · MESH 30 mm · ZBLL") == []


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("crawl"), [], _ingest_live_volumes,
                        demo_accounts=True) as base:
        yield base


def _login(browser, base, username):  # noqa: F811
    ctx, page, _ = login(browser, base, username, locale="zh-CN")
    page.goto(base + "/lang/zh")
    return ctx, page


def test_every_console_and_the_map_speak_chinese(server, browser):  # noqa: F811
    # An operation in flight, so that states, clocks, aims and ammunition are on screen.
    ctx, cmd = _login(browser, server, "commander")
    cmd.goto(server + "/console/commander")
    cmd.wait_for_function("document.getElementById('live-status').textContent.includes('实时连接正常')",
                          timeout=15000)
    cmd.select_option("#pf-site", "LS-01")
    cmd.click("#pf-submit")
    try:
        cmd.wait_for_selector("#ops-body tr[data-state=proposed]", timeout=5000)
    except Exception:
        cmd.screenshot(path=str(ARTIFACTS / "crawl_debug.png"), full_page=True)
        raise AssertionError(cmd.evaluate("document.getElementById('toasts').innerText")) from None
    row = cmd.locator("#ops-body tr[data-state=proposed]").first
    row.locator("button[data-action=authorize]").click()
    cmd.wait_for_selector("#ops-body tr[data-state=authorized] button[data-action=request-clearance]")
    cmd.locator("#ops-body tr[data-state=authorized] button[data-action=request-clearance]").click()
    cmd.wait_for_selector("#ops-body tr[data-state=clearance_requested]", timeout=5000)
    ctx.close()

    problems = {}
    for username, path in PAGES:
        ctx, page = _login(browser, server, username)
        page.goto(server + path)
        page.wait_for_timeout(2500)  # live loads, first render, clocks ticking
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"crawl_{username}_{path.strip('/').replace('/', '_') or 'map'}.png"),
                        full_page=True)
        if path == "/":
            # one layer control, colour bars for the radar products, metric scale only
            page.wait_for_selector("#product-scales [data-scale=reflectivity]", timeout=10000)
            assert page.locator(".leaflet-control-layers").count() == 1
            assert page.locator(".leaflet-control-scale-line").count() == 1
        text = page.evaluate("document.body.innerText")
        # the user's own login name is an identifier, not UI language
        bad = [w for w in offending(text) if w not in ACCOUNTS]
        if bad:
            problems[path] = sorted(set(bad))
        ctx.close()
    assert problems == {}
