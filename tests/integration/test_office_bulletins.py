"""Issue 15, part 1: a bulletin drafted from the built-in drill's record (every figure checked
against the database, computed here independently), edited and issued by the office with a
running number, stored as HTML and PDF, delivered to every member unit and e-mailed through
a real local SMTP server (aiosmtpd), confirmed by the liaisons; unread ones are chased."""

from __future__ import annotations

import email
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from command.codec import decode
from command.drill import DrillRunner, create_drill, resolve_event
from dispatch import lifecycle as lc
from dispatch.clearance import Denial, Grant
from tests.conftest import login


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def _run_drill(app, db_session):
    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=600, started_by="test", auto_approve=True)
    db_session.commit()
    with app.app_context():
        assert DrillRunner(app, drill.id, poll_s=0.02).run() == "completed"
    db_session.expire_all()
    return drill.id


def _expected(db_session, drill_id):
    """The bulletin's figures computed straight from the tables."""
    from command.models import AmmunitionEntry, AuditRecord, CellRecord, OperationRecord
    from sites.deployment import default_deployment

    dep = default_deployment()
    cells = db_session.scalars(select(CellRecord).where(CellRecord.drill_id == drill_id,
                                                        CellRecord.hail.is_(True))).all()
    counties = set()
    for c in cells:
        lon, lat = c.feature["properties"]["centroid"]
        county = dep.county_at(lon, lat)
        if county:
            counties.add(county.key)
    ops = [decode(lc.Operation, r.data) for r in db_session.scalars(
        select(OperationRecord).where(OperationRecord.drill_id == drill_id))]
    rounds: Counter[str] = Counter()
    for op in ops:
        if op.report:
            rounds.update(op.report.rounds)
    delays = {}
    denials = 0
    for op in ops:
        if op.clearance_request is None:
            continue
        for auth in ("atc", "military"):
            first = next((d for d in op.decisions if d.authority.value == auth), None)
            if first is not None:
                delays[(op.id, auth)] = (first.at - op.clearance_request.requested_at).total_seconds()
                denials += isinstance(first, Denial)
                assert isinstance(first, (Grant, Denial))
    stock: Counter[str] = Counter()
    for e in db_session.scalars(select(AmmunitionEntry).where(
            (AmmunitionEntry.drill_id.is_(None)) | (AmmunitionEntry.drill_id == drill_id))):
        stock[e.ammo_type] += e.delta
    warnings = db_session.scalars(select(AuditRecord).where(
        AuditRecord.action == "warning.issue", AuditRecord.drill_id == drill_id)).all()
    return {"tracks": len({c.track_id or c.cell_id for c in cells}),
            "detections": len(cells),
            "max_mesh": max(c.feature["properties"]["mesh_mm"] for c in cells),
            "counties": sorted(counties), "ops": ops, "rounds": dict(rounds), "delays": delays,
            "denials": denials, "stock": {k: v for k, v in stock.items()},
            "warnings": {w.after["identifier"]: w.after for w in warnings},
            "cells": cells}


