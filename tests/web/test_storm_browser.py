"""One storm, one name, one review across scans, in Chinese, in headless Chromium (issue 11,
"Forecaster"): the duty forecaster confirms the strongest hail storm of a live volume; the
next volume arrives (recorded by another process, as the scheduler's feed would); the
storm is still confirmed under the same name in the forecaster's table, the commander sees
"已确认" on its recommendation, and the map's popup names it the same way.  Screenshots in
test-artifacts/storm_*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.web.browser import (  # noqa: F401 - fixture
    browser,
    login,
    open_console,
    shot,
    wait_connected,
)
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANBERRA = sorted(
    (Path(__file__).resolve().parents[2] / "radar" / "data" / "events" / "canberra_20181220").glob(
        "*.h5"
    )
)
NOW = datetime.now(UTC).replace(microsecond=0)


def ingest(env: dict[str, str], index: int) -> None:
    """Canberra volume ``index`` relocated over the deployment's radar, re-timed to the last
    minutes, recorded as a live volume by this (other) process."""
    from command import create_app
    from command.deployment import deployment
    from command.ingest import current_levels, record_volume
    from radar.config import DetectionConfig
    from radar.detect import detect_volume
    from radar.io import REFLECTIVITY_CANDIDATES, read_volume
    from radar.replay import Relocation, relocate, retime

    app = create_app(
        {
            "env": "demo",
            "database_url": env["HAILOPS_DATABASE_URL"],
            "instance_path": env["HAILOPS_INSTANCE_PATH"],
            "scheduler_enabled": False,
        }
    )
    settings = app.config["HAILOPS"]
    scan = NOW - timedelta(minutes=6 * (len(CANBERRA) - 1 - index))
    radar = read_volume(CANBERRA[index], fields=REFLECTIVITY_CANDIDATES)
    relocate(radar, Relocation(deployment().radar.lat, deployment().radar.lon))
    retime(radar, scan)
    result = detect_volume(radar, current_levels(settings, scan), DetectionConfig())
    with app.app_context(), app.extensions["hailops_db"].session() as session:
        record_volume(
            session,
            result,
            filename=f"TEST live {CANBERRA[index].name}",
            sha256=f"{index:064d}",
            products_dir=settings.products,
            processing_ms=0.0,
        )
        session.commit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("storms")
    env: dict[str, str] = {}

    def prepare(e: dict[str, str]) -> None:
        env.update(e)
        ingest(e, 0)

    with running_server(tmp, [], prepare, demo_accounts=True) as base:
        yield base, env


def test_a_confirmed_storm_stays_confirmed_with_its_name_after_the_next_volume(server, browser):  # noqa: F811
    base, env = server
    _fctx, fc, f_errors = open_console(browser, base, "forecaster", "forecaster")
    _cctx, cmd, c_errors = open_console(browser, base, "commander", "commander")

    # The strongest hail storm is listed first under its one name; the forecaster confirms it.
    fc.wait_for_selector("#cells-body tr.hail button[data-do=confirmed]", timeout=10000)
    row = fc.locator("#cells-body tr.hail").first
    name = row.locator(".storm-name").text_content()
    storm_id = row.get_attribute("data-storm")
    assert name.startswith("风暴 ") and storm_id
    assert row.locator(".review").text_content() == "待审核"
    first_scan = fc.locator("#volume-info").text_content()
    row.locator("button[data-do=confirmed]").click()
    fc.wait_for_selector(f"tr[data-storm='{storm_id}'] .review-confirmed", timeout=5000)
    cmd.wait_for_function(
        f"document.getElementById('alerts').textContent.includes('确认 {name}')", timeout=5000
    )

    # The next volume, recorded by another process: the consoles catch up on their own.
    ingest(env, 1)
    fc.wait_for_function(
        f"document.getElementById('volume-info').textContent !== {first_scan!r}", timeout=20000
    )
    row = fc.locator(f"#cells-body tr[data-storm='{storm_id}']")
    assert row.count() == 1, "the storm is in the new volume"
    assert row.locator(".storm-name").text_content() == name
    assert row.locator(".review").text_content() == "已确认"
    assert "forecaster" in row.text_content()  # who confirmed it, carried over
    assert fc.locator(f"#cells-body .storm-name:text-is('{name}')").count() == 1  # one storm
    shot(fc, "storm_forecaster_next_volume")

    # The commander: its recommendation says 已确认; the others await the forecaster.
    block = cmd.locator(f".rec-cell[data-storm='{storm_id}']")
    block.wait_for(timeout=20000)
    cmd.wait_for_function(
        f"document.querySelector(\".rec-cell[data-storm='{storm_id}'] .review-confirmed\") !== null",
        timeout=20000,
    )
    assert block.locator(".storm-name").text_content() == name
    assert block.locator(".review-confirmed").text_content() == "已确认"
    assert block.locator("button.propose").count() >= 1, "the confirmed storm has a site"
    others = cmd.locator(".rec-cell.unconfirmed .review.unconfirmed")
    assert others.count() >= 1 and others.first.text_content() == "待预报员确认"
    shot(cmd, "storm_commander_recommendations")

    # The map names it the same way, with its review.
    _mctx, mp, m_errors = login(browser, base, "commander")
    mp.goto(base + "/")
    mp.wait_for_function(
        "document.getElementById('volume-label') && "
        "document.getElementById('volume-label').textContent.includes('冰雹单体')",
        timeout=15000,
    )
    wait_connected(mp)
    # Open the storm's popup (again, if a live re-render closed it) until it is shown.
    mp.wait_for_function(
        """name => { const el = document.querySelector('.leaflet-popup');
        if (el) return getComputedStyle(el).opacity === '1' && el.textContent.startsWith(name);
        window[window.HAILOPS.map].eachLayer(l => { const p = l.getPopup && l.getPopup();
          if (p && String(p.getContent()).includes('>' + name + '<')) l.openPopup(); });
        return false; }""",
        arg=name,
        timeout=15000,
    )
    popup = mp.locator(".leaflet-popup-content").text_content()
    assert popup.startswith(name) and "已确认" in popup
    shot(mp, "storm_map_popup", full_page=False)

    # The forecaster names the storm: the commander's recommendation follows at once.
    fc.locator(f"#cells-body tr[data-storm='{storm_id}'] button[data-do=rename]").click()
    fc.fill("dialog.reason-dialog input[name=name]", "交城北部雹暴")
    fc.click("dialog.reason-dialog button[value=ok]")
    fc.wait_for_selector(f"tr[data-storm='{storm_id}'] .storm-name:text-is('交城北部雹暴')")
    cmd.wait_for_function(
        f"document.querySelector(\".rec-cell[data-storm='{storm_id}'] .storm-name\")"
        ".textContent === '交城北部雹暴'",
        timeout=5000,
    )
    shot(fc, "storm_forecaster_renamed")

    # Dismissing another hail storm (a reason is required) takes it out of the plan.
    other = fc.locator(f"#cells-body tr.hail:not([data-storm='{storm_id}'])").last
    other_name = other.locator(".storm-name").text_content()
    other.locator("button[data-do=dismissed]").click()
    fc.fill("dialog.reason-dialog textarea[name=reason]", "回波减弱，地面无降雹报告")
    fc.click("dialog.reason-dialog button[value=ok]")
    cmd.wait_for_function(
        "(document.querySelector('.dismissed-storms') || {}).textContent === "
        f"'预报员已排除、不安排作业：{other_name}'",
        timeout=5000,
    )
    shot(cmd, "storm_commander_dismissed")
    assert not (f_errors or c_errors or m_errors), f_errors + c_errors + m_errors
