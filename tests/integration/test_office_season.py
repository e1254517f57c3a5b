"""Issue 15, part 4: season statistics against a seeded season, every figure computed
independently here (numpy percentiles, plain counting); last season beside this one;
airspace approval delays shown first; CSV and XLSX exports carry the same numbers."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from command.codec import encode
from dispatch import lifecycle as lc
from dispatch.clearance import TimeWindow
from dispatch.firing import FiringReport, Observation
from tests.conftest import login
from tests.unit.dispatch.dispatch_factories import ATC, COMMANDER, MILITARY, make_request

# id, county, site, start (UTC), ATC delay s, military delay s, military denies, rounds, drill
SEASON = [
    ("A", "lishi", "S1", datetime(2026, 6, 15, 6, 0, tzinfo=UTC), 120, 600, False, {"37mm_shell": 20}, None),
    ("B", "lishi", "S2", datetime(2026, 7, 3, 6, 0, tzinfo=UTC), 60, 1800, True, {}, None),
    ("C", "fenyang", "S3", datetime(2026, 7, 20, 6, 0, tzinfo=UTC), 300, 240, False, {"rocket_wr98": 4}, None),
    ("D", "lishi", "S1", datetime(2025, 8, 1, 6, 0, tzinfo=UTC), 200, 400, False, {"37mm_shell": 10}, None),
    ("E", "lishi", "S1", datetime(2026, 7, 5, 6, 0, tzinfo=UTC), 10, 10, False, {"37mm_shell": 99}, "DX"),
    ("F", "lishi", "S1", datetime(2026, 5, 20, 6, 0, tzinfo=UTC), 10, 10, False, {"37mm_shell": 7}, None),
]


def _operation(oid, county, site, t0, atc_s, mil_s, denies, rounds, drill):
    window = TimeWindow(t0, t0 + timedelta(hours=1))
    op = lc.propose(id=oid, cell_id="C" + oid, site_code=site, county=county, window=window,
                    azimuth_deg=45.0, elevation_deg=60.0, quantity={"37mm_shell": 20},
                    max_altitude_m=7700.0, actor=COMMANDER, now=t0, drill_id=drill)
    op = lc.authorize(op, COMMANDER, t0 + timedelta(seconds=60))
    asked = t0 + timedelta(seconds=120)
    op = lc.request_clearance(op, COMMANDER, asked, make_request(id=oid, site_code=site, window=window,
                                                                 requested_at=asked))
    if denies:
        op = lc.grant(op, ATC, asked + timedelta(seconds=atc_s))
        return lc.deny(op, MILITARY, asked + timedelta(seconds=mil_s), "traffic")
    for who, after in sorted(((ATC, atc_s), (MILITARY, mil_s)), key=lambda x: x[1]):  # in time order
        op = lc.grant(op, who, asked + timedelta(seconds=after))
    t = asked + timedelta(seconds=max(atc_s, mil_s) + 30)
    op = lc.order(op, COMMANDER, t)
    operator = lc.Actor("op-" + county, lc.Role.COUNTY_OPERATOR, county)
    op = lc.acknowledge(op, operator, t + timedelta(seconds=40))
    op = lc.start_firing(op, operator, t + timedelta(seconds=100))
    report = FiringReport(started_at=t + timedelta(seconds=100), ended_at=t + timedelta(seconds=300),
                          rounds=rounds, observation=Observation.HAIL)
    return replace(op, report=report, state=lc.S.COMPLETED)


@pytest.fixture
def season(app, seeded):
    from command.extensions import get_db
    from command.models import (
        AmmunitionEntry,
        CellRecord,
        GroundReportRecord,
        OperationRecord,
        RadarVolume,
        SiteRecord,
    )

    ops = {}
    with app.app_context(), get_db().session() as s:
        for row in SEASON:
            op = _operation(*row)
            ops[op.id] = op
            s.add(OperationRecord(id=op.id, cell_id=op.cell_id, site_code=op.site_code, county=op.county,
                                  state=op.state.value, drill_id=op.drill_id, data=encode(op),
                                  created_at=op.history[0].at, updated_at=op.history[-1].at))
        code = s.scalars(select(SiteRecord.code).order_by(SiteRecord.code)).first()
        s.add(AmmunitionEntry(site_code=code, ammo_type="37mm_shell", delta=50, reason="restock",
                              at=datetime(2026, 7, 10, tzinfo=UTC)))
        s.add(AmmunitionEntry(site_code=code, ammo_type="37mm_shell", delta=30, reason="restock",
                              at=datetime(2025, 7, 10, tzinfo=UTC)))
        vol = RadarVolume(sha256="z" * 64, filename="v", status="processed",
                          scan_time=datetime(2026, 6, 15, 6, 0, tzinfo=UTC))
        s.add(vol)
        s.flush()
        for t, drill in ((datetime(2026, 6, 15, 6, 0, tzinfo=UTC), None),
                         (datetime(2026, 7, 20, 17, 0, tzinfo=UTC), None),   # 21 July in Beijing
                         (datetime(2026, 8, 2, 6, 0, tzinfo=UTC), "DX")):
            s.add(CellRecord(volume_id=vol.id, cell_id=f"c{t:%m%d}", scan_time=t, hail=True, drill_id=drill,
                             feature={"properties": {"centroid": [111.14, 37.52], "mesh_mm": 30.0}}))
        s.add(GroundReportRecord(observed_at=datetime(2026, 7, 3, 5, 0, tzinfo=UTC), lat=37.52, lon=111.14,
                                 county="lishi", size_class="small", reporter="x", reporter_role="member"))
        s.commit()
    return ops


def _expected_approvals(rows):
    out = {}
    for auth, idx in (("atc", 4), ("military", 5)):
        delays = [float(r[idx]) for r in rows]
        out[auth] = {"requests": len(rows), "median_s": float(np.percentile(delays, 50)),
                     "p90_s": float(np.percentile(delays, 90)), "max_s": max(delays),
                     "denied": sum(1 for r in rows if r[6] and auth == "military")}
    return out


def test_season_figures_against_the_seeded_season(client, users, season, db_session):
    from command.models import AmmunitionEntry

    login(client, users["commander"])
    data = client.get("/api/office/season?season=2026").get_json()
    this, last = data["this"], data["last"]
    rows_2026 = [r for r in SEASON if r[3].year == 2026 and r[3].month >= 6 and r[8] is None]
    rows_2025 = [r for r in SEASON if r[3].year == 2025]
    assert [r[0] for r in rows_2026] == ["A", "B", "C"]

    for figs, rows in ((this, rows_2026), (last, rows_2025)):
        exp = _expected_approvals(rows)
        assert [a["authority"] for a in figs["approvals"]] == ["atc", "military"]
        for a in figs["approvals"]:
            e = exp[a["authority"]]
            assert a["requests"] == e["requests"] and a["denied"] == e["denied"]
            assert a["median_s"] == pytest.approx(e["median_s"])
            assert a["p90_s"] == pytest.approx(e["p90_s"])
            assert a["max_s"] == pytest.approx(e["max_s"])
        counties: dict[str, int] = {}
        sites: dict[str, int] = {}
        months: dict[str, int] = {}
        rounds: dict[str, int] = {}
        for r in rows:
            counties[r[1]] = counties.get(r[1], 0) + 1
            sites[r[2]] = sites.get(r[2], 0) + 1
            m = (r[3] + timedelta(hours=8)).strftime("%Y-%m")
            months[m] = months.get(m, 0) + 1
            for k, v in r[7].items():
                rounds[k] = rounds.get(k, 0) + v
        assert figs["operations"]["by_county"] == counties
        assert figs["operations"]["by_site"] == sites
        assert figs["operations"]["by_month"] == months
        assert figs["operations"]["total"] == len(rows)
        assert figs["operations"]["fired"] == sum(1 for r in rows if not r[6])
        assert figs["rounds"]["used"] == rounds

    assert this["rounds"]["restocked"] == {"37mm_shell": 50}
    assert last["rounds"]["restocked"] == {"37mm_shell": 30}
    stock: dict[str, int] = {}
    for e in db_session.scalars(select(AmmunitionEntry).where(AmmunitionEntry.drill_id.is_(None))):
        stock[e.ammo_type] = stock.get(e.ammo_type, 0) + e.delta
    assert this["rounds"]["stock"] == stock
    assert this["hail_days"]["all"] == ["2026-06-15", "2026-07-03", "2026-07-21"]
    assert last["hail_days"]["all"] == []
    # Steps: cleared (last grant) to order is 30 s for each fired operation, by construction.
    assert this["steps"]["cleared_to_order_s"]["n"] == 2
    assert this["steps"]["cleared_to_order_s"]["median_s"] == pytest.approx(30.0)
    assert this["steps"]["order_to_acknowledgement_s"]["mean_s"] == pytest.approx(40.0)
    assert this["warnings"]["warnings"]["reports"] == 1


def test_season_page_shows_approval_delays_first_and_exports(client, users, season):
    login(client, users["member"])
    page = client.get("/office/season?season=2026&lang=zh").get_data(as_text=True)
    assert page.index("approval-table") < page.index("kpi-ops") < page.index("steps-table")
    exp = _expected_approvals([r for r in SEASON if r[0] in "ABC"])
    assert f"{exp['atc']['median_s'] / 60:.1f}" in page and f"{exp['military']['p90_s'] / 60:.1f}" in page
    assert "<svg" in page and "<rect" in page

    text = client.get("/api/office/season.csv?season=2026").get_data(as_text=True)
    rows = {(r["section"], r["item"]): r for r in csv.DictReader(io.StringIO(text))}
    assert float(rows[("airspace_approval", "atc.median_s")]["2026"]) == pytest.approx(exp["atc"]["median_s"])
    assert float(rows[("airspace_approval", "atc.median_s")]["2025"]) == pytest.approx(200.0)
    assert rows[("operations_by_county", "fenyang")]["2026"] == "1"
    assert rows[("operations_by_county", "fenyang")]["2025"] == "0"

    from openpyxl import load_workbook

    data = client.get("/api/office/season.xlsx?season=2026").data
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "airspace_approval"
    ws = wb["airspace_approval"]
    got = {row[0]: row[1:] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert got["military.denied"] == (1, 0)
    assert got["military.p90_s"][0] == pytest.approx(exp["military"]["p90_s"])
    assert client.get("/api/office/season.pdf?season=2026").status_code == 404
    assert client.get("/api/office/season?season=abc").status_code == 422
    client.post("/logout")
    login(client, users["county_operator"])
    assert client.get("/office/season").status_code == 403