@pytest.mark.slow
def test_drill_bulletin_issued_delivered_confirmed_and_chased(app, client, users, seeded, db_session,
                                                            smtp_server):
    from command.models import AuditRecord, BulletinRecord, DeliveryRecord, LiveEvent, OutboxMessage
    from command.office.bulletins import chase_unread
    from command.office.outbox import send_pending

    drill_id = _run_drill(app, db_session)
    exp = _expected(db_session, drill_id)
    assert exp["ops"] and exp["tracks"] > 0

    login(client, users["commander"])
    r = client.post("/api/office/bulletins", json={"drill_id": drill_id})
    assert r.status_code == 201, r.get_json()
    bid = r.get_json()["id"]
    assert r.get_json()["state"] == "draft" and r.get_json()["number"] is None
    fig = client.get(f"/api/office/bulletins/{bid}").get_json()["figures"]

    # Weather.
    w = fig["weather"]
    assert w["hail_tracks"] == exp["tracks"] and w["hail_cell_detections"] == exp["detections"]
    assert w["max_mesh"]["mesh_mm"] == pytest.approx(exp["max_mesh"])
    assert w["counties"] == exp["counties"]
    assert {x["identifier"] for x in w["warnings"]} == set(exp["warnings"])
    for x in w["warnings"]:
        src = exp["warnings"][x["identifier"]]
        assert x["counties"] == src["counties"] and x["sent"] == src["sent"]
        sent, expires = datetime.fromisoformat(src["sent"]), datetime.fromisoformat(src["expires"])
        for county in src["counties"]:
            # Lead time: first hail cell in that county while the warning was valid - sent.
            poly = __import__("sites.deployment", fromlist=["x"]).default_deployment().county(county).geometry
            from shapely.geometry import Point
            times = [c.scan_time for c in exp["cells"]
                     if poly.contains(Point(*c.feature["properties"]["centroid"]))
                     and sent <= c.scan_time <= expires]
            want = (min(times) - sent).total_seconds() if times else None
            assert x["lead_time_s"][county] == (pytest.approx(want) if want is not None else None)
    # Operations by county, rounds, approval times and denials.
    o = fig["operations"]
    assert o["total"] == len(exp["ops"])
    assert sum(len(v) for v in o["by_county"].values()) == len(exp["ops"])
    assert set(o["by_county"]) == {op.county for op in exp["ops"]}
    assert o["rounds"] == exp["rounds"]
    assert len(o["denials"]) == exp["denials"]
    for ops in o["by_county"].values():
        for item in ops:
            for auth, c in item["clearance"].items():
                if (item["id"], auth) in exp["delays"]:
                    assert c["delay_s"] == pytest.approx(exp["delays"][(item["id"], auth)])
    # Ammunition left.
    assert fig["ammunition"]["stock"] == exp["stock"]

    # Real storms of the drill leaving the city: each hail track whose nowcast crosses the
    # border within 60 min has one handover draft, to the neighbour the storm moves into
    # (checked 3 km beyond the crossing along the storm's motion, on the ellipsoid).
    from pyproj import Geod
    from shapely.geometry import Point

    from command.models import HandoverRecord
    from sites.deployment import default_deployment
    from sites.neighbours import load_office

    handovers = db_session.scalars(select(HandoverRecord).where(HandoverRecord.drill_id == drill_id)).all()
    assert handovers, "the relocated Canberra storms move out of Lüliang within the hour"
    outlines = {n.key: n.geometry for n in load_office().neighbours}
    city = default_deployment().area
    for h in handovers:
        assert 0 <= (h.crossing_at - h.created_at).total_seconds() <= 3600
        assert city.exterior.distance(Point(h.crossing_lon, h.crossing_lat)) < 0.01 if hasattr(city, "exterior") \
            else city.boundary.distance(Point(h.crossing_lon, h.crossing_lat)) < 0.01
        lon, lat, _ = Geod(ellps="WGS84").fwd(h.crossing_lon, h.crossing_lat, h.direction_deg, 3000.0)
        assert outlines[h.neighbour_key].contains(Point(lon, lat)), (h.track_id, h.neighbour_key)
        assert h.state == "draft" and h.mesh_mm is not None

    # The season page's drill view shows the same figures.
    import numpy as np

    season = client.get(f"/api/office/season?drill={drill_id}").get_json()["this"]
    assert season["operations"]["total"] == len(exp["ops"])
    assert season["operations"]["by_county"] == dict(sorted(Counter(op.county for op in exp["ops"]).items()))
    assert season["rounds"]["used"] == exp["rounds"]
    for a in season["approvals"]:
        vals = [v for (_, auth), v in exp["delays"].items() if auth == a["authority"]]
        assert a["decided"] == len(vals)
        if vals:
            assert a["median_s"] == pytest.approx(float(np.percentile(vals, 50)))
            assert a["p90_s"] == pytest.approx(float(np.percentile(vals, 90)))
    page = client.get(f"/office/season?drill={drill_id}").get_data(as_text=True)
    assert page.index("approval-table") < page.index("kpi-ops")

    # Edit, then issue with the running number.
    r = client.put(f"/api/office/bulletins/{bid}", json={"body": "各单位：演练作业情况如下。\n第二段。"})
    assert r.status_code == 200
    r = client.post(f"/api/office/bulletins/{bid}/issue")
    assert r.status_code == 200, r.get_json()
    issued = r.get_json()
    year = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).year
    assert issued["number"] == f"吕防雹通〔{year}〕1号"
    assert client.put(f"/api/office/bulletins/{bid}", json={"body": "x"}).status_code == 422
    assert client.post(f"/api/office/bulletins/{bid}/issue").status_code == 422
    db_session.expire_all()
    b = db_session.get(BulletinRecord, bid)
    assert b.pdf.startswith(b"%PDF") and len(b.pdf) > 2000
    assert f"吕防雹通〔{year}〕1号" in b.html and "各单位：演练作业情况如下。" in b.html
    html = client.get(f"/office/bulletins/{bid}.html").get_data(as_text=True)
    assert html == b.html
    assert client.get(f"/office/bulletins/{bid}.pdf").data == b.pdf

    units = [u["key"] for u in client.get("/api/office/liaisons").get_json()["units"]]
    deliveries = db_session.scalars(select(DeliveryRecord).where(DeliveryRecord.bulletin_id == bid)).all()
    assert sorted(d.unit_key for d in deliveries) == sorted(units)
    ev = db_session.scalars(select(LiveEvent).where(LiveEvent.event == "bulletin.issue")).one()
    assert "role:member" in ev.rooms

    # E-mail through a real SMTP server: one per liaison and deputy, with the PDF attached.
    port, inbox = smtp_server
    settings = app.config["HAILOPS"]
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    queued = db_session.scalars(select(OutboxMessage).where(OutboxMessage.ref == f"bulletin:{bid}")).all()
    assert len(queued) == 2 * len(units)
    with app.app_context():
        from command.extensions import get_db

        with get_db().session() as s:
            assert send_pending(s, settings) == {"sent": len(queued), "failed": 0, "pending": 0}
    assert len(inbox.messages) == len(queued)
    rcpts, raw = inbox.messages[0]
    msg = email.message_from_bytes(raw)
    subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    assert f"吕防雹通〔{year}〕1号" in subject
    pdfs = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    assert pdfs and pdfs[0].get_payload(decode=True) == b.pdf

    # Each liaison confirms on the console; the others are chased.
    client.post("/logout")
    r = client.put("/api/office/liaisons/airport/liaison", json={})  # logged out: refused
    assert r.status_code == 401
    login(client, users["commander"])
    client.put("/api/office/liaisons/airport/liaison",
               json={"name": "机场联络员", "phone": "0358-7654321", "username": "member"})
    client.post("/logout")
    login(client, users["member"])
    page = client.get(f"/office/bulletins/{bid}?lang=zh").get_data(as_text=True)
    assert "确认收到" in page and f"吕防雹通〔{year}〕1号" in page
    assert 'id="office-unread"' in client.get("/console/member").get_data(as_text=True)
    r = client.post(f"/api/office/bulletins/{bid}/confirm")
    assert r.status_code == 200
    confirmed = {d["unit"] for d in r.get_json()["deliveries"] if d["confirmed_at"]}
    assert confirmed == {"airport"}
    assert client.post(f"/api/office/bulletins/{bid}/confirm").status_code == 200  # idempotent
    assert 'id="office-unread"' not in client.get("/console/member").get_data(as_text=True)
    client.post("/logout")
    login(client, users["forecaster"])  # not a liaison: nothing to confirm
    assert client.post(f"/api/office/bulletins/{bid}/confirm").status_code == 403

    with app.app_context():
        from command.extensions import get_db

        with get_db().session() as s:
            now = datetime.now(UTC)
            assert chase_unread(s, now=now, after=timedelta(hours=4), prefix="吕防雹通") == 0
            assert chase_unread(s, now=now + timedelta(hours=5), after=timedelta(hours=4),
                                prefix="吕防雹通") == len(units) - 1
            assert chase_unread(s, now=now + timedelta(hours=6), after=timedelta(hours=4),
                                prefix="吕防雹通") == 0
            s.commit()
    db_session.expire_all()
    chased = {d.unit_key: d.chases for d in db_session.scalars(
        select(DeliveryRecord).where(DeliveryRecord.bulletin_id == bid))}
    assert chased["airport"] == 0 and all(v == 1 for k, v in chased.items() if k != "airport")
    assert len(db_session.scalars(select(AuditRecord).where(AuditRecord.action == "bulletin.chase")).all()) \
        == len(units) - 1

    # An ad hoc notice takes the same path and the next number.
    client.post("/logout")
    login(client, users["commander"])
    r = client.post("/api/office/bulletins", json={"kind": "notice", "title": "关于召开全体成员会议的通知",
                                                   "body": "定于6月1日召开全体成员会议。"})
    nid = r.get_json()["id"]
    assert client.post(f"/api/office/bulletins/{nid}/issue").get_json()["number"] == f"吕防雹通〔{year}〕2号"


