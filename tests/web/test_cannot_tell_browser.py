"""Issue 14 in Chromium: the forecaster console shows "cannot tell" cells as threats to
review — a 待核实 badge and the reason in words — and keeps them under the hail filter."""

from __future__ import annotations

import pytest

from tests.web.browser import browser, login, shot  # noqa: F401 - fixture
from tests.web.live_server import running_server
from tests.web.test_console_browser import _ingest_live_volumes

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _ingest_storm_over_the_radar(env: dict[str, str]) -> None:
    """A newer live volume (VCP 212 elevations) with a deep 60 dBZ storm right over the
    deployment's radar (cone of silence: cannot tell) and one seen whole 60 km east."""
    from datetime import UTC, datetime

    from command import create_app
    from command.deployment import deployment
    from command.ingest import record_volume
    from radar.config import DetectionConfig
    from radar.detect import detect_volume
    from radar.levels import levels_from_values
    from tests.unit.radar.radar_factories import Storm, make_storm_radar
    from tests.unit.radar.test_radar_sampling import VCP212

    app = create_app({"env": "demo", "database_url": env["HAILOPS_DATABASE_URL"],
                      "instance_path": env["HAILOPS_INSTANCE_PATH"], "scheduler_enabled": False})
    site = deployment().radar
    now = datetime.now(UTC).replace(microsecond=0)
    radar = make_storm_radar(
        [Storm(0.0, 0.0, 8.0, 60.0, top_m=13000.0), Storm(60.0, 0.0, 6.0, 60.0, top_m=12000.0)],
        elevations=VCP212, max_range_m=70_000.0, lat=site.lat, lon=site.lon, alt_m=site.alt_m,
        scan_time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip
    result = detect_volume(radar, levels_from_values(4300.0, 7600.0), DetectionConfig(max_range_km=70.0))
    assert [c.verdict for c in result.cells].count("cannot_tell") == 1
    with app.app_context(), app.extensions["hailops_db"].session() as session:
        record_volume(session, result, filename="TEST storm over the radar", sha256="9" * 64,
                      products_dir=app.config["HAILOPS"].products, processing_ms=0.0)
        session.commit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    def prepare(env):
        _ingest_live_volumes(env)
        _ingest_storm_over_the_radar(env)

    with running_server(tmp_path_factory.mktemp("cannot_tell"), [], prepare, demo_accounts=True) as base:
        yield base


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forecaster_console_shows_cells_to_review(server, browser, lang):  # noqa: F811
    ctx, page, errors = login(browser, server, "forecaster")
    page.goto(f"{server}/console/forecaster" + ("?lang=en" if lang == "en" else ""))
    page.wait_for_selector("#cells-body tr[data-record]", timeout=15000)
    data = page.evaluate("fetch('/api/cells/latest').then(r => r.json())")
    review = [c for c in data["cells"] if c["verdict"] == "cannot_tell"]
    badge = "待核实" if lang == "zh" else "REVIEW"
    assert len(review) == 1
    # The badge itself (the English review state "to review" also says "review").
    rows = page.locator("#cells-body tr", has=page.locator("span.state", has_text=badge))
    assert rows.count() == 1
    reason = rows.first.locator(".verdict-reason").inner_text()
    assert reason == review[0]["verdict_reason_text"]
    assert ("静锥区" if lang == "zh" else "cone of silence") in reason
    page.check("#hail-only")  # hail cells and cells to review only
    assert page.locator("#cells-body tr", has=page.locator("span.state", has_text=badge)).count() == 1
    shot(page, f"console_forecaster_review_{lang}")
    assert not errors, errors
    ctx.close()
