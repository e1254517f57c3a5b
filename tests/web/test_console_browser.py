"""One whole operation through the role consoles in headless Chromium, each role in its own
browser context (issue 6): the forecaster confirms a cell, the commander proposes, authorizes
and requests clearance, ATC and the military grant, the commander orders, the Lishi operator
(phone-sized screen) acknowledges, starts and reports — and every other page sees each
action within 2 seconds.  Screenshots are kept in test-artifacts/console_*.png."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from command.timefmt import BEIJING
from tests.web.browser import browser, open_console, seen_within, shot  # noqa: F401 - fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUSH_LIMIT_S = 2.0
CONSOLES = {"forecaster": "forecaster", "commander": "commander", "atc": "atc",
            "military": "military", "lishi": "county", "member": "member"}


EVENT_DIR = __import__("pathlib").Path(__file__).resolve().parents[2] / "radar" / "data" / "events"


def _ingest_live_volumes(env: dict[str, str]) -> None:
    """The two Canberra volumes, relocated over the deployment's radar and re-timed to the
    last six minutes, recorded as *live* volumes (the demo's drill loop is not used: the
    consoles show live data)."""
    from command import create_app
    from command.deployment import deployment
    from command.ingest import current_levels, record_volume
    from radar.config import DetectionConfig
    from radar.detect import detect_volume
    from radar.io import REFLECTIVITY_CANDIDATES, read_volume
    from radar.replay import Relocation, relocate, retime

    app = create_app({"env": "demo", "database_url": env["HAILOPS_DATABASE_URL"],
                      "instance_path": env["HAILOPS_INSTANCE_PATH"], "scheduler_enabled": False})
    settings = app.config["HAILOPS"]
    now = datetime.now(UTC).replace(microsecond=0)
    files = sorted((EVENT_DIR / "canberra_20181220").glob("*.h5"))
    assert len(files) >= 2, files
    with app.app_context(), app.extensions["hailops_db"].session() as session:
        radar_site = deployment().radar
        for i, path in enumerate(files):
            radar = read_volume(path, fields=REFLECTIVITY_CANDIDATES)
            relocate(radar, Relocation(radar_site.lat, radar_site.lon))
            retime(radar, now - timedelta(minutes=6 * (len(files) - 1 - i)))
            result = detect_volume(radar, current_levels(settings, now), DetectionConfig())
            record_volume(session, result, filename=f"TEST live {path.name}", sha256=f"{i:064d}",
                          products_dir=settings.products, processing_ms=0.0)
            session.commit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("consoles"), [], _ingest_live_volumes,
                        demo_accounts=True) as base:
        yield base


def _console(browser, base, username):  # noqa: F811 - the imported fixture
    return open_console(browser, base, username, CONSOLES[username])


def _shot(page, name):
    shot(page, f"console_{name}")


def _seen_within(page, selector, started, what):
    seen_within(page, selector, started, what, PUSH_LIMIT_S)


def test_full_operation_across_the_role_consoles(server, browser):  # noqa: F811
    pages = {name: _console(browser, server, name) for name in CONSOLES}
    fc, cmd, atc, mil, ls, mem = (pages[n][1] for n in CONSOLES)

    # Forecaster: the demo volume's hail cells are listed; confirm the first one.
    fc.wait_for_selector("#cells-body tr.hail button[data-do=confirmed]", timeout=10000)
    row = fc.locator("#cells-body tr.hail").first
    cell_id = row.get_attribute("data-record")
    storm = row.locator(".storm-name").text_content()
    assert storm.startswith("风暴 ")  # the storm's one name (issue 11)
    started = time.monotonic()
    row.locator("button[data-do=confirmed]").click()
    _seen_within(fc, f"tr[data-record='{cell_id}'] .review-confirmed", started, "own review")
    cmd.wait_for_function(f"document.getElementById('alerts').textContent.includes('确认 {storm}')",
                          timeout=PUSH_LIMIT_S * 1000)
    assert time.monotonic() - started < PUSH_LIMIT_S

    # ... and issues a hail warning for Lishi, exported as CAP 1.2.
    row.locator("button[data-do=warn]").click()
    fc.check("#warning-counties input[value=lishi]")
    started = time.monotonic()
    fc.click("#issue-warning")
    cmd.wait_for_function("document.getElementById('alerts').textContent.includes('冰雹预警已发布')",
                          timeout=PUSH_LIMIT_S * 1000)
    assert time.monotonic() - started < PUSH_LIMIT_S
    cap_url = fc.get_attribute("#warnings-issued a", "href")
    cap = fc.request.get(cap_url if cap_url.startswith("http") else server + cap_url)
    assert cap.ok and b"urn:oasis:names:tc:emergency:cap:1.2" in cap.body() and b"<polygon>" in cap.body()
    _shot(fc, "forecaster")

    # Commander: a proposal for Lishi site LS-01 (sector 300°–60°, 37 mm), then authorize.
    cmd.select_option("#pf-site", "LS-01")
    cmd.fill("#pf-cell", f"C-BROWSER-{cell_id}")
    cmd.fill("#propose-form input[name=azimuth_deg]", "10")
    cmd.fill("#propose-form input[name=elevation_deg]", "60")
    cmd.select_option("#pf-ammo", "37mm_shell")
    cmd.fill("#propose-form input[name=count]", "12")
    cmd.fill("#pf-ceiling", "6000")
    cmd.click("#pf-submit")
    cmd.wait_for_selector("#ops-body tr[data-state=proposed]", timeout=5000)
    op_id = cmd.locator("#ops-body tr[data-state=proposed]").first.get_attribute("id").removeprefix("op-")
    op_row = f"#op-{op_id}"
    # A double click applies once: one idempotency key per intended action.
    cmd.dblclick(f"{op_row} button[data-action=authorize]")
    cmd.wait_for_selector(f"{op_row}[data-state=authorized]", timeout=5000)

    started = time.monotonic()
    cmd.click(f"{op_row} button[data-action=request-clearance]")
    for page, name in ((atc, "ATC"), (mil, "military")):
        _seen_within(page, f".req-card[data-op='{op_id}']", started, f"request at {name}")
    assert atc.locator("#alarm-banner").is_visible()
    atc.wait_for_function("document.querySelector('#airspace-map path.leaflet-interactive') !== null")
    assert atc.evaluate("HAILOPS_AIRSPACE_MAP.getZoom()") >= 10  # focused on the sector
    _shot(atc, "atc_pending")

    started = time.monotonic()
    # ATC narrows the window: it now ends 20 minutes from now (Beijing time).
    end_bjt = (datetime.now(UTC) + timedelta(minutes=20)).astimezone(BEIJING).strftime("%H:%M")
    atc.fill(f".req-card[data-op='{op_id}'] input[name=end]", end_bjt)
    atc.click(f".req-card[data-op='{op_id}'] button[data-do=grant]")
    mil.wait_for_function(
        f"document.querySelector(\".req-card[data-op='{op_id}'] .clock-granted\") !== null",
        timeout=PUSH_LIMIT_S * 1000)
    assert time.monotonic() - started < PUSH_LIMIT_S
    _shot(mil, "military_pending")

    started = time.monotonic()
    mil.click(f".req-card[data-op='{op_id}'] button[data-do=grant]")
    _seen_within(cmd, f"{op_row}[data-state=cleared]", started, "cleared at the commander")
    _seen_within(atc, f"#active tr[data-op='{op_id}'] .state-cleared", started, "cleared at ATC")
    assert "–" + end_bjt in cmd.locator(op_row).text_content()  # the narrowed window
    _shot(cmd, "commander_cleared")

    started = time.monotonic()
    cmd.click(f"{op_row} button[data-action=order]")
    card = f"article.order-card[data-op='{op_id}']"
    _seen_within(ls, f"{card} button[data-do=acknowledge]", started, "order at Lishi")
    assert ls.locator("#alarm-banner").is_visible()
    _shot(ls, "county_order")

    started = time.monotonic()
    ls.click(f"{card} button[data-do=acknowledge]")
    _seen_within(cmd, f"{op_row}[data-state=acknowledged]", started, "acknowledgement at the commander")
    assert not ls.locator("#alarm-banner").is_visible()

    started = time.monotonic()
    ls.click(f"{card} button[data-do=start-firing]")
    _seen_within(cmd, f"{op_row}[data-state=firing]", started, "firing at the commander")
    _seen_within(atc, f"#active tr[data-op='{op_id}'] .state-firing", started, "firing at ATC")

    form = f"{card} form.report-form"
    ls.wait_for_selector(form)
    ls.select_option(f"{form} select[name=observation]", "hail")
    ls.fill(f"{form} input[name='rounds:37mm_shell']", "12")
    _shot(ls, "county_report_form")
    started = time.monotonic()
    ls.click(f"{form} button[type=submit]")
    cmd.click("#show-closed")
    _seen_within(cmd, f"{op_row}[data-state=completed]", started, "report at the commander")
    ls.wait_for_selector(f"{card} button[data-do=written-report]")
    ls.click(f"{card} button[data-do=written-report]")
    ls.wait_for_function(f"document.querySelector(\"{card}\").textContent.includes('书面报告已交')")
    assert "188" in ls.locator("#ammo").text_content()  # LS-01: 200 − 12 shells
    mem.wait_for_function("document.getElementById('states').textContent.includes('已完成')",
                          timeout=5000)
    _shot(ls, "county_completed")
    _shot(cmd, "commander_completed")
    _shot(atc, "atc_completed")
    _shot(mem, "member")

    assert cmd.evaluate(f"HO.ops.get('{op_id}').violations") == []
    # A second request, denied by the military with a reason (asked in a dialog).
    cmd.fill("#pf-cell", f"C-BROWSER-{cell_id}-2")
    cmd.click("#pf-submit")
    cmd.wait_for_selector("#ops-body tr[data-state=proposed]", timeout=5000)
    second = cmd.locator("#ops-body tr[data-state=proposed]").first.get_attribute("id")
    cmd.click(f"#{second} button[data-action=authorize]")
    cmd.wait_for_selector(f"#{second}[data-state=authorized]", timeout=5000)
    cmd.click(f"#{second} button[data-action=request-clearance]")
    card2 = f".req-card[data-op='{second.removeprefix('op-')}']"
    mil.wait_for_selector(card2, timeout=PUSH_LIMIT_S * 1000)
    mil.click(f"{card2} button[data-do=deny]")
    mil.fill("dialog.reason-dialog textarea", "军事活动 military activity")
    started = time.monotonic()
    mil.click("dialog.reason-dialog button[value=ok]")
    _seen_within(cmd, f"#{second}[data-state=denied]", started, "denial at the commander")
    cmd.wait_for_function("document.getElementById('alerts').textContent.includes('military activity')")
    _shot(cmd, "commander_denied")

    history = cmd.evaluate(f"HO.ops.get('{op_id}').history.map(h => h.action)")
    assert history == ["propose", "authorize", "request_clearance", "grant", "grant", "order",
                       "acknowledge", "start_firing", "report_firing", "file_written_report"]
    for name, (ctx, _page, errors) in pages.items():
        assert errors == [], (name, errors)
        ctx.close()
