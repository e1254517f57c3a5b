"""Issue 13 (hardening), requests and responses: CSRF whatever the headers say, Socket.IO
origins, safe redirects, the body size limit, deep JSON, join_drill, the drill event library,
security headers and escaped page data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from command.extensions import socketio
from tests.conftest import TEST_PASSWORD, login
from tests.web.test_operations_flow import _token


def _csrf_token(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_client(app, users, seeded):
    """A commander logged in by cookie, with CSRF checking on (as in production)."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = _csrf_token(client)
    assert client.post("/login", data={"username": "commander", "password": TEST_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def test_any_bearer_header_no_longer_skips_csrf_for_a_cookie_session(csrf_client):
    """Finding: `Authorization: Bearer <anything>` skipped CSRF while the cookie
    authenticated the request (201 as the cookie's user)."""
    body = {"readiness": "standby"}
    for header in ("Bearer x", "Bearer hk_nope", "Bearer "):
        resp = csrf_client.patch("/api/sites/LS-01/readiness", json=body,
                                 headers={"Authorization": header})
        assert resp.status_code == 400, (header, resp.status_code)
        assert resp.get_json()["code"] == "bad_request"


def test_a_valid_token_of_another_user_does_not_exempt_a_cookie_session(app, csrf_client):
    token = _token(app, "county_operator")
    resp = csrf_client.patch("/api/sites/LS-01/readiness", json={"readiness": "standby"},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400


def test_cookie_write_with_the_csrf_header_and_token_write_without_cookie_work(app, csrf_client):
    token = _csrf_token(csrf_client)
    ok = csrf_client.patch("/api/sites/LS-01/readiness", json={"readiness": "standby"},
                           headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    machine = app.test_client()  # no cookie at all
    resp = machine.patch("/api/sites/LS-01/readiness", json={"readiness": "ready"},
                         headers={"Authorization": f"Bearer {_token(app, 'commander')}"})
    assert resp.status_code == 200


def test_socketio_refuses_foreign_origins_by_default(client):
    """Finding: Socket.IO accepted any Origin."""
    url = "/socket.io/?EIO=4&transport=polling"
    assert client.get(url, headers={"Origin": "http://evil.example"}).status_code == 400
    assert client.get(url, headers={"Origin": "http://localhost"}).status_code == 200


def test_socketio_origins_are_configurable(app_config):
    from command import create_app

    app = create_app(app_config | {"socketio_allowed_origins": ["https://ops.example.cn"]})
    client = app.test_client()
    url = "/socket.io/?EIO=4&transport=polling"
    assert client.get(url, headers={"Origin": "https://ops.example.cn"}).status_code == 200
    assert client.get(url, headers={"Origin": "http://localhost"}).status_code == 400


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/%0a/evil.example",
                                    "javascript:alert(1)", "/ /evil.example"])
def test_login_next_never_leaves_the_site(client, users, target):
    """Finding: /login?next=/%09/evil.example redirected off-site."""
    resp = client.post(f"/login?next={target}",
                       data={"username": "commander", "password": TEST_PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_login_next_keeps_local_paths(client, users):
    resp = client.post("/login?next=/console/commander%3Fdrill%3DD1",
                       data={"username": "commander", "password": TEST_PASSWORD})
    assert resp.headers["Location"] == "/console/commander?drill=D1"


def test_language_switch_does_not_redirect_to_a_foreign_referrer(client):
    resp = client.get("/lang/en", headers={"Referer": "https://evil.example/x"})
    assert resp.headers["Location"] == "/"
    resp = client.get("/lang/en", headers={"Referer": "http://localhost/console/commander?x=1"})
    assert resp.headers["Location"] == "/console/commander?x=1"


def test_oversized_bodies_get_413_in_the_envelope(app_config, users):
    """Finding: no body size limit (a 500 MB JSON body was parsed)."""
    from command import create_app

    app = create_app(app_config | {"max_content_length": 4096})
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login(client, "commander")
    resp = client.post("/api/operations", data=b"[" + b"1," * 5000 + b"1]",
                       content_type="application/json")
    assert resp.status_code == 413
    body = resp.get_json()
    assert body["code"] == "request_entity_too_large" and body["message"]


def test_deeply_nested_json_is_a_400(client, users, seeded):
    """Finding: deeply nested JSON gave a 500."""
    login(client, "commander")
    resp = client.post("/api/operations", data="[" * 100000 + "]" * 100000,
                       content_type="application/json")
    assert 400 <= resp.status_code < 500
    assert set(resp.get_json()) == {"code", "message", "details"}


def test_join_drill_needs_an_existing_running_drill_and_does_not_grow_rooms(app, users, seeded,
                                                                           db_session):
    """Finding: join_drill with new ids doubled the rooms joined on each call."""
    from command.drill import create_drill, resolve_event

    drill = create_drill(db_session, resolve_event(db_session, "canberra_20181220"), speed=1,
                         started_by="test")
    db_session.commit()
    sock = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "commander")})
    for n in range(20):
        assert sock.emit("join_drill", {"drill_id": f"NOPE-{n}"}, namespace="/live",
                         callback=True)["ok"] is False
    first = sock.emit("join_drill", {"drill_id": drill.id}, namespace="/live", callback=True)
    again = sock.emit("join_drill", {"drill_id": drill.id}, namespace="/live", callback=True)
    assert first["ok"] and again["ok"] and first["rooms"] == again["rooms"]
    ns = app.extensions["hailops_live_namespace"]
    sid = next(iter(ns._sessions))
    rooms = ns._sessions[sid][3]
    # One drill's copies of the user's rooms; the live rooms are left (issue 10: nothing
    # live inside a drill).
    assert rooms == set(first["rooms"])
    server_rooms = socketio.server.manager.get_rooms(sock.eio_sid, "/live")
    assert len(server_rooms) <= len(rooms) + 1  # + the sid's own room
    sock.disconnect(namespace="/live")


def test_admin_cannot_start_a_drill_from_an_arbitrary_directory(client, users, seeded, tmp_path):
    """Finding: the admin drill API listed any server directory given as an event."""
    login(client, "admin")
    for event in (str(tmp_path), "/etc", "../../command", "../events/../../..", "."):
        resp = client.post("/api/drills", json={"event": event})
        assert resp.status_code == 422, event
        assert "event library" in resp.get_json()["message"]
    from command.models import DrillRecord

    with client.application.app_context():
        from command.extensions import get_session

        assert get_session().scalars(select(DrillRecord)).all() == []


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                    "Referrer-Policy")


