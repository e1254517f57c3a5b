"""Login, logout, CSRF, rate limit and API tokens."""

from __future__ import annotations

from sqlalchemy import select

from command.models import AuditRecord
from tests.conftest import TEST_PASSWORD, login


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    assert "Log in" not in page


def test_english_is_selectable(client):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in page


def test_login_and_logout(client, users, seeded):
    assert client.get("/").status_code == 302
    resp = login(client, "commander")
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_audited_login_is_recorded(client, users, db_session):
    assert login(client, "commander", "wrong-password").status_code == 401
    login(client, "commander")
    actions = db_session.scalars(select(AuditRecord.action)).all()
    assert "user.login" in actions


def test_api_requires_login_with_json_error(client):
    resp = client.get("/api/me")
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "unauthorized"


def test_bearer_token_authenticates_machine_clients(app, client, users):
    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == "atc")))
        s.commit()
    resp = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["role"] == "atc"
    bad = client.get("/api/me", headers={"Authorization": "Bearer hk_nope"})
    assert bad.status_code == 401


def test_csrf_is_enforced_on_the_login_form(app, client, users):
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post("/login", data={"username": "commander", "password": TEST_PASSWORD})
    assert resp.status_code in (200, 400)
    assert client.get("/api/me").status_code == 401  # not logged in without the token
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post("/login", data={"username": "commander", "password": TEST_PASSWORD,
                                     "csrf_token": token})
    assert ok.status_code == 302


def test_login_is_rate_limited(app, users):
    client = app.test_client()
    codes = [login(client, "commander", "wrong-password").status_code for _ in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[-1] == 429
