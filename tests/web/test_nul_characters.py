"""Issue 13, input: a NUL character anywhere a request puts text gave a 500 on PostgreSQL
("PostgreSQL text fields cannot contain NUL (0x00) bytes") — in a JSON field, a path
parameter, a query or form field, an uploaded registry.  Each is now a 4xx in the envelope
(SQLite stored or looked the text up; these tests fail there too without the checks)."""

from __future__ import annotations

import pytest

from tests.conftest import login

BODIES = [
    ("POST", "/api/operations", {"site_code": "LS-01\x00", "azimuth_deg": 10}, "site_code"),
    (
        "POST",
        "/api/office/meetings",
        {"held_on": "2026-04-20", "kind": "ad_hoc", "title": "a\x00"},
        "title",
    ),
    ("POST", "/api/office/bulletins", {"kind": "notice", "title": "t", "body": "b\x00"}, "body"),
    (
        "PUT",
        "/api/office/neighbours/xinzhou/liaison",
        {"name": "x\x00", "phone": "0350-1234567"},
        "name",
    ),
    ("POST", "/api/sites/LS-01/restock", {"ammo_type": "37mm_shell\x00", "count": 1}, "ammo_type"),
    (
        "POST",
        "/api/users",
        {"username": "u\x00", "password": "long-enough", "role": "member"},
        "username",
    ),
    (
        "POST",
        "/api/office/meetings",
        {
            "held_on": "2026-04-20",
            "kind": "ad_hoc",
            "title": "t",
            "attendance": {"airport\x00": "x"},
        },
        "attendance",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BODIES)
def test_a_nul_in_a_json_field_is_422(client, users, seeded, method, path, body, field):
    login(client, users["admin"])
    resp = client.open(path, method=method, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert "NUL" in resp.get_json()["details"][field]


@pytest.mark.parametrize(
    "path",
    [
        "/api/sites/LS%00",
        "/api/drills/D1%00/state",
        "/api/operations?drill=D%00",
        "/api/office/ground-reports?county=lishi%00",
        "/console/commander?drill=D%00",
    ],
)
def test_a_nul_in_a_path_or_query_is_400(client, users, seeded, path):
    login(client, users["admin"])
    resp = client.get(path)
    assert resp.status_code == 400


def test_a_nul_in_a_form_or_an_uploaded_registry(client, users, seeded):
    resp = client.post("/login", data={"username": "admin\x00", "password": "x"})
    assert resp.status_code == 400
    login(client, users["admin"])
    csv = (
        "code,name,county,lat,lon,elevation_m,readiness,equipment\n"
        "LS-09,na\x00me,lishi,37.52,111.14,1000,ready,gun_37mm:8:6.5:0-360:1\n"
    )
    resp = client.post("/api/sites/import", data=csv, content_type="text/csv")
    assert resp.status_code == 422 and "NUL" in str(resp.get_json()["details"])
    assert client.get("/api/sites/LS-09").status_code == 404
