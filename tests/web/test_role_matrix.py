"""Every role against every protected endpoint: allowed roles get through, others get 403."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ALL_ROLES, login

# (method, path, body, roles allowed besides admin)
ENDPOINTS = [
    ("GET", "/api/me", None, set(ALL_ROLES)),
    ("GET", "/api/sites", None, set(ALL_ROLES)),
    ("GET", "/api/counties", None, set(ALL_ROLES)),
    ("GET", "/api/member-units", None, set(ALL_ROLES)),
    ("GET", "/api/sites/export", None, {"commander", "forecaster"}),
    ("PATCH", "/api/sites/{lishi_site}/readiness", {"readiness": "standby"},
     {"commander", "county_operator"}),
    ("GET", "/api/users", None, set()),
    ("POST", "/api/users", {"username": "newbie", "password": "long-enough",
                            "role": "member"}, set()),
    ("PUT", "/api/member-units/meteorology/liaison", {"name": "王", "phone": "0358-0000000"},
     set()),
    ("GET", "/api/audit/verify", None, set()),
    ("GET", "/", None, set(ALL_ROLES)),
]


@pytest.fixture
def lishi_site(app, seeded):
    from command.deployment import deployment

    return next(s.code for s in deployment().sites if s.county == "lishi")


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("method,path,body,allowed", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _b, _a in ENDPOINTS])
def test_role_matrix(client, users, seeded, lishi_site, role, method, path, body, allowed):
    login(client, users[role])
    resp = client.open(path.format(lishi_site=lishi_site), method=method,
                       data=None if body is None else json.dumps(body),
                       content_type="application/json")
    if role == "admin" or role in allowed:
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    else:
        assert resp.status_code == 403
        assert resp.get_json()["code"] == "forbidden"


def test_county_operator_sees_only_its_county(client, users, seeded):
    login(client, "county_operator")  # bound to lishi
    sites = client.get("/api/sites").get_json()["sites"]
    assert sites and {s["county"] for s in sites} == {"lishi"}


def test_county_operator_cannot_change_another_countys_site(client, users, seeded):
    from command.deployment import deployment

    other = next(s.code for s in deployment().sites if s.county == "fenyang")
    login(client, "county_operator")
    resp = client.patch(f"/api/sites/{other}/readiness", json={"readiness": "offline"})
    assert resp.status_code == 403


def test_invalid_readiness_is_422_with_field(client, users, seeded):
    from command.deployment import deployment

    code = deployment().sites[0].code
    login(client, "commander")
    resp = client.patch(f"/api/sites/{code}/readiness", json={"readiness": "sleepy"})
    assert resp.status_code == 422
    assert "readiness" in resp.get_json()["details"]
