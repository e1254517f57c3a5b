"""One name and one review per storm (issue 11, "Forecaster"), on the two real Canberra
volumes relocated over the Lüliang radar: a storm the forecaster confirmed in the first scan
is still confirmed in the second, under the same name, and that name is the one on the map,
in every console's JSON, in recommendations (which say whether the storm is confirmed),
operations and warnings; a dismissed storm that turned to hail goes back to review; a site
that has just fired is not recommended again within the re-engagement cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from command.models import AuditRecord, CellRecord
from command.timefmt import BEIJING
from tests.conftest import login
from tests.unit.radar.radar_paths import canberra_volumes

pytestmark = pytest.mark.slow


def ingest(app, index: int, scan_time: datetime) -> int:
    """Canberra volume ``index`` relocated over the deployment's radar at ``scan_time``,
    through the feed's own recording (tracking, storms, push)."""
    from command.deployment import deployment
    from command.extensions import get_db
    from command.ingest import current_levels, record_volume
    from radar.config import DetectionConfig
    from radar.detect import detect_volume
    from radar.io import REFLECTIVITY_CANDIDATES, read_volume
    from radar.replay import Relocation, relocate, retime

    settings = app.config["HAILOPS"]
    path = canberra_volumes()[index]
    radar = read_volume(path, fields=REFLECTIVITY_CANDIDATES)
    site = deployment().radar
    relocate(radar, Relocation(site.lat, site.lon))
    retime(radar, scan_time)
    result = detect_volume(radar, current_levels(settings, scan_time), DetectionConfig())
    with app.app_context(), get_db().session() as session:
        vol = record_volume(
            session,
            result,
            filename=path.name,
            sha256=f"{index:064d}",
            products_dir=settings.products,
            processing_ms=0.0,
        )
        session.commit()
        return vol.id


def by_track(cells: list[dict]) -> dict[str, dict]:
    return {c["track"]["id"]: c for c in cells if c.get("track")}


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


def test_a_reviewed_storm_keeps_its_review_and_its_one_name_across_real_volumes(
    app, users, seeded, client, db_session, now
):
    """Issue 11: every cell went back to 待审核 on each new scan and the same storm had
    three names (T0003, C20181220T060630-04, "单体 04")."""
    ingest(app, 0, now - timedelta(minutes=6))
    login(client, users["forecaster"])
    first = by_track(client.get("/api/cells/latest").get_json()["cells"])
    # T0007: the strongest hail core (MESH 60 mm); T0008: weak hail (13 mm) that stays weak;
    # T0005: no hail in the first scan, hail (27 mm) in the second.
    confirmed, weak, turning = first["T0007"], first["T0008"], first["T0005"]
    assert confirmed["hail"] and weak["hail"] and not turning["hail"]
    assert confirmed["review"] == "new" and confirmed["track_review"] is None
    for cell, decision, reason in (
        (confirmed, "confirmed", ""),
        (weak, "dismissed", "弱回波"),
        (turning, "dismissed", "无冰雹"),
    ):
        resp = client.post(
            f"/api/cells/{cell['record_id']}/review", json={"decision": decision, "reason": reason}
        )
        assert resp.status_code == 200, resp.get_json()

    vol2 = ingest(app, 1, now)
    second = by_track(client.get("/api/cells/latest").get_json()["cells"])
    kept = second["T0007"]
    assert kept["cell_id"] != confirmed["cell_id"]  # a new scan, a new cell
    assert kept["review"] == "confirmed" and kept["reviewed_by"] == "forecaster"
    assert second["T0008"]["review"] == "dismissed"
    assert kept["storm"]["id"] == confirmed["storm"]["id"]
    assert kept["storm_name"] == confirmed["storm_name"] == "风暴 7"
    assert turning["storm_name"] == "风暴 5"
    assert (
        kept["track_review"]["review"] == "confirmed" and kept["track_review"]["by"] == "forecaster"
    )
    assert second["T0008"]["review"] == "dismissed"
    assert second["T0008"]["review_reason"] == "弱回波"
    # A dismissed storm that turned to hail goes back to review, saying why; audited.
    back = second["T0005"]
    assert back["hail"] and back["review"] == "new" and back["storm"]["reopened"] == "hail"
    assert back["track_review"]["review"] == "dismissed"
    reopen = db_session.scalars(
        select(AuditRecord).where(AuditRecord.action == "storm.reopen")
    ).all()
    assert [(a.actor, a.object_id, a.after["reopened"]) for a in reopen] == [
        ("radar-feed", str(back["storm"]["id"]), "hail")
    ]
    decided = db_session.scalars(
        select(AuditRecord).where(AuditRecord.action.in_(["storm.confirmed", "storm.dismissed"]))
    ).all()
    assert sorted(a.after["track_id"] for a in decided) == ["T0005", "T0007", "T0008"]

    # The one name everywhere: the map's volume, the member console, recommendations,
    # operations and warnings.
    name = kept["storm_name"]
    vol = client.get(f"/api/volumes/{vol2}").get_json()
    (feature,) = [f for f in vol["cells"] if f["properties"]["id"] == kept["cell_id"]]
    assert feature["properties"]["storm_name"] == name
    assert feature["properties"]["storm_review"] == "confirmed"
    assert {t["storm_name"] for t in vol["tracks"] if t["id"] == "T0007"} == {name}
    assert client.get("/api/live/state").get_json()["volume"]["volume_id"] == vol2
    login(client, users["member"])
    assert (
        by_track(client.get("/api/cells/latest").get_json()["cells"])["T0007"]["storm_name"] == name
    )

    login(client, users["commander"])
    recs = client.get("/api/recommendations").get_json()
    cells = {c["cell_id"]: c for c in recs["cells"]}
    assert cells[kept["cell_id"]]["storm_name"] == name
    assert cells[kept["cell_id"]]["confirmed"] is True
    assert cells[back["cell_id"]]["confirmed"] is False  # to review again: not confirmed
    assert second["T0008"]["cell_id"] not in cells  # dismissed: not planned
    assert name not in recs["dismissed_storms"] and "风暴 8" in recs["dismissed_storms"]
    mine = [r for r in recs["recommendations"] if r["cell_id"] == kept["cell_id"]]
    assert mine, "the confirmed storm has a site"
    assert all(r["confirmed"] is True and r["storm_name"] == name for r in mine)
    assert {r["confirmed"] for r in recs["recommendations"] if r["cell_id"] != kept["cell_id"]} == {
        False
    }
    r = mine[0]
    op = client.post(
        "/api/operations",
        json={
            "cell_id": r["cell_id"],
            "site_code": r["site_code"],
            "window": [r["window_start"], r["window_end"]],
            "azimuth_deg": r["azimuth_deg"],
            "elevation_deg": r["elevation_deg"],
            "quantity": r["ammunition"],
            "max_altitude_m": r["max_altitude_m"],
        },
    ).get_json()
    assert op["storm_name"] == name and op["storm"]["review"] == "confirmed"
    listed = client.get("/api/operations").get_json()["operations"]
    assert [o["storm_name"] for o in listed if o["id"] == op["id"]] == [name]
    login(client, users["forecaster"])
    warning = client.post(
        f"/api/cells/{kept['record_id']}/warning", json={"counties": ["lishi"]}
    ).get_json()
    assert warning["storm_name"] == name


