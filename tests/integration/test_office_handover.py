"""Issue 15, part 5: a hail track whose nowcast leaves the city within 60 min gets a handover
notice to the right neighbour (drafted, audited, announced, sent through the outbox); a track
staying inside, or one without hail, gets none."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select

from tests.conftest import login

T0 = datetime(2026, 7, 12, 7, 0, tzinfo=UTC)


def _track(tid: str, cell_id: str, county: str, speed: float, toward: float):
    from sites.deployment import default_deployment

    p = default_deployment().county(county).geometry.representative_point()
    k = 111_195.0
    steps = []
    for lead in (10, 20, 30, 45, 60):
        d = speed * lead * 60
        steps.append({"lead_min": lead, "centroid": [
            p.x + d * math.sin(math.radians(toward)) / (k * math.cos(math.radians(p.y))),
            p.y + d * math.cos(math.radians(toward)) / k]})
    return {"id": tid, "cell_id": cell_id, "speed_mps": speed, "direction_deg": toward,
            "history": [[p.x, p.y]], "nowcast": {"steps": steps}}


def _volume(session, tracks, hail_cells, drill_id=None):
    from command.models import CellRecord, RadarVolume

    vol = RadarVolume(sha256="x" * 64, filename="test", status="processed", scan_time=T0,
                      tracks=tracks, drill_id=drill_id)
    session.add(vol)
    session.flush()
    for t in tracks:
        session.add(CellRecord(volume_id=vol.id, cell_id=t["cell_id"], track_id=t["id"], scan_time=T0,
                               hail=t["cell_id"] in hail_cells, drill_id=drill_id,
                               feature={"properties": {"mesh_mm": 42.0, "centroid": t["history"][-1]}}))
    session.flush()
    return vol


def test_leaving_track_gets_one_notice_to_yulin_and_staying_track_none(app, client, users, seeded):
    from command.extensions import get_db
    from command.models import AuditRecord, HandoverRecord, LiveEvent, OutboxMessage
    from command.office.handover import draft_handovers

    tracks = [_track("T0001", "C1", "liulin", 20.0, 270.0),   # west, out over the Yellow River
              _track("T0002", "C2", "lishi", 3.0, 90.0),      # slow, stays inside
              _track("T0003", "C3", "liulin", 20.0, 270.0)]   # leaving, but no hail
    with app.app_context(), get_db().session() as s:
        vol = _volume(s, tracks, {"C1", "C2"})
        made = draft_handovers(s, vol)
        s.commit()
        assert [(h.track_id, h.neighbour_key) for h in made] == [("T0001", "yulin")]
        # The next volume does not draft it again.
        assert draft_handovers(s, vol) == []
        s.commit()
        h = s.scalars(select(HandoverRecord)).one()
        assert h.state == "draft" and h.mesh_mm == 42.0 and h.speed_mps == 20.0
        assert 0 < (h.crossing_at - T0).total_seconds() < 3600
        assert "榆林市" in h.text and "MESH" in h.text and "42毫米" in h.text and "西" in h.text
        assert "冰雹云单体“风暴 1”，" in h.text
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "handover.draft")).one()
        ev = s.scalars(select(LiveEvent).where(LiveEvent.event == "handover.draft")).one()
        assert "role:forecaster" in ev.rooms
        hid = h.id

    login(client, users["forecaster"])
    listed = client.get("/api/office/handovers?direction=out").get_json()["handovers"]
    assert [x["id"] for x in listed] == [hid]
    r = client.post(f"/api/office/handovers/{hid}/send", json={})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "sent" and r.get_json()["sent_by"] == "forecaster"
    assert client.post(f"/api/office/handovers/{hid}/send", json={}).status_code == 422
    with app.app_context(), get_db().session() as s:
        msg = s.scalars(select(OutboxMessage)).one()
        assert msg.to_addr == "rying.yulin@example.invalid" and msg.ref == f"handover:{hid}"
        assert "风暴 1" in msg.subject  # the storm's one name (issue 11), not the track id
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "handover.send")).one()
    page = client.get("/office/joint?lang=zh").get_data(as_text=True)
    assert "风暴 1" in page and "榆林市" in page


def test_received_notice_is_recorded_and_announced(app, client, users, seeded):
    from command.extensions import get_db
    from command.models import LiveEvent

    login(client, users["forecaster"])
    body = {"neighbour": "xinzhou", "storm": "XZ-07", "crossing_at": "2026-07-12T16:30",
            "crossing_lat": 38.2, "crossing_lon": 111.5, "mesh_mm": "25", "speed_mps": "12",
            "direction_deg": "200", "text": "忻州冰雹云向南移动，预计16时30分进入岚县"}
    r = client.post("/api/office/handovers/received", json=body)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["direction"] == "in" and got["crossing_at"] == "2026-07-12T08:30:00+00:00"
    assert client.get("/api/office/handovers?direction=in").get_json()["handovers"][0]["id"] == got["id"]
    with app.app_context(), get_db().session() as s:
        ev = s.scalars(select(LiveEvent).where(LiveEvent.event == "handover.received")).one()
        assert ev.rooms == ["all"]
    bad = client.post("/api/office/handovers/received", json={"neighbour": "beijing", "text": ""})
    assert bad.status_code == 422
    assert {"neighbour", "crossing_at", "crossing", "text"} <= set(bad.get_json()["details"])
    client.post("/logout")
    login(client, users["county_operator"])
    assert client.post("/api/office/handovers/received", json=body).status_code == 403


def test_neighbours_served_with_liaisons(client, users, seeded):
    login(client, users["member"])
    fc = client.get("/api/office/neighbours").get_json()
    keys = {f["properties"]["key"] for f in fc["features"]}
    assert keys == {"xinzhou", "taiyuan", "jinzhong", "linfen", "yulin"}
    assert all(f["properties"]["liaison"]["phone"] for f in fc["features"])