@pytest.mark.parametrize("path", ["/login", "/api/me", "/healthz", "/static/js/seq.js"])
def test_security_headers_on_every_response(client, path):
    """Finding: no CSP, frame, nosniff or referrer headers; the Server header showed versions."""
    resp = client.get(path)
    for name in SECURITY_HEADERS:
        assert resp.headers.get(name), name
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Server"] == "hailops"
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP


def test_hsts_behind_tls(app_config):
    from command import create_app

    app = create_app(app_config | {"trusted_proxies": 1})
    resp = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" in create_app(app_config).test_client().get(
        "/login", base_url="https://localhost").headers


def test_production_session_cookie_is_secure(app_config, users):
    import secrets

    from command import create_app

    app = create_app(app_config | {"env": "production", "secret_key": secrets.token_hex(32),
                                   "ratelimit_storage_uri": "memory://"})
    app.config["WTF_CSRF_ENABLED"] = False
    resp = login(app.test_client(), "commander")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_map_page_escapes_registry_strings_and_uses_nonces(app, client, users, seeded):
    """Finding: map.html wrote JSON with |safe; site names reached the page unescaped."""
    from command.extensions import get_db
    from command.models import SiteRecord

    with app.app_context(), get_db().session() as s:
        s.get(SiteRecord, "LS-01").name = "</script><script>alert(1)</script>${alert(2)}`"
        s.commit()
    login(client, "commander")
    resp = client.get("/")
    page = resp.get_data(as_text=True)
    assert "<script>alert(1)" not in page and "${alert(2)}" not in page
    nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)


def test_no_template_uses_the_safe_filter():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "command" / "templates"
    offenders = [p.name for p in templates.rglob("*.html") if re.search(r"\|\s*safe\b", p.read_text())]
    assert offenders == []
