"""Issue 10: every console works inside a drill as in live mode — the JSON calls the consoles
make take ``?drill=ID`` — and nothing live shows inside a drill, no drill data live."""

from __future__ import annotations

from datetime import timedelta

import pytest

from command.drill import create_drill, drill_now, resolve_event
from command.extensions import get_db, socketio
from command.models import CellRecord, DrillRecord, RadarVolume
from tests.conftest import login
from tests.web.test_operations_flow import _token


@pytest.fixture
def drill_world(app, users, seeded, db_session):
    """A running drill (1x) with one hail cell of its own and one operation waiting for both
    airspace decisions; plus a live operation waiting too (which must never show in it)."""
    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=1, started_by="test")
    db_session.commit()
    drill_id = drill.id
    now = drill_now(db_session.get(DrillRecord, drill_id)).replace(microsecond=0)
    ring = [[111.10, 37.50], [111.20, 37.50], [111.20, 37.58], [111.10, 37.58], [111.10, 37.50]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "id": "DC-1",
            "max_dbz": 62.0,
            "mesh_mm": 31.5,
            "posh_pct": 70.0,
            "hail": True,
            "track_id": "T0001",
        },
    }
    track = {
        "id": "T0001",
        "cell_id": "DC-1",
        "arrivals": {"counties": {"lishi": now.isoformat()}, "sites": {}},
    }
    with app.app_context(), get_db().session() as s:
        vol = RadarVolume(
            sha256="d" * 64,
            filename="DRILL test",
            status="processed",
            scan_time=now,
            radar={},
            levels={"h0_m": 4300, "h20_m": 7600, "source": "seasonal"},
            products={},
            tracks=[track],
            drill_id=drill_id,
        )
        s.add(vol)
        s.flush()
        cell = CellRecord(
            volume_id=vol.id,
            cell_id="DC-1",
            track_id="T0001",
            scan_time=now,
            feature=feature,
            hail=True,
            drill_id=drill_id,
        )
        s.add(cell)
        s.commit()
        cell_id = cell.id
    login(client := app.test_client(), users["commander"])
    ids = {}
    for world, start in (("drill", now), ("live", None)):
        from datetime import UTC, datetime

        t = start or datetime.now(UTC)
        body = {
            "cell_id": "DC-1",
            "site_code": "LS-01",
            "window": [t.isoformat(), (t + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0,
        }
        if world == "drill":
            body["drill_id"] = drill_id
        resp = client.post("/api/operations", json=body)
        assert resp.status_code == 201, resp.get_json()
        oid = resp.get_json()["id"]
        client.post(f"/api/operations/{oid}/authorize")
        assert (
            client.post(f"/api/operations/{oid}/request-clearance").get_json()["state"]
            == "clearance_requested"
        )
        ids[world] = oid
    return {"drill": drill_id, "cell": cell_id, "op": ids["drill"], "live_op": ids["live"]}


def test_airspace_lists_the_drills_pending_requests_for_atc_and_military(
    client, users, drill_world
):
    d = drill_world
    for role in ("atc", "military"):
        login(client, users[role])
        pending = client.get(f"/api/airspace?drill={d['drill']}").get_json()["pending"]
        assert [p["id"] for p in pending] == [d["op"]], role
        live = client.get("/api/airspace").get_json()["pending"]
        assert [p["id"] for p in live] == [d["live_op"]], role
    # ATC grants inside the drill (on the drill clock): it leaves ATC's list, not military's.
    login(client, users["atc"])
    granted = client.post(f"/api/operations/{d['op']}/grant?drill={d['drill']}", json={})
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["history"][-1]["at"].startswith("2018-12-20")
    assert client.get(f"/api/airspace?drill={d['drill']}").get_json()["pending"] == []
    login(client, users["military"])
    assert [
        p["id"] for p in client.get(f"/api/airspace?drill={d['drill']}").get_json()["pending"]
    ] == [d["op"]]
    ops = client.get(f"/api/operations?drill={d['drill']}").get_json()["operations"]
    assert ops[0]["approval_clock"]["atc"]["state"] == "granted"
    # The approval clock runs on the drill clock: seconds, not the years between 2018 and now.
    assert ops[0]["approval_clock"]["military"]["seconds"] < 3600


def test_forecaster_warns_and_previews_cap_for_a_drill_cell(client, users, drill_world):
    d = drill_world
    login(client, users["forecaster"])
    # From the live world the drill's cell does not exist ...
    assert (
        client.post(f"/api/cells/{d['cell']}/warning", json={"counties": ["lishi"]}).status_code
        == 404
    )
    assert (
        client.post(f"/api/cells/{d['cell']}/review", json={"decision": "confirmed"}).status_code
        == 404
    )
    # ... inside the drill it does.
    assert (
        client.post(
            f"/api/cells/{d['cell']}/review?drill={d['drill']}", json={"decision": "confirmed"}
        ).status_code
        == 200
    )
    resp = client.post(
        f"/api/cells/{d['cell']}/warning?drill={d['drill']}", json={"counties": ["lishi"]}
    )
    assert resp.status_code == 201, resp.get_json()
    warning = resp.get_json()
    assert warning["sent"].startswith("2018-12-20") and warning["drill_id"] == d["drill"]
    cap = client.get(f"/api/cells/{d['cell']}/cap.xml?counties=lishi&drill={d['drill']}")
    assert cap.status_code == 200 and cap.mimetype == "application/cap+xml"
    assert client.get(warning["cap_url"]).status_code == 200
    # The drill's warnings list in the drill only (stamped in drill time), never live.
    listed = client.get(f"/api/warnings?drill={d['drill']}").get_json()["warnings"]
    assert [w["identifier"] for w in listed] == [warning["identifier"]]
    assert client.get("/api/warnings").get_json()["warnings"] == []


def test_member_overview_counts_the_drills_operations_in_the_drill(client, users, drill_world):
    d = drill_world
    login(client, users["member"])
    assert client.get(f"/api/member/overview?drill={d['drill']}").get_json()[
        "operations_by_state"
    ] == {"clearance_requested": 1}
    assert client.get("/api/member/overview").get_json()["operations_by_state"] == {
        "clearance_requested": 1
    }
    login(client, users["commander"])
    client.post(f"/api/operations/{d['live_op']}/cancel", json={"reason": "test"})
    login(client, users["member"])
    assert client.get(f"/api/member/overview?drill={d['drill']}").get_json()[
        "operations_by_state"
    ] == {"clearance_requested": 1}


def test_standing_agreement_made_in_a_drill_stays_in_the_drill(client, users, drill_world):
    d = drill_world
    login(client, users["atc"])
    body = {"site_code": "LS-01", "sectors": [[0, 90]], "ceiling_m": 8000}
    made = client.post(f"/api/standing-agreements?drill={d['drill']}", json=body)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["drill_id"] == d["drill"]
    assert client.get("/api/standing-agreements").get_json()["agreements"] == []
    in_drill = client.get(f"/api/standing-agreements?drill={d['drill']}").get_json()["agreements"]
    assert [a["id"] for a in in_drill] == [made.get_json()["id"]]
    # Revoked from its own world only.
    assert client.delete(f"/api/standing-agreements/{made.get_json()['id']}").status_code == 404
    assert (
        client.delete(
            f"/api/standing-agreements/{made.get_json()['id']}?drill={d['drill']}"
        ).status_code
        == 200
    )


def test_a_socket_inside_a_drill_hears_nothing_live(app, client, users, drill_world):
    d = drill_world
    inside = socketio.test_client(
        app, namespace="/live", auth={"token": _token(app, "military"), "drill": d["drill"]}
    )
    live = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "atc")})
    inside.get_received("/live"), live.get_received("/live")
    login(client, users["commander"])
    client.post(f"/api/operations/{d['live_op']}/cancel", json={"reason": "live only"})
    client.post(f"/api/operations/{d['op']}/cancel", json={"reason": "drill only"})
    got_inside = [
        r["args"][0]["data"]["operation"]["id"]
        for r in inside.get_received("/live")
        if r["name"] == "operation.update"
    ]
    got_live = [
        r["args"][0]["data"]["operation"]["id"]
        for r in live.get_received("/live")
        if r["name"] == "operation.update"
    ]
    assert got_inside == [d["op"]] and got_live == [d["live_op"]]
    # A live page that joins a drill leaves the live rooms.
    assert live.emit("join_drill", {"drill_id": d["drill"]}, namespace="/live", callback=True)["ok"]
    live.get_received("/live")
    from datetime import UTC, datetime

    t = datetime.now(UTC)
    login(client, users["commander"])
    made = client.post(
        "/api/operations",
        json={
            "cell_id": "L-2",
            "site_code": "LS-01",
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "window": [t.isoformat(), (t + timedelta(minutes=30)).isoformat()],
            "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0,
        },
    )
    assert made.status_code == 201
    assert all(r["name"] != "operation.update" for r in live.get_received("/live"))
