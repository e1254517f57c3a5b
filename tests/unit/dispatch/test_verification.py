"""dispatch.verification: hits, misses, false alarms, POD/FAR/CSI and lead times, checked
against answers computed by hand (issue 10: drills scored against ground-truth hail reports)."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.verification import (
    HailReport,
    MatchRules,
    Prediction,
    VerificationError,
    critical_success_index,
    distance_to_area_km,
    great_circle_km,
    matches,
    verify,
)

T0 = datetime(2008, 4, 11, 18, 0, tzinfo=UTC)
KM_PER_DEG_LAT = 6371.0088 * 3.141592653589793 / 180  # 111.195 km


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def circle(pid: str, lat: float, lon: float, radius_km: float = 0.0, start: float = 0,
           end: float = 30, issued: float | None = None) -> Prediction:
    return Prediction(id=pid, valid_from=at(start), valid_until=at(end), lat=lat, lon=lon,
                      radius_km=radius_km, issued_at=None if issued is None else at(issued))


def test_great_circle_along_a_meridian_is_radius_times_angle():
    assert great_circle_km(35.0, -86.0, 35.1, -86.0) == pytest.approx(0.1 * KM_PER_DEG_LAT)


def test_circle_distance_subtracts_the_radius_and_is_zero_inside():
    p = circle("p", 35.0, -86.0, radius_km=5)
    r = HailReport(at(10), 35.1, -86.0)
    assert distance_to_area_km(r, p) == pytest.approx(11.1195 - 5, abs=1e-3)
    assert distance_to_area_km(HailReport(at(10), 35.01, -86.0), p) == 0.0


def test_space_rule_uses_distance_km():
    p = circle("p", 35.0, -86.0, radius_km=5)
    assert matches(HailReport(at(10), 35.1, -86.0), p, MatchRules(distance_km=10))  # 6.1 km
    assert not matches(HailReport(at(10), 35.2, -86.0), p, MatchRules(distance_km=10))  # 17.2
    assert not matches(HailReport(at(10), 35.1, -86.0), p, MatchRules(distance_km=6))


def test_time_rule_with_and_without_slack():
    p = circle("p", 35.0, -86.0, start=0, end=30)
    late = HailReport(at(31), 35.0, -86.0)
    early = HailReport(at(-4), 35.0, -86.0)
    assert not matches(late, p)
    assert matches(late, p, MatchRules(time_slack=timedelta(minutes=5)))
    assert matches(early, p, MatchRules(time_slack=timedelta(minutes=5)))
    assert matches(HailReport(at(30), 35.0, -86.0), p)  # the window's ends are inside


def test_polygon_area_inside_and_outside():
    square = ((-86.1, 34.9), (-85.9, 34.9), (-85.9, 35.1), (-86.1, 35.1))
    p = Prediction("w", at(0), at(30), polygon=square)
    assert distance_to_area_km(HailReport(at(5), 35.0, -86.0), p) == 0.0
    # 0.1 degree of latitude north of the northern edge
    assert distance_to_area_km(HailReport(at(5), 35.2, -86.0), p) == pytest.approx(11.12, abs=0.01)


def test_scores_hand_computed():
    """R1, R2 verified by P1; R3 missed; P2, P3 false alarms:
    H=2, M=1, V=1, F=2; POD=2/3, FAR=2/3, CSI=1/(3/2+3-1)=2/7; lead R1 20 min, R2 10 min."""
    preds = [circle("P1", 35.0, -86.0, radius_km=5, issued=0),
             circle("P2", 36.0, -86.0), circle("P3", 35.0, -86.0, start=40, end=60)]
    reps = [HailReport(at(20), 35.0, -86.0, 20, "R1"), HailReport(at(10), 35.05, -86.0, 19, "R2"),
            HailReport(at(20), 34.0, -86.0, 25, "R3")]
    s = verify(preds, reps)
    assert (s.hits, s.misses, s.verified, s.false_alarms) == (2, 1, 1, 2)
    assert s.pod == pytest.approx(2 / 3)
    assert s.far == pytest.approx(2 / 3)
    assert s.csi == pytest.approx(2 / 7)
    assert s.lead_times_s == {"R1": 1200.0, "R2": 600.0}
    assert s.mean_lead_time_s == 900.0
    assert s.matches == {"R1": ("P1",), "R2": ("P1",)}
    assert s.as_dict()["csi"] == pytest.approx(2 / 7)


def test_csi_equals_h_over_h_m_f_when_one_to_one():
    """H=2, M=1, F=1 with one prediction per hit: CSI = 2/(2+1+1) = 0.5."""
    preds = [circle("A", 35.0, -86.0), circle("B", 35.5, -86.0), circle("C", 37.0, -86.0)]
    reps = [HailReport(at(5), 35.0, -86.0, id="a"), HailReport(at(5), 35.5, -86.0, id="b"),
            HailReport(at(5), 33.0, -86.0, id="c")]
    s = verify(preds, reps)
    assert s.csi == pytest.approx(2 / (2 + 1 + 1))


def test_lead_time_uses_earliest_prediction_before_the_report_and_is_zero_after():
    reps = [HailReport(at(20), 35.0, -86.0, id="r")]
    s = verify([circle("late", 35.0, -86.0, issued=25, start=0), circle("early", 35.0, -86.0,
                                                                        issued=5)], reps)
    assert s.lead_times_s == {"r": 900.0}
    s = verify([circle("late", 35.0, -86.0, issued=25)], reps)
    assert s.lead_times_s == {"r": 0.0}


def test_undefined_scores_are_none_not_zero():
    s = verify([], [HailReport(at(0), 35, -86)])
    assert (s.pod, s.far, s.csi) == (0.0, None, None)
    s = verify([circle("p", 35, -86)], [])
    assert (s.pod, s.far, s.csi, s.false_alarms) == (None, 1.0, None, 1)
    assert critical_success_index(0.0, 0.5) == 0.0


def test_small_reports_are_ignored_and_unsized_ones_count():
    reps = [HailReport(at(5), 35.0, -86.0, 10, "small"), HailReport(at(5), 34.0, -86.0, None, "x")]
    s = verify([circle("p", 35.0, -86.0)], reps, MatchRules(min_size_mm=19))
    assert (s.reports, s.hits, s.misses, s.false_alarms) == (1, 0, 1, 1)


def test_naive_times_and_reversed_windows_are_refused():
    with pytest.raises(VerificationError, match="timezone-aware"):
        matches(HailReport(datetime(2008, 4, 11, 18), 35, -86), circle("p", 35, -86))
    with pytest.raises(VerificationError, match="valid_until before"):
        matches(HailReport(at(0), 35, -86), circle("p", 35, -86, start=10, end=0))


def test_several_rings_are_a_union():
    west = ((-86.3, 34.9), (-86.2, 34.9), (-86.2, 35.1), (-86.3, 35.1))
    east = ((-85.9, 34.9), (-85.8, 34.9), (-85.8, 35.1), (-85.9, 35.1))
    p = Prediction("w", at(0), at(30), polygons=(west, east))
    assert distance_to_area_km(HailReport(at(5), 35.0, -85.85), p) == 0.0
    assert distance_to_area_km(HailReport(at(5), 35.0, -86.25), p) == 0.0
    assert distance_to_area_km(HailReport(at(5), 35.0, -86.05), p) > 10
