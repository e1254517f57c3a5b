"""Issue 10: the drill report in Chinese by default (English selectable), Beijing time,
translated step names; a county operator reads only its county; drills scored against the
event's ground-truth hail reports when it has them, and say so when it has none; the KHTX
event (legacy files without a site location) imports from its manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.drill import create_drill, drill_now, resolve_event
from command.drill_report import build_report
from command.models import CellRecord, DrillEvent, DrillRecord, RadarVolume
from tests.conftest import login
from tests.integration.test_drill_recovery import _operation_in


@pytest.fixture
def two_county_drill(app, users, seeded, db_session):
    drill = create_drill(
        db_session, resolve_event(db_session, "canberra_20181220"), speed=1, started_by="test"
    )
    db_session.commit()
    lishi = _operation_in(db_session, drill.id, ["authorize"])
    from command import operations
    from dispatch import lifecycle as lc

    now = drill_now(db_session.get(DrillRecord, drill.id))
    fenyang_site = _site_of(db_session, "fenyang")
    op = operations.propose(
        db_session,
        lc.Actor("c", lc.Role.COMMANDER),
        {
            "cell_id": "C2",
            "site_code": fenyang_site,
            "window": [now.isoformat(), (now + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0,
        },
        now,
        drill_id=drill.id,
    )
    db_session.commit()
    return {"drill": drill.id, "lishi": lishi, "fenyang": op.id}


def _site_of(db_session, county):
    from sqlalchemy import select

    from command.models import SiteRecord

    return db_session.scalar(select(SiteRecord.code).where(SiteRecord.county == county).limit(1))


def test_a_county_operator_reads_only_its_county(client, users, two_county_drill):
    d = two_county_drill
    login(client, users["commander"])
    full = client.get(f"/api/drills/{d['drill']}/report").get_json()
    assert {o["id"] for o in full["operations"]} == {d["lishi"], d["fenyang"]}
    assert full["scope"] == {"county": None}
    login(client, users["county_operator"])  # Lishi
    mine = client.get(f"/api/drills/{d['drill']}/report").get_json()
    assert [o["id"] for o in mine["operations"]] == [d["lishi"]]
    assert set(mine["scores"]["per_county"]) == {"lishi"} and mine["scope"] == {"county": "lishi"}
    page = client.get(f"/api/drills/{d['drill']}/report?format=html").get_data(as_text=True)
    assert d["lishi"] in page and d["fenyang"] not in page
    login(client, users["fenyang"])
    theirs = client.get(f"/api/drills/{d['drill']}/report").get_json()
    assert [o["id"] for o in theirs["operations"]] == [d["fenyang"]]


def test_report_is_chinese_by_default_in_beijing_time_and_english_on_request(
    client, users, two_county_drill
):
    d = two_county_drill
    login(client, users["commander"])
    zh = client.get(f"/api/drills/{d['drill']}/report?format=html").get_data(as_text=True)
    assert "演练报告" in zh and "北京时间" in zh and "作业推荐→指挥批准" in zh
    assert "recommendation_to_authorization_s" not in zh  # no snake_case step names
    assert "已批准" in zh  # state names translated
    assert "离石区" in zh and "汾阳市" in zh  # counties by name, not by key
    # Drill times in Beijing time: the proposal at 06:06 UTC shows as 14:06.
    assert "14:06" in zh
    en = client.get(f"/api/drills/{d['drill']}/report?format=html&lang=en").get_data(as_text=True)
    assert "Drill report" in en and "recommendation → authorization" in en and "演练报告" not in en


def test_ground_truth_is_scored_when_the_event_has_reports_and_absent_otherwise(
    app, users, seeded, db_session
):
    drill = create_drill(
        db_session,
        resolve_event(db_session, "canberra_20181220"),
        speed=1,
        started_by="test",
        relocate=False,
    )
    db_session.commit()
    report = build_report(db_session, drill.id)
    assert report["scores"]["ground_truth"]["available"] is False
    assert "no ground-truth" in report["scores"]["ground_truth"]["note"]

    # A hand-made event with one report under a hail cell of the drill and one far away.
    t0 = datetime(2018, 12, 20, 6, 6, 30, tzinfo=UTC)
    event = db_session.get(DrillEvent, "canberra_20181220")
    event.reports = [
        {
            "id": "A",
            "time": (t0 + timedelta(minutes=5)).isoformat(),
            "lat": 37.54,
            "lon": 111.15,
            "size_mm": 20.0,
            "place": "under the cell",
        },
        {
            "id": "B",
            "time": (t0 + timedelta(minutes=5)).isoformat(),
            "lat": 36.0,
            "lon": 110.0,
            "size_mm": 20.0,
            "place": "far away",
        },
    ]
    ring = [[111.10, 37.50], [111.20, 37.50], [111.20, 37.58], [111.10, 37.58], [111.10, 37.50]]
    vol = RadarVolume(
        sha256="e" * 64,
        filename="DRILL x",
        status="processed",
        scan_time=t0,
        radar={},
        levels={},
        products={},
        tracks=[],
        drill_id=drill.id,
    )
    db_session.add(vol)
    db_session.flush()
    db_session.add(
        CellRecord(
            volume_id=vol.id,
            cell_id="C1",
            track_id="T1",
            scan_time=t0,
            feature={
                "type": "Feature",
                "properties": {"hail": True},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            },
            hail=True,
            drill_id=drill.id,
        )
    )
    db_session.commit()
    g = build_report(db_session, drill.id)["scores"]["ground_truth"]
    assert g["available"] and [r["id"] for r in g["reports"]] == ["A", "B"]
    # Hit A (inside the outline, within the 10 min validity), miss B; no false alarm.
    assert (g["tracks"]["hits"], g["tracks"]["misses"], g["tracks"]["false_alarms"]) == (1, 1, 0)
    assert g["tracks"]["pod"] == 0.5 and g["tracks"]["far"] == 0.0
    assert g["warnings"]["predictions"] == 0 and g["warnings"]["pod"] == 0.0


def test_khtx_event_imports_from_its_manifest(app, db_session):
    event = resolve_event(db_session, "khtx_20080411")
    assert len(event.volumes) == 5
    assert event.volumes[0]["scan_time"].startswith("2008-04-11T18:11")
    assert event.radar["lat"] == pytest.approx(34.930556) and event.radar["alt_m"] == 566.0
    assert event.sounding.endswith("bmx_sounding_20080411_12Z.txt")
    assert [r["id"] for r in event.reports] == ["BMX-1", "BMX-2"]
    assert event.reports[0]["size_mm"] == pytest.approx(19.05)
    assert "no ground-truth" not in " ".join(event.notes)


def test_a_bad_manifest_is_refused_with_the_file_and_field(app, db_session, tmp_path):
    from command.drill import DrillError, import_event

    (tmp_path / "event.json").write_text('{"reports": [{"lat": 1}]}')
    with pytest.raises(DrillError, match="event.json: report 1 needs time"):
        import_event(db_session, tmp_path, "bad")
    (tmp_path / "event.json").write_text('{"radar": {"lat": "x"}}')
    with pytest.raises(DrillError, match="radar needs numeric lat"):
        import_event(db_session, tmp_path, "bad")


def test_relocated_reports_keep_range_and_azimuth_from_the_radar():
    from pyproj import Geod

    from radar.replay import Relocation, relocate_point

    src, dst = Relocation(34.930556, -86.083611), Relocation(37.5183, 111.1439)
    lat, lon = relocate_point(33.77, -88.11, src, dst)
    g = Geod(ellps="sphere")
    az1, _, d1 = g.inv(src.lon, src.lat, -88.11, 33.77)
    az2, _, d2 = g.inv(dst.lon, dst.lat, lon, lat)
    assert d2 == pytest.approx(d1, rel=0.01) and az2 == pytest.approx(az1, abs=1.0)
