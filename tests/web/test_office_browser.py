"""Issue 15, done-when: after the built-in drill, in headless Chromium under the real content
security policy, the office drafts and issues a bulletin, a member unit's liaison confirms it,
the season page shows the drill, and a ground report appears on the map.  Screenshots are
kept in test-artifacts/ (office_bulletin.png, office_season_drill.png, office_map.png)."""

from __future__ import annotations

import subprocess

import pytest

from command.testing import hailops_command
from tests.web.browser import ARTIFACTS, browser, login  # noqa: F401 - fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _prepare(env):
    out = subprocess.run([*hailops_command(), "drill", "run", "canberra_20181220", "--speed", "600",
                          "--auto-approve"], env=env, check=True, capture_output=True, text=True)
    assert "completed" in out.stdout, out.stdout + out.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("office"), [], prepare=_prepare,
                        demo_accounts=True) as base:
        yield base


def _login(browser, base, username, path, width=1300, height=900):  # noqa: F811
    """Under the real content security policy, every 4xx/5xx response counted as an error."""
    ctx, page, errors = login(browser, base, username, bypass_csp=False, locale="zh-CN",
                              viewport={"width": width, "height": height},
                              fail_on_http_errors=True)
    page.wait_for_load_state("networkidle")
    page.goto(base + path)
    return ctx, page, errors


def test_office_issues_a_bulletin_that_a_liaison_confirms(server, browser):  # noqa: F811
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


def test_ground_report_from_the_county_appears_on_the_map(server, browser):  # noqa: F811
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
