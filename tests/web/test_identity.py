"""Issue 13 (hardening), identity: tokens expire and can be revoked (CLI and API), which also
disconnects open sockets; sessions end at logout and deactivation; logins are throttled per
account and per address in a store shared by all processes."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from command.extensions import socketio
from command.models import ApiToken, User
from tests.conftest import TEST_PASSWORD, login
from tests.web.test_operations_flow import _token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_expired_tokens_are_refused(app, client, users, db_session):
    """Finding: tokens never expired."""
    token = _token(app, "atc")
    assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    row = db_session.scalars(select(ApiToken)).one()
    assert row.expires_at is not None and row.expires_at > datetime.now(UTC) + timedelta(days=80)
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    assert client.get("/api/me", headers=_bearer(token)).status_code == 401
    refused = socketio.test_client(app, namespace="/live", auth={"token": token})
    assert not refused.is_connected("/live")


def test_api_revocation_refuses_the_token_and_disconnects_its_socket(app, client, users):
    """Finding: tokens could not be revoked; an open socket survived revocation."""
    token = _token(app, "atc")
    sock = socketio.test_client(app, namespace="/live", auth={"token": token})
    other = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "military")})
    assert sock.is_connected("/live")
    login(client, "admin")
    resp = client.post("/api/users/atc/revoke", json={})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["revoked_tokens"] == 1 and resp.get_json()["sockets_disconnected"] == 1
    assert not sock.is_connected("/live")
    assert other.is_connected("/live")
    assert app.test_client().get("/api/me", headers=_bearer(token)).status_code == 401


def test_revoking_one_named_token_keeps_the_others(app, client, users):
    from command.auth import issue_token
    from command.extensions import get_db

    with app.app_context(), get_db().session() as s:
        user = s.scalar(select(User).where(User.username == "atc"))
        keep, drop = issue_token(s, user, name="keep"), issue_token(s, user, name="drop")
        s.commit()
    login(client, "admin")
    assert client.post("/api/users/atc/revoke", json={"token_name": "drop"}).get_json()[
        "revoked_tokens"] == 1
    machine = app.test_client()
    assert machine.get("/api/me", headers=_bearer(drop)).status_code == 401
    assert machine.get("/api/me", headers=_bearer(keep)).status_code == 200


def test_cli_revocation_reaches_sockets_held_by_another_process(app_config, users):
    """`hailops users revoke` runs in its own process: each web process re-checks its sockets."""
    from command import create_app
    from command.cli import main

    app = create_app(app_config | {"socket_sweep": True, "socket_check_seconds": 0.2})
    token = _token(app, "military")
    sock = socketio.test_client(app, namespace="/live", auth={"token": token})
    assert sock.is_connected("/live")
    env = {"HAILOPS_DATABASE_URL": app_config["database_url"], "HAILOPS_ENV": "test",
           "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"])}
    result = CliRunner().invoke(main, ["users", "revoke", "military"], env=env)
    assert result.exit_code == 0, result.output
    assert "revoked 1 token(s) of military; sessions ended" in result.output
    deadline = time.monotonic() + 5
    while sock.is_connected("/live") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sock.is_connected("/live")


def test_cookie_saved_before_logout_no_longer_works(client, users):
    """Finding: a cookie saved before logout kept working."""
    login(client, "commander")
    saved = client.get_cookie("session").value
    assert client.get("/api/me").status_code == 200
    client.post("/logout")
    client.set_cookie("session", saved)
    assert client.get("/api/me").status_code == 401


def test_deactivated_users_cookie_and_socket_stop_working(app, users):
    """Finding: a deactivated user's cookie kept working."""
    user_client = app.test_client()
    login(user_client, "forecaster")
    sock = socketio.test_client(app, namespace="/live", flask_test_client=user_client)
    assert sock.is_connected("/live")
    admin = app.test_client()
    login(admin, "admin")
    resp = admin.post("/api/users/forecaster/deactivate")
    assert resp.status_code == 200 and resp.get_json()["sockets_disconnected"] == 1
    assert user_client.get("/api/me").status_code == 401
    assert not sock.is_connected("/live")
    assert login(app.test_client(), "forecaster").status_code == 401


def test_cli_deactivation_ends_the_cookie_session(app, app_config, users):
    from command.cli import main

    client = app.test_client()
    login(client, "member")
    assert client.get("/api/me").status_code == 200
    env = {"HAILOPS_DATABASE_URL": app_config["database_url"], "HAILOPS_ENV": "test",
           "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"])}
    assert CliRunner().invoke(main, ["users", "deactivate", "member"], env=env).exit_code == 0
    assert client.get("/api/me").status_code == 401


def _fail(app, username: str, address: str) -> int:
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return login(c, username, "wrong-password").status_code


def test_failures_on_one_account_do_not_lock_out_others_behind_the_address(app, users):
    """Finding: ten failures by anyone locked out everyone behind that address."""
    codes = [_fail(app, "commander", "10.0.0.1") for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    assert login(c, "forecaster").status_code == 302
    # ... and the attacked account stays throttled from any other address.
    assert _fail(app, "commander", "10.9.9.9") == 429


def test_the_address_limit_catches_spraying_many_accounts(app_config, users):
    from command import create_app

    app = create_app(app_config | {"login_address_limit": "5 per minute"})
    app.config["WTF_CSRF_ENABLED"] = False
    codes = [_fail(app, f"nobody{n}", "10.0.0.2") for n in range(6)]
    assert codes == [401] * 5 + [429]
    assert _fail(app, "nobody0", "10.0.0.3") == 401


def test_successful_logins_are_not_counted(app, users):
    for _ in range(12):
        assert login(app.test_client(), "commander").status_code == 302


@pytest.mark.skipif(not os.environ.get("HAILOPS_TEST_REDIS_URL"),
                    reason="HAILOPS_TEST_REDIS_URL not set (CI sets it)")
def test_login_throttling_is_shared_by_all_processes_through_redis(app_config, users):
    """Finding: the login limit was per process, in memory."""
    from command import create_app
    from command.auth import create_user
    from command.extensions import get_db

    config = app_config | {"ratelimit_storage_uri": os.environ["HAILOPS_TEST_REDIS_URL"]}
    first = create_app(config)
    first.config["WTF_CSRF_ENABLED"] = False
    name = f"u{uuid.uuid4().hex[:12]}"  # Redis outlives the test: a fresh account key
    with first.app_context(), get_db().session() as s:
        create_user(s, name, TEST_PASSWORD, "member")
        s.commit()
    assert [_fail(first, name, "10.1.0.1") for _ in range(10)] == [401] * 10
    second = create_app(config)  # another web process: its own app and store connection
    second.config["WTF_CSRF_ENABLED"] = False
    assert _fail(second, name, "10.1.0.2") == 429


def test_production_takes_the_shared_store_from_the_message_queue():
    import secrets

    from command.settings import SettingsError, load_settings

    base = {"env": "production", "secret_key": secrets.token_hex(32)}
    s = load_settings(base | {"message_queue": "redis://127.0.0.1:6379/3"})
    assert s.ratelimit_storage_uri == "redis://127.0.0.1:6379/3"
    with pytest.raises(SettingsError, match="login-throttling store"):
        load_settings(base)

