"""Issue 10: a drill WITHOUT automatic players, rehearsed by hand.  The admin starts it from
the admin page (the scheduler runs it); each role joins it from its own console (the "take
part" link) and completes one operation using only what the pages offer: warning (with its
CAP preview), proposal, both airspace clearances, order, acknowledgement, firing and report.
Screenshots (Chinese) in test-artifacts/drill_*.png; the time from the first volume to the
firing report is written to test-artifacts/drill_timing.json."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.web.browser import ARTIFACTS, browser, login, shot, wait_connected  # noqa: F401 - fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONSOLES = {
    "forecaster": "forecaster",
    "commander": "commander",
    "atc": "atc",
    "military": "military",
    "lishi": "county",
    "member": "member",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("drill"), [], demo_accounts=True) as base:
        yield base


def _login(browser, base, username, phone=False):  # noqa: F811
    # The scheduler runs the drill inside `hailops run` on a shared 2-core machine: reading a
    # radar volume can hold a page for many seconds.
    return login(browser, base, username, phone=phone, timeout_ms=90000)


def _join(page, base, console, drill_id):
    """Open the console and take part in the drill through the page's own invitation."""
    page.goto(f"{base}/console/{console}")
    page.click(f".drill-invite a[href='?drill={drill_id}']")
    page.wait_for_selector(".console-drill")
    wait_connected(page)


def _shot(page, name):
    shot(page, f"drill_{name}")


