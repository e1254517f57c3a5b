"""Issue 15, part 2: liaisons (liaison + deputy with phone, audited changes) and meetings
(attendance, decisions with owner and due date, follow-up until done)."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import login


def _audit(db_session, action):
    from command.models import AuditRecord

    db_session.expire_all()
    return db_session.scalars(select(AuditRecord).where(AuditRecord.action == action)
                              .order_by(AuditRecord.id)).all()


def test_every_unit_has_liaison_and_deputy_with_phone(client, users, seeded):
    login(client, users["member"])
    units = client.get("/api/office/liaisons").get_json()["units"]
    assert len(units) >= 13
    for u in units:
        assert u["liaison"]["phone"] and u["deputy"]["phone"], u["key"]


def test_liaison_change_is_audited_with_before_and_after(client, users, seeded, db_session):
    login(client, users["commander"])
    client.get("/api/office/liaisons")
    r = client.put("/api/office/liaisons/public_security/deputy",
                   json={"name": "王五", "phone": "0358-1234567", "email": "w5@example.org",
                         "username": "member"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "王五"
    recs = _audit(db_session, "liaison.update")
    assert len(recs) == 1
    assert recs[0].object_id == "public_security:deputy"
    assert recs[0].before["name"].startswith("样例副联络员")
    assert recs[0].after["phone"] == "0358-1234567"
    assert recs[0].actor == "commander"


def test_bad_liaison_is_refused_whole_and_changes_nothing(client, users, seeded, db_session):
    login(client, users["commander"])
    before = client.get("/api/office/liaisons").get_json()
    r = client.put("/api/office/liaisons/public_security/liaison", json={"name": "", "phone": "call me"})
    assert r.status_code == 422
    assert set(r.get_json()["details"]) == {"name", "phone"}
    assert client.get("/api/office/liaisons").get_json() == before
    assert client.put("/api/office/liaisons/nosuch/liaison",
                      json={"name": "a", "phone": "0358-1234567"}).status_code == 404
    assert _audit(db_session, "liaison.update") == []


def test_only_the_office_changes_liaisons(client, users, seeded):
    for role in ("member", "forecaster", "county_operator"):
        login(client, users[role])
        r = client.put("/api/office/liaisons/public_security/liaison", json={"name": "x", "phone": "0358-1234567"})
        assert r.status_code == 403, role
        client.post("/logout")


def test_meeting_decisions_are_followed_up_until_done(client, users, seeded, db_session):
    login(client, users["commander"])
    r = client.post("/api/office/meetings", json={
        "held_on": "2026-04-20", "kind": "plenary", "title": "2026年度全体成员会议",
        "attendance": {"meteorology": "张三", "airport": "李四", "military": "赵六"},
        "decisions": [{"text": "机场与军分区空域审批时限压缩到5分钟", "owner_unit": "airport",
                       "due_on": "2026-05-31"},
                      {"text": "补充火箭弹库存", "owner_unit": "finance", "due_on": "2026-05-15"}]})
    assert r.status_code == 201, r.get_json()
    meeting = r.get_json()
    assert meeting["attendance"] == {"meteorology": "张三", "airport": "李四", "military": "赵六"}
    d1, d2 = meeting["decisions"]
    assert (d1["owner_unit"], d1["due_on"], d1["state"]) == ("airport", "2026-05-31", "open")

    r = client.post(f"/api/office/decisions/{d1['id']}/follow-up", json={"note": "已起草流程"})
    assert r.get_json()["state"] == "open" and len(r.get_json()["follow_ups"]) == 1
    r = client.post(f"/api/office/decisions/{d1['id']}/follow-up", json={"note": "已执行", "done": True})
    assert r.get_json()["state"] == "done" and r.get_json()["done_at"]
    r = client.post(f"/api/office/decisions/{d1['id']}/follow-up", json={"note": "again"})
    assert r.status_code == 422

    listed = client.get("/api/office/meetings").get_json()["meetings"][0]
    states = {d["id"]: d for d in listed["decisions"]}
    assert states[d1["id"]]["state"] == "done"
    # The second decision is past due (the clock is after 2026-05-15) and still open.
    assert states[d2["id"]]["state"] == "open" and states[d2["id"]]["overdue"] is True
    assert [a.action for a in _audit(db_session, "decision.follow_up")] == ["decision.follow_up"] * 2
    assert len(_audit(db_session, "meeting.record")) == 1


def test_meeting_errors_are_collected(client, users, seeded):
    login(client, users["commander"])
    r = client.post("/api/office/meetings", json={
        "held_on": "yesterday", "kind": "party", "title": "",
        "attendance": {"nosuch": "x"}, "decisions": [{"text": "", "owner_unit": "nosuch"}]})
    assert r.status_code == 422
    assert {"held_on", "kind", "title", "attendance", "decisions[0].text",
            "decisions[0].owner_unit", "decisions[0].due_on"} <= set(r.get_json()["details"])
    assert client.get("/api/office/meetings").get_json()["meetings"] == []


def test_office_page_lists_units_and_meetings(client, users, seeded):
    login(client, users["commander"])
    client.post("/api/office/meetings", json={"held_on": "2026-06-02", "kind": "ad_hoc",
                                              "title": "冰雹过程会商", "attendance": {}})
    page = client.get("/office?lang=zh").get_data(as_text=True)
    assert "吕梁市气象局" in page and "冰雹过程会商" in page
    login(client, users["member"])
    assert client.get("/office").status_code == 403
