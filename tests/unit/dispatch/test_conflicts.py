"""Issue 11: a narrowed grant is seen at once (the live envelope), the plan is checked
against it before the order, and one amendment inside the envelope replaces cancel-and-redo."""

from __future__ import annotations

import math

import pytest

from dispatch.clearance import Authority, Grant, TimeWindow, current_envelope
from dispatch.conflicts import ConflictKind, amend_within, nearest_azimuth, plan_conflicts
from dispatch.engagement import (
    ceiling_asl_m,
    elevation_for_ceiling,
    equipment_for,
    reach_asl_m,
)
from dispatch.errors import ClearanceViolation
from dispatch.lifecycle import amend, grant, order
from sites.model import Sector
from tests.unit.dispatch.dispatch_factories import (
    ATC,
    COMMANDER,
    MILITARY,
    at,
    drive,
    make_operation,
    make_request,
)
from tests.unit.sites.factories import make_equipment, make_rocket, make_site


def test_envelope_shows_one_authoritys_narrowing_while_the_other_is_pending() -> None:
    request = make_request()  # 3000–8000 m, full circle, T0..T0+30
    atc = Grant(Authority.ATC, at(1), "atc-duty", ceiling_m=6000.0,
                window=TimeWindow(at(5), at(20)))
    env = current_envelope(request, [atc], at(2))
    assert env.ceiling_m == 6000.0
    assert env.window == TimeWindow(at(5), at(20))
    assert env.granted_by == (Authority.ATC,) and env.pending == (Authority.MILITARY,)
    assert env.narrowed_by == {"window": (Authority.ATC,), "ceiling_m": (Authority.ATC,)}
    assert not env.complete
    # decided later than "now" is not known yet
    assert current_envelope(request, [atc], at(0)).granted_by == ()


def test_envelope_intersects_both_grants_and_names_who_narrowed_what() -> None:
    request = make_request()
    decisions = [
        Grant(Authority.ATC, at(1), "a", ceiling_m=7000.0),
        Grant(Authority.MILITARY, at(2), "m", ceiling_m=6000.0, sectors=(Sector(0, 90),)),
    ]
    env = current_envelope(request, decisions, at(3))
    assert env.complete and env.ceiling_m == 6000.0 and env.sectors == (Sector(0, 90),)
    assert env.narrowed_by == {"sectors": (Authority.MILITARY,),
                               "ceiling_m": (Authority.ATC, Authority.MILITARY)}


def test_a_narrowed_ceiling_is_a_conflict_before_the_order() -> None:
    env = current_envelope(make_request(), [Grant(Authority.ATC, at(1), "a", ceiling_m=6000.0)],
                           at(2))
    found = plan_conflicts(env, azimuth_deg=45.0, max_altitude_m=6500.0, now=at(2))
    assert [(c.kind, c.planned, c.allowed, c.authorities) for c in found] == [
        (ConflictKind.CEILING, 6500.0, 6000.0, (Authority.ATC,))]
    assert plan_conflicts(env, azimuth_deg=45.0, max_altitude_m=6000.0, now=at(2)) == ()


def test_no_conflict_while_nobody_has_decided() -> None:
    env = current_envelope(make_request(), [], at(2))
    assert plan_conflicts(env, azimuth_deg=45.0, max_altitude_m=9999.0, now=at(2)) == ()


def test_sector_and_closed_window_conflicts() -> None:
    env = current_envelope(
        make_request(),
        [Grant(Authority.MILITARY, at(1), "m", sectors=(Sector(100, 200),),
               window=TimeWindow(at(0), at(10)))], at(12))
    kinds = {c.kind for c in plan_conflicts(env, azimuth_deg=45.0, max_altitude_m=5000.0,
                                            now=at(12))}
    assert kinds == {ConflictKind.SECTOR, ConflictKind.WINDOW_CLOSED}


def test_reach_model_meets_the_specified_ceiling_at_maximum_elevation() -> None:
    site, gun = make_site(), make_equipment()
    assert reach_asl_m(site, gun, gun.max_elevation_deg) == pytest.approx(ceiling_asl_m(site, gun))
    # R sin(e): lower elevation, lower burst
    slant = 1000.0 * gun.ceiling_km / math.sin(math.radians(gun.max_elevation_deg))
    assert reach_asl_m(site, gun, 50.0) == pytest.approx(
        site.elevation_m + slant * math.sin(math.radians(50.0)))


def test_elevation_for_ceiling_inverts_reach_and_respects_the_minimum() -> None:
    site, gun = make_site(), make_equipment()
    e = elevation_for_ceiling(site, gun, 6000.0)
    assert e is not None and gun.min_elevation_deg <= e < gun.max_elevation_deg
    assert reach_asl_m(site, gun, e) <= 6000.0 < reach_asl_m(site, gun, e + 0.2)
    assert elevation_for_ceiling(site, gun, site.elevation_m + 500.0) is None  # below min elev


def test_amendment_fits_the_plan_inside_a_lowered_ceiling() -> None:
    site = make_site(elevation_m=1200.0, equipment=(make_equipment(ceiling_km=5.3),))
    planned = ceiling_asl_m(site, site.equipment[0])  # 6500 m
    env = current_envelope(make_request(), [Grant(Authority.ATC, at(1), "a", ceiling_m=6000.0)],
                           at(2))
    fix = amend_within(env, site, {"37mm_shell": 20}, azimuth_deg=45.0, elevation_deg=80.0,
                       max_altitude_m=planned)
    assert fix is not None and fix.azimuth_deg == 45.0
    assert fix.max_altitude_m <= 6000.0 and fix.elevation_deg < 80.0
    assert plan_conflicts(env, azimuth_deg=fix.azimuth_deg, max_altitude_m=fix.max_altitude_m,
                          now=at(2)) == ()


def test_amendment_uses_the_piece_that_fires_the_ammunition() -> None:
    site = make_site(equipment=(make_equipment(), make_rocket()))
    assert equipment_for(site, {"rocket_wr98": 2}).model == "WR-98"
    assert equipment_for(site, {"37mm_shell": 2}) == site.equipment[0]


def test_amendment_moves_the_azimuth_into_the_nearest_cleared_sector() -> None:
    assert nearest_azimuth(95.0, (Sector(100, 200),)) == 100.5
    assert nearest_azimuth(350.0, (Sector(100, 200), Sector(0, 40))) == 0.5
    assert nearest_azimuth(150.0, (Sector(100, 200),)) == 150.0


def test_order_refused_then_one_amendment_and_ordered_without_cancel() -> None:
    """The new user's story: ATC lowers the ceiling to 6000 m; the plan (6500 m) is refused at
    order time; one amendment inside the envelope and the same operation is ordered."""
    op = make_operation(max_altitude_m=6500.0, elevation_deg=80.0)
    op = drive(op, op.state.CLEARANCE_REQUESTED)
    op = grant(op, ATC, at(1), ceiling_m=6000.0)
    op = grant(op, MILITARY, at(2))
    with pytest.raises(ClearanceViolation, match="6000"):
        order(op, COMMANDER, at(3))
    with pytest.raises(ClearanceViolation):
        amend(op, COMMANDER, at(3), max_altitude_m=6200.0)  # still above: refused
    op = amend(op, COMMANDER, at(3), elevation_deg=62.0, max_altitude_m=5990.0)
    op = order(op, COMMANDER, at(3))
    assert [h.action for h in op.history] == [
        "propose", "authorize", "request_clearance", "grant", "grant", "amend", "order"]
    assert "max_altitude_m 6500→5990" in op.history[-2].detail
    assert op.state.value == "ordered"
