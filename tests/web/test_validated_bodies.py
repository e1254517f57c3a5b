"""Issue 13 (hardening), input: request bodies are pydantic models (command/web/schemas.py);
every malformed request is a 4xx listing every field problem at once, and the OpenAPI
document is generated from the routes with their path parameters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.test_operations_flow import _token

SITE = "LS-01"


@pytest.fixture
def call(app, users, seeded):
    tokens: dict[str, str] = {}

    def _call(username, method, path, body=None, raw=None):
        if username not in tokens:
            tokens[username] = _token(app, username)
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        client = app.test_client()
        if raw is not None:
            return client.open(path, method=method, data=raw, headers=headers,
                               content_type="application/json")
        return client.open(path, method=method, json=body, headers=headers)

    return _call


def _proposal(**overrides):
    now = datetime.now(UTC)
    body = {"cell_id": "C1", "site_code": SITE,
            "window": [now.isoformat(), (now + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0}
    return body | overrides


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_422(call, literal):
    """Finding: 500s on NaN/Infinity numbers (Python's JSON parser accepts them)."""
    raw = json.dumps(_proposal()).replace("10.0", literal)
    resp = call("commander", "POST", "/api/operations", raw=raw)
    assert resp.status_code == 422
    assert "azimuth_deg" in resp.get_json()["details"]
    raw = json.dumps({"site_code": SITE, "sectors": [[0, 90]], "ceiling_m": 1.5}) \
        .replace("1.5", literal)
    resp = call("atc", "POST", "/api/standing-agreements", raw=raw)
    assert resp.status_code == 422 and "ceiling_m" in resp.get_json()["details"]


def test_huge_quantities_and_counts_are_422(call):
    """Findings: a quantity of 10^30 was accepted; counts of 2^31 gave a 500."""
    resp = call("commander", "POST", "/api/operations", _proposal(quantity={"37mm_shell": 10**30}))
    assert resp.status_code == 422 and "quantity" in resp.get_json()["details"]
    resp = call("commander", "POST", f"/api/sites/{SITE}/restock",
                {"ammo_type": "37mm_shell", "count": 2**31})
    assert resp.status_code == 422 and "count" in resp.get_json()["details"]


def test_long_strings_are_422(call):
    """Finding: long strings gave 500s (and were stored where they fitted)."""
    resp = call("commander", "POST", f"/api/sites/{SITE}/restock",
                {"ammo_type": "x" * 100000, "count": 5})
    assert resp.status_code == 422 and "ammo_type" in resp.get_json()["details"]
    resp = call("commander", "POST", "/api/operations", _proposal(cell_id="c" * 5000))
    assert resp.status_code == 422 and "cell_id" in resp.get_json()["details"]


def test_every_field_problem_is_reported_at_once(call):
    resp = call("commander", "POST", "/api/operations",
                {"site_code": "NOPE", "window": ["x"], "azimuth_deg": 400,
                 "elevation_deg": "high", "quantity": {"37mm_shell": -1}})
    assert resp.status_code == 422
    body = resp.get_json()
    assert set(body) == {"code", "message", "details"} and body["code"] == "validation_failed"
    assert {"site_code", "window", "azimuth_deg", "elevation_deg", "quantity",
            "max_altitude_m"} <= set(body["details"])


def test_unknown_authority_in_a_standing_agreement_is_422(call):
    """Finding: an unknown authority in standing agreements gave a 500."""
    body = {"site_code": SITE, "sectors": [[0, 90]], "ceiling_m": 6000, "authority": "navy"}
    resp = call("admin", "POST", "/api/standing-agreements", body)
    assert resp.status_code == 422 and "authority" in resp.get_json()["details"]
    resp = call("admin", "POST", "/api/standing-agreements", body | {"authority": None})
    assert resp.status_code == 422 and "authority" in resp.get_json()["details"]
    assert call("admin", "POST", "/api/standing-agreements",
                body | {"authority": "atc"}).status_code == 201


def test_two_agreements_in_one_second_are_two_agreements(call):
    """Finding: two agreements in one second gave a 500 (same id)."""
    body = {"site_code": SITE, "sectors": [[0, 90]], "ceiling_m": 6000}
    first = call("atc", "POST", "/api/standing-agreements", body)
    second = call("atc", "POST", "/api/standing-agreements", body | {"ceiling_m": 5000})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] != second.get_json()["id"]
    assert len(call("atc", "GET", "/api/standing-agreements").get_json()["agreements"]) == 2


def test_malformed_json_is_a_400_in_the_envelope(call):
    resp = call("commander", "POST", "/api/operations", raw="{not json")
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "bad_request"


def test_openapi_is_generated_with_path_parameters_for_every_api_route(app, client):
    """Finding: the published OpenAPI lacked path parameters (25 of 47 operations could not
    be fuzzed as published)."""
    import re

    doc = client.get("/api/openapi.json").get_json()
    for path, methods in doc["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in methods.items():
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            assert declared == names, (method, path)
    published = {re.sub(r"\{[^}]+\}", "{}", p) for p in doc["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and "<action>" not in rule.rule:
            assert re.sub(r"<[^>]+>", "{}", rule.rule) in published, rule.rule
    restock = doc["paths"]["/api/sites/{code}/restock"]["post"]["requestBody"]
    schema = doc["components"]["schemas"][restock["content"]["application/json"]["schema"][
        "$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["count"]["maximum"] == 100000


def test_integer_path_parameters_beyond_the_database_range_are_404(call):
    """schemathesis found it: /api/escalations/<10^23>/ack overflowed the database integer."""
    assert call("commander", "GET", "/api/volumes/907692468802038332915712").status_code == 404
    assert call("commander", "POST", "/api/escalations/907692468802038332915712/ack",
                {}).status_code == 404


def test_null_for_an_optional_field_means_not_given(call):
    """schemathesis found it: {"ceiling_m": null} in a clearance request gave a 500."""
    op = call("commander", "POST", "/api/operations", _proposal()).get_json()
    assert call("commander", "POST", f"/api/operations/{op['id']}/authorize").status_code == 200
    resp = call("commander", "POST", f"/api/operations/{op['id']}/request-clearance",
                {"ceiling_m": None, "purpose": None, "window": None, "sectors": None,
                 "floor_m": 1500.0})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["state"] == "clearance_requested"
