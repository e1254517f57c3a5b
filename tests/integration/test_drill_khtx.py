"""Issue 10: the KHTX event (legacy NEXRAD files without a site location, located by its
manifest) replays through the real ingestion as a drill over the deployment's radar, and the
drill is scored against the event's two hail reports, relocated with the storm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from command.deployment import deployment
from command.drill import DrillRunner, create_drill, resolve_event
from command.drill_report import build_report
from command.models import DrillRecord, RadarVolume
from tests.integration.test_drill_recovery import FakeClock

pytestmark = pytest.mark.slow


def test_khtx_event_replays_relocated_and_is_scored_against_its_reports(
    app, users, seeded, db_session
):
    event = resolve_event(db_session, "khtx_20080411")
    drill = create_drill(db_session, event, speed=600, started_by="test", auto_approve=True)
    db_session.commit()
    radar = deployment().radar  # the deployment's radar, whatever it is configured to be
    assert drill.relocated and drill.relocate_to["lat"] == pytest.approx(radar.lat)
    clock = FakeClock(datetime.now(UTC))
    with app.app_context():
        assert DrillRunner(app, drill.id, poll_s=0.5, clock=clock).run() == "completed"
    db_session.expire_all()
    vols = db_session.scalars(
        select(RadarVolume).where(RadarVolume.drill_id == drill.id).order_by(RadarVolume.scan_time)
    ).all()
    # Five volumes, at the manifest's scan times (the files' own), over the deployment's radar.
    assert [v.scan_time.isoformat() for v in vols] == [v["scan_time"] for v in event.volumes]
    assert all(v.radar["lat"] == pytest.approx(radar.lat, abs=1e-3) for v in vols)
    assert sum(len(v.cells) for v in vols) > 0
    # The sounding of the event gave the temperature levels (0 °C near 4150 m ASL).
    assert all(v.levels["h0_m"] == pytest.approx(4150, abs=250) for v in vols)
    g = build_report(db_session, drill.id)["scores"]["ground_truth"]
    assert g["available"] and [r["id"] for r in g["reports"]] == ["BMX-1", "BMX-2"]
    # The reports moved with the storm: near the deployment's radar, not in Alabama.
    for rep in g["reports"]:
        assert abs(rep["lat"] - radar.lat) < 3 and abs(rep["lon"] - radar.lon) < 3
    for kind in ("tracks", "warnings", "operations"):
        s = g[kind]
        assert s["reports"] == 2 and s["hits"] + s["misses"] == 2
    assert db_session.get(DrillRecord, drill.id).state == "completed"
