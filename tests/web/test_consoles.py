"""Role consoles (issue 6): each page only for its role, Chinese by default, English with
?lang=en; the console endpoints (latest cells, arrivals, airspace, overview) and the hail
warning exported as CAP 1.2."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ALL_ROLES, login

CONSOLES = {  # path -> (role allowed, Chinese title, English title)
    "/console/forecaster": ("forecaster", "预报员工作台", "Forecaster console"),
    "/console/commander": ("commander", "指挥员工作台", "Commander console"),
    "/console/atc": ("atc", "机场空管工作台", "Airport ATC console"),
    "/console/military": ("military", "军方航管工作台", "Military control console"),
    "/console/county": ("county_operator", "作业点操作台", "Site operator console"),
    "/console/member": ("member", "成员单位概览", "Member unit overview"),
}
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.mark.parametrize("path", sorted(CONSOLES))
def test_console_is_for_its_role_only(app, users, seeded, path):
    """Issue 6: one console per role; every other role (admin aside) gets 403."""
    allowed, zh_title, en_title = CONSOLES[path]
    for role in ALL_ROLES:
        if role == "admin":
            continue
        client = app.test_client()
        login(client, users[role])
        resp = client.get(path)
        if role == allowed:
            assert resp.status_code == 200, role
            html = resp.get_data(as_text=True)
            assert zh_title in html  # Chinese by default
            assert 'lang="zh-CN"' in html
            assert "js/console_common.js" in html and "X-CSRFToken" not in html.split("<main>")[0]
            en = client.get(path + "?lang=en").get_data(as_text=True)
            assert en_title in en and 'lang="en"' in en
        else:
            assert resp.status_code == 403, (role, path)


def test_console_requires_login(client):
    resp = client.get("/console/commander")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_console_home_redirects_to_the_role_console(client, users, seeded):
    login(client, users["county_operator"])
    assert client.get("/console").headers["Location"].endswith("/console/county")


def test_nav_links_the_role_console(client, users, seeded):
    login(client, users["atc"])
    html = client.get("/").get_data(as_text=True)
    assert 'href="/console/atc"' in html and 'href="/console/commander"' not in html


def test_airspace_layers(client, users, seeded):
    login(client, users["military"])
    data = client.get("/api/airspace").get_json()
    assert data["airport"]["icao"] == "ZBLL"
    assert data["no_fire"]["features"] and data["no_fire"]["features"][0]["geometry"]["type"]


def test_live_seq_and_overview(client, users, seeded):
    login(client, users["member"])
    assert client.get("/api/live/seq").get_json()["seq"] >= 0
    data = client.get("/api/member/overview").get_json()
    assert data["volume"] is None and data["member_units"]


def _volume_with_hail_cell(app):
    """One processed volume with a hail cell over Lishi and its track with a nowcast."""
    from command.extensions import get_db
    from command.models import CellRecord, RadarVolume

    now = datetime.now(UTC).replace(microsecond=0)
    ring = [[111.10, 37.50], [111.20, 37.50], [111.20, 37.58], [111.10, 37.58], [111.10, 37.50]]
    moved = [[x + 0.1, y] for x, y in ring]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
               "properties": {"id": "C-T-01", "max_dbz": 62.0, "mesh_mm": 31.5, "posh_pct": 70.0,
                              "top45_km": 9.1, "vil_kgm2": 48.0, "vild_gm3": 4.1,
                              "area_km2": 80.0, "hail": True, "track_id": "T0001"}}
    track = {"id": "T0001", "cell_id": "C-T-01", "speed_mps": 15.0, "direction_deg": 90.0,
             "trend": {"overall": "growing"},
             "nowcast": {"issued_at": now.isoformat(), "steps": [
                 {"lead_min": 30, "valid_time": (now + timedelta(minutes=30)).isoformat(),
                  "centroid": [111.25, 37.54], "polygon": {"type": "Polygon", "coordinates": [moved]}}]},
             "arrivals": {"counties": {"lishi": now.isoformat()}, "sites": {"LS-01": (now + timedelta(minutes=12)).isoformat()}}}
    with app.app_context(), get_db().session() as s:
        vol = RadarVolume(sha256="0" * 64, filename="test.h5", status="processed", scan_time=now,
                          radar={}, levels={"h0_m": 4300, "h20_m": 7600, "source": "seasonal"},
                          products={}, tracks=[track])
        s.add(vol)
        s.flush()
        cell = CellRecord(volume_id=vol.id, cell_id="C-T-01", track_id="T0001", scan_time=now,
                          feature=feature, hail=True)
        s.add(cell)
        s.commit()
        return cell.id


def test_latest_cells_carry_record_ids_tracks_and_arrivals(app, client, users, seeded):
    record_id = _volume_with_hail_cell(app)
    login(client, users["forecaster"])
    data = client.get("/api/cells/latest").get_json()
    cell = data["cells"][0]
    assert cell["record_id"] == record_id and cell["review"] == "new"
    assert cell["track"]["arrivals"]["counties"] == {"lishi": data["scan_time"]}
    arr = client.get("/api/cells/arrivals?cells=C-T-01,unknown").get_json()["arrivals"]
    assert arr["unknown"] is None and "LS-01" in arr["C-T-01"]["track"]["arrivals"]["sites"]


def test_cap_alert_has_the_threatened_polygon_and_counties(app, client, users, seeded):
    """Issue 6: a hail warning for counties, exportable as CAP 1.2 with the area polygon."""
    record_id = _volume_with_hail_cell(app)
    login(client, users["forecaster"])
    resp = client.get(f"/api/cells/{record_id}/cap.xml?counties=lishi,fangshan")
    assert resp.status_code == 200 and resp.mimetype == "application/cap+xml"
    root = ET.fromstring(resp.data)
    assert root.tag == CAP + "alert"
    assert [c.tag.removeprefix(CAP) for c in root][:7] == [
        "identifier", "sender", "sent", "status", "msgType", "scope", "info"]
    assert root.findtext(CAP + "sent").endswith("+08:00")
    infos = root.findall(CAP + "info")
    assert [i.findtext(CAP + "language") for i in infos] == ["zh-CN", "en-US"]
    assert infos[0].findtext(CAP + "category") == "Met" and infos[0].findtext(CAP + "severity") == "Severe"
    polygon = infos[0].find(f"{CAP}area/{CAP}polygon").text.split()
    assert len(polygon) >= 4 and polygon[0] == polygon[-1]
    lat, lon = map(float, polygon[0].split(","))
    assert 37 < lat < 38.5 and 110.5 < lon < 112  # lat,lon order
    codes = [g.findtext(CAP + "value") for g in infos[0].findall(f"{CAP}area/{CAP}geocode")]
    assert len(codes) == 2 and all(c.isdigit() for c in codes)
    assert client.get(f"/api/cells/{record_id}/cap.xml?counties=nowhere").status_code == 422
    assert client.get(f"/api/cells/{record_id}/cap.xml").status_code == 422


def test_issued_warning_is_audited_announced_idempotent_and_reproducible(app, client, users, seeded):
    from command.extensions import socketio

    record_id = _volume_with_hail_cell(app)
    login(client, users["forecaster"])
    watcher = socketio.test_client(app, namespace="/live", flask_test_client=client)
    watcher.get_received("/live")
    first = client.post(f"/api/cells/{record_id}/warning", json={"counties": ["lishi"]},
                        headers={"Idempotency-Key": "w-1"})
    assert first.status_code == 201
    again = client.post(f"/api/cells/{record_id}/warning", json={"counties": ["lishi"]},
                        headers={"Idempotency-Key": "w-1"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    events = [r for r in watcher.get_received("/live") if r["name"] == "warning.issue"]
    assert len(events) == 1
    assert [w["identifier"] for w in client.get("/api/warnings").get_json()["warnings"]] == [
        first.get_json()["identifier"]]
    login(client, users["fenyang"])  # another county does not see it
    assert client.get("/api/warnings").get_json()["warnings"] == []
    login(client, users["forecaster"])
    cap = client.get(first.get_json()["cap_url"])
    assert ET.fromstring(cap.data).findtext(CAP + "identifier") == first.get_json()["identifier"]
    login(client, users["commander"])
    assert client.post(f"/api/cells/{record_id}/warning", json={"counties": ["lishi"]}).status_code == 403
