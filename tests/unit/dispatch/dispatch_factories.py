"""Plain factories for ``dispatch`` tests: actors, cells, requests and operations.

The clock is explicit everywhere: ``T0`` is 2026-07-01 08:00 UTC (16:00 in Lüliang) and
``at(minutes)`` is a time relative to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.clearance import AltitudeBand, ClearanceRequest, TimeWindow
from dispatch.lifecycle import (
    Actor,
    Operation,
    OperationState,
    Role,
    acknowledge,
    authorize,
    grant,
    order,
    propose,
    request_clearance,
    start_firing,
)
from radar.model import HailCell
from sites.model import Contact, Sector
from tests.unit.sites.factories import DEFAULT_LAT, DEFAULT_LON

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


COMMANDER = Actor("chen", Role.COMMANDER)
ADMIN = Actor("root", Role.ADMIN)
FORECASTER = Actor("li", Role.FORECASTER)
MEMBER = Actor("zhao", Role.MEMBER)
ATC = Actor("atc-duty", Role.ATC)
MILITARY = Actor("mil-duty", Role.MILITARY)
OPERATOR = Actor("op-lishi", Role.COUNTY_OPERATOR, "lishi")
OTHER_OPERATOR = Actor("op-fenyang", Role.COUNTY_OPERATOR, "fenyang")
ALL_ACTORS = (COMMANDER, ADMIN, FORECASTER, MEMBER, ATC, MILITARY, OPERATOR, OTHER_OPERATOR)


def make_cell(**overrides: Any) -> HailCell:
    """A hail cell at the default site's position (lon, lat), 80 km², MESH 30 mm, POSH 70 %."""
    lon, lat = overrides.pop("centroid", (DEFAULT_LON, DEFAULT_LAT))
    d = 0.03
    cell = HailCell(
        id="C1",
        scan_time=T0,
        centroid=(lon, lat),
        polygon=((lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat - d)),
        area_km2=80.0,
        max_dbz=62.0,
        top45_km=9.0,
        posh_pct=70.0,
        mesh_mm=30.0,
        hail=True,
        criteria=("mesh", "posh"),
    )
    return replace(cell, **overrides)


def make_request(**overrides: Any) -> ClearanceRequest:
    """An airspace request for site T-01: full circle, 3000–8000 m, T0 .. T0+30 min."""
    request = ClearanceRequest(
        id="op-1",
        site_code="T-01",
        site_name="离石区测试作业点",
        lat=DEFAULT_LAT,
        lon=DEFAULT_LON,
        site_elevation_m=1200.0,
        weapon="gun_37mm",
        weapon_model="37mm 高炮",
        range_km=8.0,
        sectors=(Sector(0.0, 360.0),),
        altitude=AltitudeBand(3000.0, 8000.0),
        window=TimeWindow(at(0), at(30)),
        purpose="hail suppression",
        contact=Contact("测试站长", "0358-0000999"),
        requested_at=at(0),
    )
    return replace(request, **overrides)


def make_operation(**overrides: Any) -> Operation:
    """A proposed operation of site T-01 (county lishi) on cell C1, aim 45° / 60°."""
    fields: dict[str, Any] = {
        "id": "op-1",
        "cell_id": "C1",
        "site_code": "T-01",
        "county": "lishi",
        "window": TimeWindow(at(0), at(30)),
        "azimuth_deg": 45.0,
        "elevation_deg": 60.0,
        "quantity": {"37mm_shell": 20},
        "max_altitude_m": 7700.0,
        "actor": COMMANDER,
        "now": at(0),
    }
    fields.update(overrides)
    return propose(**fields)


def drive(
    op: Operation, state: OperationState, request: ClearanceRequest | None = None
) -> Operation:
    """Take a proposed operation along the happy path until it reaches ``state``."""
    request = request or make_request()
    steps: list[tuple[OperationState, Callable[[Operation], Operation]]] = [
        (OperationState.AUTHORIZED, lambda o: authorize(o, COMMANDER, at(0))),
        (
            OperationState.CLEARANCE_REQUESTED,
            lambda o: request_clearance(o, COMMANDER, at(0), request),
        ),
        (OperationState.CLEARANCE_REQUESTED, lambda o: grant(o, ATC, at(1))),
        (OperationState.CLEARED, lambda o: grant(o, MILITARY, at(2))),
        (OperationState.ORDERED, lambda o: order(o, COMMANDER, at(3))),
        (OperationState.ACKNOWLEDGED, lambda o: acknowledge(o, OPERATOR, at(4))),
        (OperationState.FIRING, lambda o: start_firing(o, OPERATOR, at(5))),
    ]
    for reached, step in steps:
        if op.state == state:
            return op
        op = step(op)
        assert op.state == reached, (op.state, reached)
    assert op.state == state
    return op
