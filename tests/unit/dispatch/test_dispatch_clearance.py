"""Airspace clearance: dual grants, intersection, denial, revocation, standing agreements."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from shapely.geometry import Point, shape

from dispatch.clearance import (
    LOCAL_TZ,
    AltitudeBand,
    Authority,
    Decision,
    Denial,
    Grant,
    Revocation,
    StandingAgreement,
    TimeWindow,
    auto_grant,
    decision_delays,
    effective_clearance,
)
from dispatch.errors import ValidationFailed
from dispatch.lifecycle import OperationState, request_clearance
from sites.geometry import destination
from sites.model import Sector
from tests.unit.dispatch.dispatch_factories import (
    COMMANDER,
    at,
    drive,
    make_operation,
    make_request,
)

ATC, MIL = Authority.ATC, Authority.MILITARY


def g(authority: Authority, minute: float, **kw: object) -> Grant:
    return Grant(authority, at(minute), f"{authority.value}-duty", **kw)  # type: ignore[arg-type]


def test_one_grant_is_not_a_clearance() -> None:
    request = make_request()
    assert effective_clearance(request, [g(ATC, 1)], at(2)) is None
    assert effective_clearance(request, [g(MIL, 1)], at(2)) is None
    assert effective_clearance(request, [g(ATC, 1), g(MIL, 2)], at(2)) is not None


def test_decisions_after_now_have_not_happened_yet() -> None:
    decisions = [g(ATC, 1), g(MIL, 5)]
    assert effective_clearance(make_request(), decisions, at(4)) is None
    assert effective_clearance(make_request(), decisions, at(5)) is not None


def test_cleared_is_the_intersection_of_both_grants() -> None:
    request = make_request(sectors=(Sector(300.0, 120.0),), altitude=AltitudeBand(3000, 8000))
    decisions = [
        g(
            ATC,
            1,
            window=TimeWindow(at(5), at(25)),
            sectors=(Sector(330.0, 90.0),),
            ceiling_m=7000.0,
        ),
        g(
            MIL,
            2,
            window=TimeWindow(at(0), at(20)),
            sectors=(Sector(0.0, 180.0),),
            ceiling_m=7500.0,
        ),
    ]
    cleared = effective_clearance(request, decisions, at(3))
    assert cleared is not None
    assert cleared.window == TimeWindow(at(5), at(20))
    assert cleared.sectors == (Sector(0.0, 90.0),)
    assert cleared.ceiling_m == 7000.0 and cleared.floor_m == 3000.0
    assert not cleared.standing and cleared.granted_at == at(2)


def test_a_grant_wider_than_the_request_is_clipped_to_it() -> None:
    request = make_request(window=TimeWindow(at(0), at(10)), sectors=(Sector(10.0, 20.0),))
    decisions = [g(ATC, 1, window=TimeWindow(at(-30), at(60))), g(MIL, 1, ceiling_m=20000.0)]
    cleared = effective_clearance(request, decisions, at(1))
    assert cleared is not None
    assert cleared.window == request.window
    assert cleared.sectors == (Sector(10.0, 20.0),)
    assert cleared.ceiling_m == 8000.0


def test_sector_intersection_across_north_keeps_both_pieces() -> None:
    request = make_request(sectors=(Sector(300.0, 60.0),))
    cleared = effective_clearance(
        request, [g(ATC, 1, sectors=(Sector(30.0, 330.0),)), g(MIL, 1)], at(1)
    )
    assert cleared is not None
    assert set(cleared.sectors) == {Sector(300.0, 330.0), Sector(30.0, 60.0)}


def test_denial_by_either_means_no_clearance() -> None:
    request = make_request()
    decisions: list[Decision] = [g(ATC, 1), Denial(MIL, at(2), "mil-duty", "exercise in progress")]
    assert effective_clearance(request, decisions, at(3)) is None
    assert decision_delays(request, decisions, at(3))[MIL].state == "denied"


def test_revocation_ends_the_clearance_at_once() -> None:
    request = make_request()
    decisions: list[Decision] = [
        g(ATC, 1),
        g(MIL, 2),
        Revocation(ATC, at(10), "atc-duty", "arrival"),
    ]
    assert effective_clearance(request, decisions, at(9)) is not None
    assert effective_clearance(request, decisions, at(10)) is None
    assert decision_delays(request, decisions, at(11))[ATC].state == "revoked"


def test_delays_run_while_pending_and_stop_at_the_decision() -> None:
    request = make_request(requested_at=at(0))
    delays = decision_delays(request, [g(ATC, 3)], at(7))
    assert delays[ATC].state == "granted" and delays[ATC].delay == timedelta(minutes=3)
    assert delays[MIL].state == "pending" and delays[MIL].delay == timedelta(minutes=7)


def test_window_and_band_validation() -> None:
    with pytest.raises(ValidationFailed):
        TimeWindow(at(5), at(5))
    with pytest.raises(ValidationFailed):
        TimeWindow(at(0).replace(tzinfo=None), at(5))
    with pytest.raises(ValidationFailed):
        AltitudeBand(5000, 3000)
    with pytest.raises(ValidationFailed) as err:
        make_request(sectors=(), range_km=0.0)
    assert set(err.value.field_errors) == {"sectors", "range_km"}


# --------------------------------------------------------------------------- export


def test_qxt422_export_carries_the_application_items() -> None:
    items = make_request(sectors=(Sector(300.0, 60.0),)).to_qxt422()
    assert items["message_type"] == "application"
    assert items["site"]["code"] == "T-01" and items["site"]["lat"] == pytest.approx(37.54)
    assert items["weapon"] == {"type": "gun_37mm", "model": "37mm 高炮"}
    assert items["azimuth_sectors_deg"] == [{"start": 300.0, "end": 60.0}]
    assert items["altitude_band_m"] == {"floor": 3000, "ceiling": 8000}
    assert items["start"] == "2026-07-01T08:00:00Z" and items["end"] == "2026-07-01T08:30:00Z"
    assert items["start_local"].startswith("2026-07-01T16:00:00+08:00")
    assert items["purpose"] == "hail suppression"
    assert items["contact"]["phone"] == "0358-0000999"
    text = make_request().to_text()
    assert "2026-07-01 16:00:00" in text and "3000–8000 m" in text


def test_firing_sector_polygon_is_the_sector_out_to_range() -> None:
    request = make_request(sectors=(Sector(300.0, 60.0),), range_km=8.0)
    polygon = shape(request.firing_sector_polygon())
    north = destination(request.lat, request.lon, 0.0, 7.5)
    south = destination(request.lat, request.lon, 180.0, 2.0)
    beyond = destination(request.lat, request.lon, 0.0, 8.5)
    assert polygon.contains(Point(north[1], north[0]))
    assert not polygon.contains(Point(south[1], south[0]))
    assert not polygon.contains(Point(beyond[1], beyond[0]))


# --------------------------------------------------------------------------- standing agreements


def agreement(authority: Authority, **kw: object) -> StandingAgreement:
    fields: dict[str, object] = {
        "id": f"{authority.value}-T-01",
        "site_code": "T-01",
        "authority": authority,
        "sectors": (Sector(0.0, 360.0),),
        "ceiling_m": 8000.0,
        "daily_start": time(12, 0),
        "daily_end": time(20, 0),
    }
    fields.update(kw)
    return StandingAgreement(**fields)  # type: ignore[arg-type]


def test_standing_agreements_of_both_grant_at_once() -> None:
    request = make_request()  # 16:00-16:30 local, full circle, up to 8000 m
    grants = auto_grant(request, [agreement(ATC), agreement(MIL)])
    assert {x.authority for x in grants} == {ATC, MIL}
    assert all(x.standing and x.at == request.requested_at for x in grants)
    cleared = effective_clearance(request, grants, request.requested_at)
    assert cleared is not None and cleared.standing


def test_one_authoritys_agreement_is_not_enough() -> None:
    assert auto_grant(make_request(), [agreement(ATC)]) == ()


@pytest.mark.parametrize(
    "change",
    [
        {"ceiling_m": 7000.0},  # request goes up to 8000 m
        {"sectors": (Sector(0.0, 180.0),)},  # request is full circle
        {"daily_start": time(16, 10), "daily_end": time(20, 0)},  # request starts 16:00
        {"site_code": "T-02"},
    ],
)
def test_a_request_partly_outside_either_agreement_waits_for_people(
    change: dict[str, object],
) -> None:
    assert auto_grant(make_request(), [agreement(ATC), agreement(MIL, **change)]) == ()


def test_daily_hours_may_wrap_past_midnight_local() -> None:
    night = agreement(ATC, daily_start=time(20, 0), daily_end=time(6, 0))
    late = TimeWindow(at(0).replace(hour=15, minute=30), at(0).replace(hour=16, minute=30))
    assert late.start.astimezone(LOCAL_TZ).hour == 23  # 23:30-00:30 Beijing time
    assert night.covers_window(late)
    assert not night.covers_window(TimeWindow(at(0), at(30)))  # 16:00 local


def test_standing_grant_clears_the_operation_and_stays_revocable() -> None:
    op = drive(make_operation(), OperationState.AUTHORIZED)
    op = request_clearance(
        op, COMMANDER, at(0), make_request(), agreements=[agreement(ATC), agreement(MIL)]
    )
    assert op.state == OperationState.CLEARED
    assert [h.detail for h in op.history[-2:]] == ["standing agreement"] * 2
    assert all(isinstance(d, Grant) and d.standing for d in op.decisions)