def test_a_drill_without_automatic_players_completed_by_hand(server, browser):  # noqa: F811
    admin_ctx, admin, admin_errors = _login(browser, server, "admin")
    admin.goto(server + "/admin/drills")
    admin.select_option("select[name=event]", "canberra_20181220")
    admin.fill("input[name=speed]", "1")
    assert not admin.is_checked("input[name=auto_approve]")
    # A malformed inject script is refused on the page, with the reason.
    admin.fill("textarea[name=script]", '[{"at_s": 5, "kind": "site_offline"}]')
    admin.click("#drill-form button[type=submit]")
    admin.wait_for_selector("#drill-error:not([hidden])")
    assert "site_code" in admin.text_content("#drill-error")
    admin.fill("textarea[name=script]", "")
    admin.click("#drill-form button[type=submit]")
    admin.wait_for_selector("tr[data-id]")
    drill_id = admin.get_attribute("tr[data-id]", "data-id")
    # The scheduler (in-process under `hailops run`) picks the request up.
    deadline = time.monotonic() + 30
    while admin.get_attribute(f"tr[data-id='{drill_id}']", "data-state") != "running":
        assert time.monotonic() < deadline, "the scheduler never started the drill"
        time.sleep(1)
        admin.reload()
    assert admin.is_visible(f"tr[data-id='{drill_id}'] button[data-act=pause]")
    assert not admin.is_visible(f"tr[data-id='{drill_id}'] button[data-act=resume]")
    _shot(admin, "admin")

    pages = {}
    for name, console in CONSOLES.items():
        ctx, page, errors = _login(browser, server, name, phone=name == "lishi")
        _join(page, server, console, drill_id)
        pages[name] = (ctx, page, errors)
    fc, cmd, atc, mil, ls, mem = (pages[n][1] for n in CONSOLES)
    # One drill clock: the drill's time (2018-12-20, Beijing time) beside the DRILL marker.
    assert fc.text_content("#bjt-clock").startswith("演练 12-20 14:")
    # On a phone the top-bar clock is hidden: the drill banner carries the drill clock.
    assert ls.text_content("#drill-clock").startswith("12-20 14:")

    # Forecaster: the drill's first volume brings hail cells; confirm one and warn Lishi.
    fc.wait_for_selector("#cells-body tr.hail button[data-do=confirmed]", timeout=120000)
    wall_first_volume = time.monotonic()
    row = fc.locator("#cells-body tr.hail").first
    record_id = row.get_attribute("data-record")
    storm = row.locator(".storm-name").text_content()
    row.locator("button[data-do=confirmed]").click()
    fc.wait_for_selector(f"tr[data-record='{record_id}'] .review-confirmed", timeout=60000)
    row.locator("button[data-do=warn]").click()
    fc.check("#warning-counties input[value=lishi]")
    cap = fc.request.get(server + fc.get_attribute("#cap-preview", "href"))
    assert cap.ok and b"urn:oasis:names:tc:emergency:cap:1.2" in cap.body()
    fc.click("#issue-warning")
    fc.wait_for_selector("#warnings-issued li", timeout=60000)
    assert "14:" in fc.text_content("#warnings-issued li")  # stamped in drill time (BJT)
    _shot(fc, "forecaster")

    # Commander: propose (LS-01, Lishi), authorize, request both clearances.
    cmd.select_option("#pf-site", "LS-01")
    # The cell as the commander picks it: the storm the forecaster confirmed, by its one name,
    # from the list the cell field offers.
    option = cmd.locator(f"#pf-cells option[label='{storm}']")
    option.wait_for(state="attached", timeout=60000)
    cmd.fill("#pf-cell", option.get_attribute("value"))
    cmd.fill("#propose-form input[name=azimuth_deg]", "10")
    cmd.fill("#propose-form input[name=elevation_deg]", "60")
    cmd.select_option("#pf-ammo", "37mm_shell")
    cmd.fill("#propose-form input[name=count]", "12")
    cmd.fill("#pf-ceiling", "6000")
    cmd.click("#pf-submit")
    cmd.wait_for_selector("#ops-body tr[data-state=proposed]", timeout=60000)
    op_id = (
        cmd.locator("#ops-body tr[data-state=proposed]")
        .first.get_attribute("id")
        .removeprefix("op-")
    )
    op_row = f"#op-{op_id}"
    assert storm in cmd.text_content(op_row)  # one name per storm, in the operations too
    cmd.click(f"{op_row} button[data-action=authorize]")
    cmd.wait_for_selector(f"{op_row}[data-state=authorized]", timeout=60000)
    cmd.click(f"{op_row} button[data-action=request-clearance]")

    # ATC and the military see the drill's request (the finding: they never did) and grant.
    card = f".req-card[data-op='{op_id}']"
    for page in (atc, mil):
        page.wait_for_selector(card, timeout=60000)
    _shot(atc, "atc_pending")
    atc.click(f"{card} button[data-do=grant]")
    mil.wait_for_selector(f"{card} .clock-granted", timeout=60000)
    _shot(mil, "military_pending")
    mil.click(f"{card} button[data-do=grant]")
    cmd.wait_for_selector(f"{op_row}[data-state=cleared]", timeout=60000)

    # Commander orders; the Lishi operator acknowledges, fires and reports.
    cmd.click(f"{op_row} button[data-action=order]")
    order = f"article.order-card[data-op='{op_id}']"
    ls.wait_for_selector(f"{order} button[data-do=acknowledge]", timeout=60000)
    _shot(ls, "county_order")
    ls.click(f"{order} button[data-do=acknowledge]")
    cmd.wait_for_selector(f"{op_row}[data-state=acknowledged]", timeout=60000)
    ls.click(f"{order} button[data-do=start-firing]")
    cmd.wait_for_selector(f"{op_row}[data-state=firing]", timeout=60000)
    form = f"{order} form.report-form"
    ls.wait_for_selector(form)
    ls.select_option(f"{form} select[name=observation]", "hail")
    ls.fill(f"{form} input[name='rounds:37mm_shell']", "12")
    ls.click(f"{form} button[type=submit]")
    cmd.click("#show-closed")
    cmd.wait_for_selector(f"{op_row}[data-state=completed]", timeout=60000)
    wall_report = time.monotonic()

    # The member overview shows the drill's operation, bulletins in drill time, after reload too.
    mem.wait_for_function(
        "document.getElementById('states').textContent.includes('已完成')", timeout=60000
    )
    mem.reload()
    mem.wait_for_function(
        "document.getElementById('states').textContent.includes('已完成')", timeout=60000
    )
    mem.wait_for_function(
        "document.getElementById('bulletins').textContent.includes('完成作业')", timeout=60000
    )
    _shot(mem, "member")
    _shot(cmd, "commander_completed")
    _shot(ls, "county_completed")

    history = cmd.evaluate(f"HO.ops.get('{op_id}').history")
    assert [h["action"] for h in history] == [
        "propose",
        "authorize",
        "request_clearance",
        "grant",
        "grant",
        "order",
        "acknowledge",
        "start_firing",
        "report_firing",
    ]
    assert all(h["at"].startswith("2018-12-20") for h in history)  # the drill clock
    # Nothing of the drill on a live console, nothing live in the drill's.
    live_ctx, live_cmd, _ = _login(browser, server, "commander")
    live_cmd.goto(server + "/console/commander")
    live_cmd.wait_for_function(
        "document.getElementById('live-status').textContent.includes('实时连接正常')"
    )
    assert live_cmd.locator(op_row).count() == 0

    drills = admin.request.get(server + "/api/drills").json()["drills"]
    drill = next(d for d in drills if d["id"] == drill_id)
    first_scan = datetime.fromisoformat("2018-12-20T06:06:30+00:00")
    reported = datetime.fromisoformat(history[-1]["at"])
    timing = {
        "drill_id": drill_id,
        "speed": drill["speed"],
        "first_volume_to_firing_report_drill_s": (reported - first_scan).total_seconds(),
        "first_cells_on_screen_to_report_wall_s": round(wall_report - wall_first_volume, 1),
    }
    (ARTIFACTS / "drill_timing.json").write_text(json.dumps(timing, indent=2))
    report = admin.request.get(f"{server}/api/drills/{drill_id}/report?format=html").text()
    assert "演练报告" in report
    admin.click(f"tr[data-id='{drill_id}'] button[data-act=stop]")
    admin.wait_for_selector(f"tr[data-id='{drill_id}'][data-state=stopped]", timeout=60000)
    for name, (ctx, _page, errors) in pages.items():
        assert errors == [], (name, errors)
        ctx.close()
    assert admin_errors == []
    live_ctx.close()
    admin_ctx.close()
