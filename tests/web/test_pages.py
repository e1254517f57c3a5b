"""Health endpoint, the map page (offline assets only) and site registry import."""

from __future__ import annotations

import json
import re

from tests.conftest import login

EXTERNAL_URL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}""", re.I)


def test_healthz_needs_no_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["database"]["ok"] is True
    assert body["scheduler"]["ok"] is False  # no scheduler in tests
    assert "radar_feed" in body and body["radar_feed"]["quarantined"] == 0


def test_map_page_has_counties_sites_airport_and_no_external_url(client, users, seeded):
    login(client, "commander")
    page = client.get("/").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert "/static/vendor/socket.io/socket.io.min.js" in page
    for county in ("离石区", "汾阳市", "兴县"):
        assert county in page
    assert "ZBLL" in page
    assert "circleMarker" in page or "circle_marker" in page
    found = [m.group(0) for m in EXTERNAL_URL.finditer(page)]
    assert found == [], f"external URLs in the map page: {found[:5]}"


def test_map_page_in_english(client, users, seeded):
    login(client, "commander")
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Fenyang City" in page


def test_registry_import_rejects_bad_file_as_a_whole(client, users, seeded):
    login(client, "admin")
    before = client.get("/api/sites").get_json()["sites"]
    bad = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [111.1, 37.5]},
         "properties": {"code": "NEW-1", "name": "x", "county": "atlantis", "elevation_m": 1000,
                        "readiness": "ready", "equipment": []}}]}
    resp = client.post("/api/sites/import", data=json.dumps(bad), content_type="application/json")
    assert resp.status_code == 422
    details = resp.get_json()["details"]
    fields = {d["field"] for d in details}
    assert "county" in fields and any(f.startswith("equipment") for f in fields)
    assert all(d["where"] == "feature 1" for d in details)
    assert client.get("/api/sites").get_json()["sites"] == before


def test_registry_export_import_round_trip(client, users, seeded):
    login(client, "admin")
    exported = client.get("/api/sites/export").get_json()
    resp = client.post("/api/sites/import", data=json.dumps(exported),
                       content_type="application/json")
    assert resp.status_code == 200
    assert resp.get_json()["imported"] == len(exported["features"])
    csv = client.get("/api/sites/export?format=csv").get_data(as_text=True)
    resp = client.post("/api/sites/import", data=csv, content_type="text/csv")
    assert resp.status_code == 200, resp.get_json()


def test_openapi_document_lists_every_operation_action(client):
    from command.operations import ACTIONS

    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for action in ACTIONS:
        assert f"/api/operations/{{op_id}}/{action}" in doc["paths"]
    assert "Error" in doc["components"]["schemas"]
