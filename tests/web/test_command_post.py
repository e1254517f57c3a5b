"""Issue 11 (the commander's console as a command post) and issue 10 (alerts survive a reload):
the commander's alert list served from the audit log, in the world's time; the restock
screen's ledger API announcing the new stock; the map's embed mode under the policy; and
the browser's sentences served from the translation catalogue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from command.extensions import get_db, socketio
from command.models import AuditRecord, SiteRecord
from tests.conftest import login
from tests.web.test_drill_consoles import drill_world  # noqa: F401 - fixture
from tests.web.test_operations_flow import _iso, api  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
ZH = re.compile(r"[\u4e00-\u9fff]")


def _pending_op(api, now, key):  # noqa: F811
    resp = api(
        "commander",
        "POST",
        "/api/operations",
        {
            "cell_id": "C-ALERT-1",
            "site_code": "LS-01",
            "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=30))],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0,
        },
        key=key,
    )
    assert resp.status_code == 201, resp.get_json()
    oid = resp.get_json()["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize")
    api("commander", "POST", f"/api/operations/{oid}/request-clearance")
    return oid


# --- alerts (issue 10 leftover) ----------------------------------------------------------------
def test_commander_alerts_are_served_again_after_a_reload(app, api, client, users):  # noqa: F811
    """The console kept alerts in memory only: a reload emptied the list.  The list now comes
    from the audit log, worded in Chinese, newest first."""
    now = datetime.now(UTC)
    denied = _pending_op(api, now, "a1")
    api("atc", "POST", f"/api/operations/{denied}/deny", {"reason": "航路繁忙"})
    cleared = _pending_op(api, now, "a2")
    # LS-01 is busy with the first one until it is denied: the second goes to LS-02.
    for who in ("atc", "military"):
        assert api(who, "POST", f"/api/operations/{cleared}/grant", {}).status_code == 200
    login(client, users["commander"])
    first = client.get("/api/alerts")
    assert first.status_code == 200, first.get_json()
    alerts = first.get_json()["alerts"]
    texts = [a["text"] for a in alerts]
    assert any(
        "空域申请被拒绝" in t and "航路繁忙" in t and t.startswith("LS-01") for t in texts
    ), texts
    assert any("双方空域已批复" in t for t in texts), texts
    assert [a["id"] for a in alerts] == sorted((a["id"] for a in alerts), reverse=True)
    assert all(ZH.search(t) for t in texts)
    # "Reload": the same list again.
    assert client.get("/api/alerts").get_json()["alerts"] == alerts
    # A live list never shows drill alerts, and other roles do not get the commander's list.
    login(client, users["member"])
    assert client.get("/api/alerts").status_code == 403


def test_drill_alerts_are_stamped_in_drill_time(app, client, users, drill_world):  # noqa: F811
    d = drill_world
    login(client, users["atc"])
    resp = client.post(
        f"/api/operations/{d['op']}/deny?drill={d['drill']}", json={"reason": "演练拒绝"}
    )
    assert resp.status_code == 200, resp.get_json()
    denied_at = resp.get_json()["history"][-1]["at"]
    login(client, users["forecaster"])
    assert (
        client.post(
            f"/api/cells/{d['cell']}/review?drill={d['drill']}",
            json={"decision": "confirmed", "reason": ""},
        ).status_code
        == 200
    )
    login(client, users["commander"])
    alerts = client.get(f"/api/alerts?drill={d['drill']}").get_json()["alerts"]
    deny = next(a for a in alerts if a["kind"] == "deny")
    assert "演练拒绝" in deny["text"]
    assert datetime.fromisoformat(deny["at"]) == datetime.fromisoformat(denied_at)
    # Every alert of the drill, the forecaster's review included, is on the drill clock
    # (the event's own day), never the wall clock.
    assert {a["kind"] for a in alerts} >= {"deny", "review"}
    assert all(a["at"].startswith("2018-12-20") for a in alerts), alerts
    live = client.get("/api/alerts").get_json()["alerts"]
    assert all("演练拒绝" not in a["text"] for a in live)


# --- restock --------------------------------------------------------------------------------------
def test_restock_announces_the_new_stock_and_readies_an_empty_site(app, api, db_session):  # noqa: F811
    with app.app_context(), get_db().session() as s:
        site = s.get(SiteRecord, "LS-01")
        site.readiness = "out_of_ammunition"
        s.commit()
    watcher = socketio.test_client(
        app, namespace="/live", auth={"token": _token_of(app, "commander")}
    )
    watcher.get_received("/live")
    before = api("commander", "GET", "/api/sites/LS-01").get_json()["ammunition"]["37mm_shell"]
    resp = api(
        "commander",
        "POST",
        "/api/sites/LS-01/restock",
        {"ammo_type": "37mm_shell", "count": 30},
        key="delivery-1",
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["stock"]["37mm_shell"] == before + 30
    got = {e["name"]: e["args"][0]["data"] for e in watcher.get_received("/live")}
    assert got["site.stock"]["stock"]["37mm_shell"] == before + 30
    assert got["site.stock"]["readiness"] == "ready"
    assert got["site.status"] == {"code": "LS-01", "readiness": "ready", "county": "lishi"}
    site = api("commander", "GET", "/api/sites/LS-01").get_json()
    assert site["readiness"] == "ready" and site["ammunition"]["37mm_shell"] == before + 30
    # The same delivery sent again (a lost answer, a double click) is recorded once.
    again = api(
        "commander",
        "POST",
        "/api/sites/LS-01/restock",
        {"ammo_type": "37mm_shell", "count": 30},
        key="delivery-1",
    )
    assert again.get_json()["stock"]["37mm_shell"] == before + 30
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "ammunition.restock")
        )
        == 1
    )
    assert watcher.get_received("/live") == []
    watcher.disconnect(namespace="/live")


def _token_of(app, username):
    from tests.web.test_operations_flow import _token

    return _token(app, username)


def test_restock_screen_is_for_commander_and_admin(client, users, seeded):
    for role, status in (
        ("commander", 200),
        ("admin", 200),
        ("forecaster", 403),
        ("county_operator", 403),
    ):
        login(client, users[role])
        resp = client.get("/console/sites")
        assert resp.status_code == status, role
    login(client, users["commander"])
    page = client.get("/console/sites").get_data(as_text=True)
    assert "战备与补弹" in page and 'id="sites-body"' in page
    # Live sites only: asked inside a drill, the screen sends the user to the live one.
    assert client.get("/console/sites?drill=D1").status_code == 302


# --- the map beside the work ----------------------------------------------------------------------
def test_the_map_embeds_in_a_console_and_nowhere_else(client, users, seeded, drill_world):  # noqa: F811
    login(client, users["commander"])
    full = client.get("/")
    assert "frame-ancestors 'none'" in full.headers["Content-Security-Policy"]
    assert full.headers["X-Frame-Options"] == "DENY"
    embed = client.get("/?embed=1")
    assert embed.status_code == 200
    policy = embed.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "'none'" not in policy.split("frame-ancestors")[1]
    assert "script-src 'self' 'nonce-" in policy  # the rest of the policy is unchanged
    assert embed.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = embed.get_data(as_text=True)
    assert 'class="topbar"' not in html and "map-embed" in html
    # The commander's console frames the live map; a drill console frames the drill's map,
    # whose sites carry no live state and which loads no live office layers.
    console = client.get("/console/commander").get_data(as_text=True)
    assert 'src="/?embed=1"' in console
    drill = drill_world["drill"]
    in_drill = client.get(f"/console/commander?drill={drill}").get_data(as_text=True)
    assert f'src="/?embed=1&amp;drill={drill}"' in in_drill
    drill_map = client.get(f"/?embed=1&drill={drill}").get_data(as_text=True)
    assert f'"drill": "{drill}"' in drill_map
    assert "map_office.js" not in drill_map
    assert "#2ecc71" not in drill_map.split("window.HAILOPS =")[0]  # no "ready" colour
    assert client.get("/?embed=1&drill=NOPE").status_code == 404
    login(client, users["forecaster"])
    forecaster = client.get("/console/forecaster").get_data(as_text=True)
    assert 'src="/?embed=1"' in forecaster  # beside the cell table


# --- one language ------------------------------------------------------------------------------------
MOVED = (
    "console_common.js",
    "console_commander.js",
    "console_county.js",
    "console_forecaster.js",
    "console_sites.js",
    "console_airspace.js",
    "console_member.js",
    "live.js",
    "map_office.js",
)


def test_browser_sentences_come_from_the_catalogue(app, client, users, seeded):
    """The consoles and the map wrote their labels in both languages inline (``T("中文",
    "English")``): each string now comes from the catalogue through ``_()``, and every one has
    its Chinese translation."""
    from command.vocabulary import js_msgids

    static = ROOT / "static"
    for name in MOVED:
        text = (static / "js" / name).read_text(encoding="utf-8")
        inline = re.findall(r"\bT\(\s*\"[^\"]*\",\s*\"", text)
        assert inline == [], f"{name}: inline two-language texts {inline[:3]}"
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
        assert not ZH.search(code), f"{name}: Chinese outside the catalogue"
    msgids = js_msgids(static, *MOVED)
    assert len(msgids) > 150
    with app.test_request_context("/"):  # the default language: Chinese
        from command.vocabulary import browser_messages

        words = browser_messages(static, *MOVED)
    untranslated = [
        m
        for m in msgids
        if words[m] == m and re.search(r"[A-Za-z]{2,}", re.sub(r"%\(\w+\)s", "", m))
    ]
    assert untranslated == []
    login(client, users["commander"])
    console = client.get("/console/commander").get_data(as_text=True)
    assert (
        '"Request clearance": "\u7533\u8bf7\u7a7a\u57df"' in console
        or '"Request clearance": "申请空域"' in console
    )  # the page's sentences in its boot


def test_console_drill_banner_has_no_two_language_marker(client, users, drill_world):  # noqa: F811
    login(client, users["commander"])
    html = client.get(f"/console/commander?drill={drill_world['drill']}").get_data(as_text=True)
    banner = re.search(r'<div class="drill-banner console-drill">(.*?)<span', html, re.S)[1]
    assert banner.strip() == "演练"


def test_sites_inside_a_drill_show_the_drills_world(app, client, users, drill_world):  # noqa: F811
    """The commander's board and the county's stock read /api/sites: inside a drill they
    showed the live readiness (a live operation's 作业中) and the live stock."""
    from command.models import AmmunitionEntry

    drill = drill_world["drill"]
    with app.app_context(), get_db().session() as s:
        s.get(SiteRecord, "LS-01").readiness = "firing"  # a live operation fires
        s.add(
            AmmunitionEntry(
                site_code="LS-02",
                ammo_type="rocket_wr98",
                delta=-15,
                reason="report",
                reference="drill-test",
                at=datetime.now(UTC),
                actor="test",
                drill_id=drill,
            )
        )
        s.commit()
    login(client, users["commander"])
    live = {s["code"]: s for s in client.get("/api/sites").get_json()["sites"]}
    inside = {s["code"]: s for s in client.get(f"/api/sites?drill={drill}").get_json()["sites"]}
    assert live["LS-01"]["readiness"] == "firing" and inside["LS-01"]["readiness"] == "ready"
    assert live["LS-02"]["ammunition"]["rocket_wr98"] == 15
    assert inside["LS-02"]["ammunition"]["rocket_wr98"] == 0
    assert inside["LS-02"]["readiness"] == "out_of_ammunition"