def test_renaming_a_storm_renames_it_everywhere_and_is_audited(
    app, users, seeded, client, db_session, now
):
    ingest(app, 0, now - timedelta(minutes=6))
    login(client, users["forecaster"])
    storm = by_track(client.get("/api/cells/latest").get_json()["cells"])["T0007"]["storm"]
    resp = client.post(f"/api/storms/{storm['id']}/name", json={"name": "离石北部雹暴"})
    assert resp.status_code == 200 and resp.get_json()["storm_name"] == "离石北部雹暴"
    vol2 = ingest(app, 1, now)
    assert (
        by_track(client.get("/api/cells/latest").get_json()["cells"])["T0007"]["storm_name"]
        == "离石北部雹暴"
    )
    props = [
        f["properties"]
        for f in client.get(f"/api/volumes/{vol2}").get_json()["cells"]
        if f["properties"]["track_id"] == "T0007"
    ]
    assert [p["storm_name"] for p in props] == ["离石北部雹暴"]
    assert (
        client.post(f"/api/storms/{storm['id']}/name", json={"name": ""}).get_json()["storm_name"]
        == "风暴 7"
    )
    renames = db_session.scalars(
        select(AuditRecord).where(AuditRecord.action == "storm.rename").order_by(AuditRecord.id)
    ).all()
    assert [(a.actor, a.after["name"]) for a in renames] == [
        ("forecaster", "离石北部雹暴"),
        ("forecaster", None),
    ]
    # Only the forecaster names storms; a drill's storm is not reachable live.
    login(client, users["commander"])
    assert client.post(f"/api/storms/{storm['id']}/name", json={"name": "x"}).status_code == 403
    login(client, users["forecaster"])
    assert (
        client.post("/api/storms/99999/review", json={"decision": "confirmed"}).status_code == 404
    )


def test_a_site_that_just_fired_is_not_recommended_again_within_the_cooldown(
    app, users, seeded, client, now
):
    """Issue 11: a site that had just completed an operation was recommended again at once;
    it now waits the re-engagement cooldown (10 min) after its firing ended, and the console
    says why in Chinese, in Beijing time."""
    ingest(app, 0, now - timedelta(minutes=6))
    ingest(app, 1, now)
    login(client, users["commander"])
    recs = client.get("/api/recommendations").get_json()
    assert recs["recommendations"]
    site = recs["recommendations"][0]["site_code"]
    ended = now - timedelta(minutes=3)
    _completed_operation(app, site, ended)
    again = client.get("/api/recommendations").get_json()
    assert site not in {r["site_code"] for r in again["recommendations"]}
    reasons = [e for c in again["cells"] for e in c["excluded"] if e["site_code"] == site]
    assert reasons and all(e["reason"].startswith("re-engagement cooldown 10 min") for e in reasons)
    ready = (ended + timedelta(minutes=10)).astimezone(BEIJING).strftime("%H:%M")
    assert all(
        e["reason_text"].startswith("作业后冷却 10 分钟") and ready in e["reason_text"]
        for e in reasons
    )


