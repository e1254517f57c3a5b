"""Issue 13 (hardening), the office and the escalation ladder: their request bodies are
pydantic models like the rest of the API (``command/web/schemas.py``) — finite numbers,
ranges, lengths, enums, every field problem at once in a 422 ``{code, message, details}`` —
and the generated OpenAPI document publishes them, the multipart uploads included."""

from __future__ import annotations

import json

import pytest

from tests.conftest import login
from tests.web.test_operations_flow import _token

RECEIVED = {
    "neighbour": "xinzhou",
    "storm": "XZ-07",
    "crossing_at": "2026-07-12T16:30",
    "crossing_lat": 38.2,
    "crossing_lon": 111.5,
    "mesh_mm": 25,
    "speed_mps": 12,
    "direction_deg": 200,
    "text": "忻州冰雹云向南移动",
}


@pytest.fixture
def commander(client, users, seeded):
    login(client, users["commander"])
    return client


def _raw(client, method, path, text):
    return client.open(path, method=method, data=text, content_type="application/json")


def _problems(resp) -> dict:
    body = resp.get_json()
    assert resp.status_code == 422, body
    assert set(body) == {"code", "message", "details"} and body["code"] == "validation_failed"
    return body["details"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e999"])
def test_received_handover_numbers_are_finite_and_in_range(commander, literal):
    """Before: float("NaN") and float("inf") were stored as a storm's MESH (201)."""
    raw = json.dumps(RECEIVED | {"mesh_mm": 12345.5}).replace("12345.5", literal)
    assert "mesh_mm" in _problems(_raw(commander, "POST", "/api/office/handovers/received", raw))
    resp = commander.post("/api/office/handovers/received", json=RECEIVED | {"direction_deg": 720})
    assert "direction_deg" in _problems(resp)
    assert commander.get("/api/office/handovers?direction=in").get_json()["handovers"] == []


def test_every_problem_of_a_received_handover_at_once(commander):
    """Body problems and the neighbour (checked against the office's configuration) together."""
    resp = commander.post(
        "/api/office/handovers/received",
        json={"neighbour": "beijing", "crossing_lat": 95, "speed_mps": -3, "text": "  "},
    )
    details = _problems(resp)
    assert {"neighbour", "crossing_at", "crossing", "speed_mps", "text"} <= set(details)
    assert "crossing_lat" in details["crossing"] and "crossing_lon" in details["crossing"]
    # The form's strings still read as numbers, and an empty field is a field not given.
    form = RECEIVED | {"crossing_lat": "38.2", "mesh_mm": "", "speed_mps": "12"}
    resp = commander.post("/api/office/handovers/received", json=form)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["mesh_mm"] is None and resp.get_json()["speed_mps"] == 12.0


def test_long_strings_are_refused_not_stored(commander):
    """Before: a follow-up note, a notice body and a liaison's account of any length were
    stored (the body limit is 16 MiB)."""
    meeting = commander.post(
        "/api/office/meetings",
        json={
            "held_on": "2026-04-20",
            "kind": "ad_hoc",
            "title": "会商",
            "decisions": [{"text": "补充弹药", "owner_unit": "finance", "due_on": "2026-05-15"}],
        },
    ).get_json()
    decision = meeting["decisions"][0]["id"]
    resp = commander.post(f"/api/office/decisions/{decision}/follow-up", json={"note": "x" * 5000})
    assert "note" in _problems(resp)
    resp = commander.post(
        "/api/office/bulletins", json={"kind": "notice", "title": "通知", "body": "x" * 100_000}
    )
    assert "body" in _problems(resp)
    resp = commander.put(
        "/api/office/liaisons/airport/liaison",
        json={"name": "张三", "phone": "0358-1234567", "username": {"nested": "object"}},
    )
    assert "username" in _problems(resp)
    follow_ups = commander.get("/api/office/meetings").get_json()["meetings"][0]["decisions"][0]
    assert follow_ups["follow_ups"] == []


def test_times_outside_the_calendar_are_422_not_500(commander, users):
    """Before: a Beijing time in year 1 overflowed when turned into UTC (500)."""
    resp = commander.post(
        "/api/office/bulletins", json={"from": "0001-01-01T00:00", "to": "0001-01-02T00:00"}
    )
    assert {"from", "to"} <= set(_problems(resp))
    commander.post("/logout")
    login(commander, users["member"])
    resp = commander.post(
        "/api/office/ground-reports",
        json={"observed_at": "0001-01-01T00:10", "lat": 37.5, "lon": 111.1, "size_class": "small"},
    )
    assert "observed_at" in _problems(resp)


def test_meeting_form_rows_with_any_keys(commander):
    """Before: a form row keyed other than by a number ({"a": {...}}) gave a 500."""
    resp = commander.post(
        "/api/office/meetings",
        json={
            "held_on": "2026-04-20",
            "kind": "plenary",
            "title": "全体会议",
            "attendance": {"airport": "李四", "military": ""},
            "decisions": {
                "1": {"text": "第二项", "owner_unit": "airport", "due_on": "2026-05-31"},
                "a": {"text": "第三项", "owner_unit": "military", "due_on": "2026-05-31"},
                "0": {"text": "第一项", "owner_unit": "finance", "due_on": "2026-05-31"},
                "2": {"text": "", "owner_unit": "finance", "due_on": ""},
            },
        },
    )
    assert resp.status_code == 201, resp.get_json()
    got = resp.get_json()
    assert [d["text"] for d in got["decisions"]] == ["第一项", "第二项", "第三项"]
    assert got["attendance"] == {"airport": "李四"}
    resp = commander.post(
        "/api/office/meetings",
        json={
            "held_on": "2026-13-01",
            "kind": "party",
            "title": "",
            "attendance": {"nosuch": "x"},
            "decisions": [{"text": "", "owner_unit": "nosuch"}, {"owner_unit": "airport"}],
        },
    )
    details = _problems(resp)
    assert {
        "held_on",
        "kind",
        "title",
        "attendance",
        "decisions[0].text",
        "decisions[0].owner_unit",
        "decisions[0].due_on",
        "decisions[1].text",
        "decisions[1].due_on",
    } <= set(details)


def test_ground_report_form_is_checked_like_json(client, users, seeded):
    """The multipart form (with a photo) and the JSON body go through one model."""
    login(client, users["member"])
    data = {
        "observed_at": "2026-07-12T15:20",
        "lat": "north",
        "size_class": "huge",
        "place": "x" * 500,
    }
    resp = client.post("/api/office/ground-reports", data=data, content_type="multipart/form-data")
    assert {"position", "size_class", "place"} <= set(_problems(resp))
    resp = client.post("/api/office/ground-reports", json=data | {"lat": float("nan")})
    assert {"position", "size_class", "place"} <= set(_problems(resp))


def test_escalation_acknowledgement_takes_no_body_fields(app, users, seeded):
    token = _token(app, "commander")
    resp = app.test_client().post(
        "/api/escalations/1/ack",
        data="[1, 2]",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "validation_failed"


WRITE = ("post", "put", "patch", "delete")


def test_every_write_operation_publishes_its_body(client):
    """Before: the office's writes and the escalation acknowledgement were published as
    "some JSON object" (the routes checked their bodies by hand)."""
    doc = client.get("/api/openapi.json").get_json()
    untyped = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if method not in WRITE or "requestBody" not in op:
                continue
            for media, content in op["requestBody"]["content"].items():
                schema = content["schema"]
                if schema == {"type": "object"}:
                    untyped.append(f"{method} {path} {media}")
    assert untyped == []
    schemas = doc["components"]["schemas"]

    def model(path, method="post", media="application/json"):
        ref = doc["paths"][path][method]["requestBody"]["content"][media]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    meeting = model("/api/office/meetings")
    assert meeting["properties"]["kind"]["enum"] == ["plenary", "ad_hoc"]
    assert meeting["properties"]["decisions"]["maxItems"] == 50
    assert model("/api/office/handovers/received")["properties"]["crossing_lat"]["maximum"] == 90
    assert model("/api/office/liaisons/{unit_key}/{role}", "put")["properties"]["phone"]["pattern"]
    assert model("/api/office/bulletins/{bulletin_id}", "put")["properties"]["title"]["anyOf"]
    assert model("/api/escalations/{esc_id}/ack")["properties"] == {}


def test_uploads_are_published_as_multipart_forms(client):
    """Before: the site import published no body at all, the ground report JSON only."""
    doc = client.get("/api/openapi.json").get_json()
    imp = doc["paths"]["/api/sites/import"]["post"]["requestBody"]
    assert imp["required"] is True
    form = imp["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert {"text/csv", "application/geo+json"} <= set(imp["content"])
    site = imp["content"]["application/geo+json"]["schema"]["properties"]["features"]["items"]
    assert "readiness" in site["properties"]["properties"]["properties"]
    ground = doc["paths"]["/api/office/ground-reports"]["post"]["requestBody"]["content"]
    assert "$ref" in ground["application/json"]["schema"]
    multipart = ground["multipart/form-data"]["schema"]
    assert multipart["properties"]["photo"]["format"] == "binary"
    assert {"observed_at", "lat", "lon", "size_class"} <= set(multipart["required"])


def test_the_office_forms_still_work_as_the_pages_send_them(commander):
    """office.js sends text inputs as strings, checkboxes as booleans, datetime-local
    without an offset (Beijing time)."""
    resp = commander.put(
        "/api/office/neighbours/xinzhou/liaison",
        json={"name": " 王五 ", "phone": "0350-1234567", "email": ""},
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["name"] == "王五"
    resp = commander.post(
        "/api/office/bulletins", json={"from": "2026-07-01T00:00", "to": "2026-07-02T00:00"}
    )
    assert resp.status_code == 201, resp.get_json()
    bid = resp.get_json()["id"]
    assert (
        commander.put(f"/api/office/bulletins/{bid}", json={"title": "七月通报"}).status_code == 200
    )
    resp = commander.post(
        "/api/office/bulletins", json={"from": "2026-07-02T00:00", "to": "2026-07-01T00:00"}
    )
    assert _problems(resp) == {"to": "after from"}