def test_bulletin_drafting_is_refused_to_other_roles_and_bad_input(client, users, seeded):
    login(client, users["member"])
    assert client.post("/api/office/bulletins", json={"kind": "notice", "title": "x", "body": "y"}).status_code == 403
    client.post("/logout")
    login(client, users["commander"])
    assert client.post("/api/office/bulletins", json={"from": "never"}).status_code == 422
    assert client.post("/api/office/bulletins", json={"drill_id": "nosuch"}).status_code == 404
    r = client.post("/api/office/bulletins", json={"kind": "notice", "title": "", "body": ""})
    assert r.status_code == 422 and set(r.get_json()["details"]) == {"title", "body"}


def test_drafts_are_due_after_a_drill_ends_and_daily_at_the_hour(app, seeded, db_session):
    """The scheduler job drafts once per ended drill, and daily only when something happened."""
    from command.extensions import get_db
    from command.models import BulletinRecord, CellRecord, DrillRecord, RadarVolume
    from command.office.bulletins import draft_due

    t = datetime(2026, 7, 12, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    with app.app_context(), get_db().session() as s:
        s.add(DrillRecord(id="D1", event="canberra_20181220", speed=60, state="stopped",
                          anchor_event=t, anchor_wall=t, started_by="admin"))
        s.add(DrillRecord(id="D2", event="canberra_20181220", speed=60, state="running",
                          anchor_event=t, anchor_wall=t, started_by="admin"))
        s.commit()
        made = draft_due(s, now=t, bulletin_hour=8, restock_below=20)
        assert [b.source for b in made] == ["drill:D1"]  # nothing happened live: no day bulletin
        s.commit()
        assert draft_due(s, now=t, bulletin_hour=8, restock_below=20) == []
        vol = RadarVolume(sha256="y" * 64, filename="v", status="processed", scan_time=t - timedelta(hours=3))
        s.add(vol)
        s.flush()
        s.add(CellRecord(volume_id=vol.id, cell_id="C9", track_id="T9", scan_time=vol.scan_time, hail=True,
                         feature={"properties": {"centroid": [111.14, 37.52], "mesh_mm": 31.0}}))
        s.commit()
        assert draft_due(s, now=t - timedelta(hours=2), bulletin_hour=8, restock_below=20) == []  # 07:00
        made = draft_due(s, now=t, bulletin_hour=8, restock_below=20)
        assert [b.source for b in made] == ["day:2026-07-12"]
        assert made[0].figures["weather"]["hail_tracks"] == 1
        assert made[0].figures["weather"]["max_mesh"]["mesh_mm"] == 31.0
        assert made[0].figures["weather"]["counties"] == ["lishi"]
        s.commit()
    db_session.expire_all()
    assert len(db_session.scalars(select(BulletinRecord)).all()) == 2


def test_concurrent_issues_take_distinct_numbers(app, users, seeded):
    """Two office users issuing at the same moment never share a running number."""
    import threading

    from tests.conftest import TEST_PASSWORD

    ids = []
    c = app.test_client()
    login(c, users["commander"])
    for i in range(4):
        ids.append(c.post("/api/office/bulletins", json={"kind": "notice", "title": f"通知{i}",
                                                         "body": "正文"}).get_json()["id"])
    results: dict[int, tuple[int, dict]] = {}
    barrier = threading.Barrier(len(ids))

    def issue(bid):
        client = app.test_client()
        client.post("/login", data={"username": users["admin"] if bid % 2 else users["commander"],
                                    "password": TEST_PASSWORD})
        barrier.wait()
        r = client.post(f"/api/office/bulletins/{bid}/issue")
        results[bid] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=issue, args=(b,)) for b in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(code == 200 for code, _ in results.values()), results
    numbers = sorted(body["seq"] for _, body in results.values())
    assert numbers == [1, 2, 3, 4]