def _completed_operation(app, site: str, ended: datetime) -> None:
    """An operation of ``site`` completed with its firing report, firing ended at ``ended``."""
    from dataclasses import replace

    from command import operations
    from command.codec import encode
    from command.extensions import get_db
    from command.models import OperationRecord
    from dispatch import lifecycle as lc
    from dispatch.firing import FiringReport, Observation

    with app.app_context(), get_db().session() as s:
        op = operations.propose(
            s,
            lc.Actor("commander", lc.Role.COMMANDER),
            {
                "cell_id": "C-EARLIER",
                "site_code": site,
                "window": [
                    (ended - timedelta(minutes=20)).isoformat(),
                    (ended + timedelta(minutes=20)).isoformat(),
                ],
                "azimuth_deg": 10.0,
                "elevation_deg": 60.0,
                "quantity": {"37mm_shell": 10},
                "max_altitude_m": 6000.0,
            },
            ended - timedelta(minutes=15),
        )
        done = replace(
            op,
            state=lc.S.COMPLETED,
            report=FiringReport(
                started_at=ended - timedelta(minutes=2),
                ended_at=ended,
                rounds={"37mm_shell": 10},
                observation=Observation.HAIL,
            ),
        )
        rec = s.get(OperationRecord, op.id)
        rec.state, rec.updated_at, rec.data = "completed", ended, encode(done)
        s.commit()


def test_storms_are_per_world_and_cells_link_to_them(app, users, seeded, db_session, now):
    from command.models import StormTrack

    ingest(app, 0, now - timedelta(minutes=6))
    ingest(app, 1, now)
    cells = db_session.scalars(select(CellRecord)).all()
    assert cells and all(c.storm_id for c in cells)
    storms = db_session.scalars(select(StormTrack)).all()
    assert len({(s.drill_key, s.number) for s in storms}) == len(storms)  # one number each
    assert {s.track_id for s in storms} == {c.track_id for c in cells}
    t7 = next(s for s in storms if s.track_id == "T0007")
    assert (t7.first_seen, t7.last_seen) == (now - timedelta(minutes=6), now)
    children = [s for s in storms if s.parent_track_id]
    assert children and all(s.first_seen == now for s in children)


def test_the_drill_report_names_each_storm_as_the_map_and_the_consoles_do(
    app, users, seeded, client, db_session
):
    """The built-in drill (automatic players): the report's storm of each operation is the
    name the map's volumes and the consoles' operations show; the automatic forecaster
    confirms a storm once and its next scan carries the confirmation."""
    from tests.integration.test_drills import _run

    drill_id = _run(app, db_session)
    login(client, users["commander"])
    report = client.get(f"/api/drills/{drill_id}/report").get_json()
    assert report["operations"]
    names: dict[str, str] = {}  # cell id -> the name the map shows
    for vol in client.get(f"/api/volumes?drill={drill_id}").get_json()["volumes"]:
        payload = client.get(f"/api/volumes/{vol['id']}?drill={drill_id}").get_json()
        names.update(
            {f["properties"]["id"]: f["properties"]["storm_name"] for f in payload["cells"]}
        )
    listed = {
        o["id"]: o for o in client.get(f"/api/operations?drill={drill_id}").get_json()["operations"]
    }
    for op in report["operations"]:
        assert op["storm_name"] == names[op["cell"]] == listed[op["id"]]["storm_name"]
        assert op["storm_name"].startswith("风暴 ")
    html = client.get(f"/api/drills/{drill_id}/report?format=html").get_data(as_text=True)
    assert all(op["storm_name"] in html for op in report["operations"])
    # One decision per storm: the automatic forecaster's confirmations are storm reviews, and
    # a confirmed storm's later scan is confirmed without another decision.
    decisions = db_session.scalars(
        select(AuditRecord).where(
            AuditRecord.drill_id == drill_id, AuditRecord.action == "storm.confirmed"
        )
    ).all()
    assert decisions and len({a.object_id for a in decisions}) == len(decisions)
    storms = {int(a.object_id) for a in decisions}
    later = db_session.scalars(
        select(CellRecord)
        .where(CellRecord.drill_id == drill_id, CellRecord.storm_id.in_(storms))
        .order_by(CellRecord.scan_time)
    ).all()
    first_scan = min(c.scan_time for c in later)
    carried = [c for c in later if c.scan_time > first_scan]
    assert carried and all(c.review == "confirmed" for c in carried)
