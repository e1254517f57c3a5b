"""People play their roles in a drill from their consoles: requests name the drill, the drill
clock is used, drill events reach only those who joined the drill, live screens see nothing."""

from __future__ import annotations

from datetime import timedelta

from command.drill import create_drill, drill_now, resolve_event
from command.extensions import socketio
from command.models import DrillRecord
from tests.conftest import login
from tests.web.test_operations_flow import _token


def test_operation_inside_a_drill_through_the_api(app, client, users, seeded, db_session):
    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=1, started_by="test")
    db_session.commit()
    drill_id = drill.id

    joined = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "atc")})
    assert joined.emit("join_drill", {"drill_id": drill_id}, namespace="/live", callback=True)["ok"]
    live_only = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "military")})
    joined.get_received("/live"), live_only.get_received("/live")

    login(client, "commander")
    now = drill_now(db_session.get(DrillRecord, drill_id))
    body = {"drill_id": drill_id, "cell_id": "DRILL-C1", "site_code": "LS-01",
            "window": [now.isoformat(), (now + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0}
    resp = client.post("/api/operations", json=body)
    assert resp.status_code == 201, resp.get_json()
    op = resp.get_json()
    assert op["drill_id"] == drill_id
    assert op["history"][0]["at"].startswith("2018-12-20")  # the drill clock, not the wall clock
    oid = op["id"]
    assert client.post(f"/api/operations/{oid}/authorize").get_json()["state"] == "authorized"
    assert client.post(f"/api/operations/{oid}/request-clearance").get_json()["state"] == \
        "clearance_requested"

    assert client.get("/api/operations").get_json()["operations"] == []
    in_drill = client.get(f"/api/operations?drill={drill_id}").get_json()["operations"]
    assert [o["id"] for o in in_drill] == [oid]
    got = [r["args"][0]["data"]["operation"]["state"] for r in joined.get_received("/live")
           if r["name"] == "operation.update"]
    assert got[-1] == "clearance_requested"
    assert [r for r in live_only.get_received("/live") if r["name"] == "operation.update"] == []

    # The console page in drill mode carries the drill (banner, drill clock script).
    page = client.get(f"/console/commander?drill={drill_id}").get_data(as_text=True)
    assert "console_drill.js" in page and drill_id in page
    assert "take part" in client.get("/console/commander?lang=en").get_data(as_text=True)

    # Once the drill is over, its operations accept no more moves.
    with app.extensions["hailops_db"].session() as s:
        from command.drill import set_state

        set_state(s, s.get(DrillRecord, drill_id), "stopped")
        s.commit()
    assert client.post(f"/api/operations/{oid}/cancel", json={"reason": "x"}).status_code == 422
