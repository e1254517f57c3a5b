"""Issue 15, done-when: after the built-in drill, in headless Chromium under the real content
security policy, the office drafts and issues a bulletin, a member unit's liaison confirms it,
the season page shows the drill, and a ground report appears on the map.  Screenshots are
kept in test-artifacts/ (office_bulletin.png, office_season_drill.png, office_map.png)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from command.testing import hailops_command
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "hailops-demo"


def _prepare(env):
    subprocess.run([*hailops_command(), "seed", "--demo-accounts"], env=env, check=True,
                   capture_output=True)
    out = subprocess.run([*hailops_command(), "drill", "run", "canberra_20181220", "--speed", "600",
                          "--auto-approve"], env=env, check=True, capture_output=True, text=True)
    assert "completed" in out.stdout, out.stdout + out.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("office"), [], prepare=_prepare) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium missing: run `make install`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _login(browser, base, username, path, width=1300, height=900):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(base + path)
    return ctx, page, errors


def test_office_issues_a_bulletin_that_a_liaison_confirms(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    ctx, page, errors = _login(browser, server, "commander", "/office/bulletins?lang=zh")
    with page.expect_navigation():
        page.click("form:has(select[name=drill_id]) button[type=submit]")
    assert "/office/bulletins/" in page.url
    bulletin_url = page.url
    assert "【演练】" in page.inner_text("#notice h3")
    with page.expect_navigation():
        page.click("#issue-form button")
    docno = page.inner_text("#docno")
    assert docno.startswith("吕防雹通〔") and docno.endswith("〕1号")
    assert page.locator("#deliveries tbody tr").count() == 14
    page.screenshot(path=str(ARTIFACTS / "office_bulletin.png"), full_page=True)
    # The office names the airport liaison's account.
    page.goto(server + "/office")
    row = page.locator("tr[data-unit=airport] td").nth(1)
    row.locator("input[name=username]").fill("member")
    with page.expect_navigation():
        row.locator("button").click()
    page.goto(server + "/office/season")
    drills = page.locator("form a[href*='drill=']")
    with page.expect_navigation():
        drills.first.click()
    assert page.locator("#approval-table tbody tr").count() == 2
    assert int(page.inner_text("#kpi-ops")) >= 1
    page.screenshot(path=str(ARTIFACTS / "office_season_drill.png"), full_page=True)
    assert errors == [], errors
    ctx.close()

    ctx, page, errors = _login(browser, server, "member", bulletin_url.replace(server, ""))
    assert page.locator("#confirm-form").count() == 1
    with page.expect_navigation():
        page.click("#confirm-form button")
    assert page.locator("#confirm-form").count() == 0
    assert page.locator("#deliveries tr[data-unit=airport] .tag.confirmed").count() == 1
    assert errors == [], errors
    ctx.close()


def test_ground_report_from_the_county_appears_on_the_map(server, browser):
    ctx, page, errors = _login(browser, server, "lishi", "/office/ground?lang=zh", width=420, height=860)
    page.fill("input[name=place]", "信义镇")
    page.select_option("select[name=size_class]", "large")
    page.click("#ground-form button[type=submit]")
    page.wait_for_selector("#ground-reports td:has-text('信义镇')")
    ctx.close()
    ctx, page, errors = _login(browser, server, "commander", "/")
    page.wait_for_selector("#live-status")
    page.wait_for_selector("path.leaflet-interactive[fill='#e53935']", timeout=15000)
    page.screenshot(path=str(ARTIFACTS / "office_map.png"))
    assert errors == [], errors
    ctx.close()
