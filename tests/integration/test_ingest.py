"""The radar feed job on real volumes: processed once, tracked, persisted, announced; a bad
file is quarantined with its reason and the feed keeps going."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from command.ingest import poll_incoming
from command.models import CellRecord, LiveEvent, RadarVolume
from tests.unit.radar.radar_paths import canberra_volumes

CANBERRA = canberra_volumes()


@pytest.fixture
def feed(app):
    incoming = app.config["HAILOPS"].incoming
    incoming.mkdir(parents=True, exist_ok=True)
    return incoming


def test_feed_processes_real_volumes_and_quarantines_junk(app, feed, db_session, client, users):
    for path in CANBERRA:
        shutil.copy(path, feed / path.name)
    (feed / "zz_truncated.h5").write_bytes(CANBERRA[0].read_bytes()[:5000])
    outcomes = poll_incoming(app)
    assert [o.status for o in outcomes] == ["processed", "processed", "quarantined"]
    assert "zz_truncated.h5" in outcomes[2].message

    vols = db_session.scalars(select(RadarVolume).order_by(RadarVolume.id)).all()
    assert [v.status for v in vols] == ["processed", "processed", "quarantined"]
    assert vols[0].levels["source"].startswith("seasonal-default")
    second = vols[1]
    moving = [t for t in second.tracks if t["speed_mps"]]
    assert moving, "the 06:12 volume links cells to the 06:06 tracks"
    cells = db_session.scalars(select(CellRecord).where(CellRecord.volume_id == second.id)).all()
    strong = {c.track_id for c in cells if c.feature["properties"]["max_dbz"] >= 55}
    speeds = {t["id"]: t["speed_mps"] for t in moving if t["id"] in strong}
    assert speeds, "strong cells are linked across the two volumes"
    assert all(5.0 <= v <= 40.0 for v in speeds.values()), speeds
    assert any(c.hail for c in cells)
    assert all(c.track_id for c in cells)
    # Products written and served.
    assert (app.config["HAILOPS"].products / second.products["reflectivity"]["file"]).exists()

    # The bad file is kept in quarantine with its reason, and healthz shows it.
    quarantined = app.config["HAILOPS"].quarantine / "zz_truncated.h5"
    assert quarantined.exists()
    assert quarantined.with_suffix(".h5.reason.txt").read_text().strip()
    from tests.conftest import login

    assert "recent_quarantine" not in client.get("/healthz").get_json()["radar_feed"]
    login(client, "admin")
    health = client.get("/healthz").get_json()["radar_feed"]
    assert health["quarantined"] == 1
    assert health["recent_quarantine"][0]["file"] == "zz_truncated.h5"
    assert health["latest_volume"]["cells"] == len(cells)

    events = db_session.scalars(select(LiveEvent.event)).all()
    assert events.count("volume.new") == 2 and "feed.quarantine" in events


def test_same_content_is_processed_once(app, feed, db_session):
    shutil.copy(CANBERRA[0], feed / "a.h5")
    poll_incoming(app)
    shutil.copy(CANBERRA[0], feed / "copy_of_a.h5")
    outcomes = poll_incoming(app)
    assert [o.status for o in outcomes] == ["duplicate"]
    assert len(db_session.scalars(select(RadarVolume)).all()) == 1


def test_track_ids_survive_a_restart(app, feed, db_session):
    """Tracker state is persisted: a new process continues the same track ids."""
    import command.ingest as ingest

    shutil.copy(CANBERRA[0], feed / CANBERRA[0].name)
    poll_incoming(app)
    ingest._PREVIOUS_FIELDS.clear()  # what a restart loses
    shutil.copy(CANBERRA[1], feed / CANBERRA[1].name)
    poll_incoming(app)
    first, second = db_session.scalars(select(RadarVolume).order_by(RadarVolume.id)).all()
    ids1 = {t["id"] for t in first.tracks}
    linked = {t["id"] for t in second.tracks if t["speed_mps"] and not t["parent_id"]}
    assert linked and linked <= ids1
