"""Which sites can engage a cell: geometry, exclusions, aim and assignment (issue 5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from shapely.geometry import Polygon

from dispatch.engagement import SeedingLayer, aim_at, ammunition_types
from dispatch.recommend import (
    CellPath,
    EngagementIndex,
    RecommendationSet,
    recommend,
    recommendations_to_json,
)
from radar.model import HailCell, TemperatureLevels
from sites.geometry import destination
from sites.model import Readiness, Sector, Site
from tests.unit.dispatch.dispatch_factories import T0, at, make_cell
from tests.unit.sites.factories import (
    DEFAULT_LAT,
    DEFAULT_LON,
    make_equipment,
    make_rocket,
    make_site,
)

LEVELS = TemperatureLevels(h0_m=4000.0, h20_m=6500.0, source="test")
LAYER = SeedingLayer.from_levels(LEVELS)


def point(
    bearing: float, km: float, lat: float = DEFAULT_LAT, lon: float = DEFAULT_LON
) -> tuple[float, float]:
    """``(lon, lat)`` ``km`` from the default site along ``bearing``."""
    plat, plon = destination(lat, lon, bearing, km)
    return plon, plat


def cell_at(bearing: float, km: float, **overrides: Any) -> HailCell:
    return make_cell(centroid=point(bearing, km), **overrides)


def passing_path(cell: HailCell, bearing: float, km: float) -> CellPath:
    """A path crossing west to east, nearest to the site (``km`` along ``bearing``) at +20 min."""
    mid_lon, mid_lat = point(bearing, km)
    west = (mid_lon - 0.2, mid_lat)
    east = (mid_lon + 0.2, mid_lat)
    return CellPath(cell.id, (at(0), at(20), at(40)), (west, (mid_lon, mid_lat), east))


def run(cells: list[HailCell], sites: list[Site], **kw: Any) -> RecommendationSet:
    return recommend(cells, sites, LEVELS, T0, **kw)


def candidate_codes(result: RecommendationSet, cell_id: str = "C1") -> list[str]:
    (assessment,) = [a for a in result.cells if a.cell_id == cell_id]
    return [c.site_code for c in assessment.candidates]


def exclusion(result: RecommendationSet, site_code: str, cell_id: str = "C1") -> str:
    (assessment,) = [a for a in result.cells if a.cell_id == cell_id]
    return next(e.reason for e in assessment.excluded if e.site_code == site_code)


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(("km", "expected"), [(7.9, True), (8.1, False)])
def test_cell_passing_just_inside_or_just_outside_range(km: float, expected: bool) -> None:
    """The gun reaches 8 km: a path whose closest approach is 7.9 km is a candidate."""
    cell = make_cell()
    result = run([cell], [make_site()], paths={"C1": passing_path(cell, 0.0, km)})
    assert (candidate_codes(result) == ["T-01"]) is expected
    if expected:
        (cand,) = result.cells[0].candidates
        # it grazes the range for a few minutes around the closest approach at +20 min
        assert cand.window_start <= at(20) < cand.window_end
        assert cand.window_end - cand.window_start <= timedelta(minutes=4)
    else:
        assert exclusion(result, "T-01") == (
            "never in range within 40 min: closest approach 8.1 km, range 8 km"
        )


def test_sector_wrapping_through_north() -> None:
    site = make_site(equipment=(make_equipment(sectors=(Sector(300.0, 60.0),)),))
    for bearing, expected in [
        (350.0, True),
        (10.0, True),
        (59.0, True),
        (90.0, False),
        (180.0, False),
    ]:
        result = run([cell_at(bearing, 5.0)], [site])
        assert bool(candidate_codes(result)) is expected, bearing
    assert "outside the safe sectors" in exclusion(run([cell_at(180.0, 5.0)], [site]), "T-01")


def test_no_fire_area_cuts_the_sector() -> None:
    corners = [point(b, km) for b, km in [(30, 2.0), (60, 2.0), (60, 6.0), (30, 6.0)]]
    no_fire = Polygon(corners)
    site = make_site()
    hidden = run([cell_at(45.0, 4.0)], [site], no_fire_areas=[no_fire])
    assert candidate_codes(hidden) == []
    assert "no-fire area" in exclusion(hidden, "T-01")
    beyond = run([cell_at(45.0, 7.0)], [site], no_fire_areas=[no_fire])
    assert candidate_codes(beyond) == ["T-01"]
    # a cell that leaves the no-fire area becomes a candidate when it comes out
    cell = make_cell()
    path = CellPath("C1", (at(0), at(40)), (point(45.0, 4.0), point(45.0, 7.9)))
    late = run([cell], [site], paths={"C1": path}, no_fire_areas=[no_fire])
    (cand,) = late.cells[0].candidates
    assert timedelta(minutes=15) <= cand.window_start - T0 <= timedelta(minutes=25)


def test_moving_cell_enters_range_later() -> None:
    cell = cell_at(270.0, 20.0)
    path = CellPath.from_motion(cell, speed_mps=10.0, direction_deg=90.0)
    result = run([cell], [make_site()], paths={"C1": path})
    (cand,) = result.cells[0].candidates
    # 12 km to the edge of range at 10 m/s = 20 min; inside for 16 km = 26.7 min (window ends)
    assert cand.window_start == at(21)
    assert cand.window_end == at(40)


def test_ceiling_below_the_seeding_layer_excludes_with_reason() -> None:
    low = make_site(equipment=(make_equipment(ceiling_km=2.5),))  # 1200 + 2500 = 3700 < H0 4000
    result = run([cell_at(0.0, 3.0)], [low])
    assert candidate_codes(result) == []
    reason = exclusion(result, "T-01")
    assert "ceiling 3700 m ASL" in reason and "below the seeding layer bottom (H0 4000 m)" in reason


def test_a_site_with_one_piece_too_low_uses_the_other() -> None:
    site = make_site(
        equipment=(make_equipment(ceiling_km=2.5), make_rocket()),
        ammunition={"37mm_shell": 100, "rocket_wr98": 6},
    )
    (cand,) = run([cell_at(0.0, 3.0)], [site]).cells[0].candidates
    assert cand.equipment.model == "WR-98" and cand.ammunition == {"rocket_wr98": 2}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"readiness": Readiness.OFFLINE}, "offline"),
        ({"readiness": Readiness.OUT_OF_AMMUNITION}, "out of ammunition"),
        ({"ammunition": {"37mm_shell": 0}}, "out of ammunition"),
        ({"ammunition": {"rocket_wr98": 5}}, "no ammunition for its 37mm 高炮"),
    ],
)
def test_unavailable_sites_are_excluded_with_the_reason(
    changes: dict[str, Any], reason: str
) -> None:
    result = run([cell_at(0.0, 3.0)], [make_site(**changes)])
    assert candidate_codes(result) == [] and exclusion(result, "T-01") == reason


def test_already_engaged_site_is_excluded() -> None:
    result = run([cell_at(0.0, 3.0)], [make_site()], engaged={"T-01"})
    assert exclusion(result, "T-01") == "already engaged in another operation"


def test_far_sites_are_not_listed_at_all() -> None:
    far = make_site(code="FAR", lat=DEFAULT_LAT + 1.0, readiness=Readiness.OFFLINE)
    result = run([cell_at(0.0, 3.0)], [make_site(), far])
    assert [e.site_code for e in result.cells[0].excluded] == []


# --------------------------------------------------------------------------- aim


def test_aim_azimuth_and_flat_fire_elevation() -> None:
    site, gun = make_site(), make_equipment()
    aim = aim_at(site, gun, LAYER, *point(90.0, 3.0))
    assert aim.azimuth_deg == pytest.approx(90.0, abs=0.1)
    # mid-layer 5250 m, site 1200 m: atan(4050 / 3000)
    assert aim.elevation_deg == pytest.approx(53.5, abs=0.1)
    assert aim.reasons == ()


def test_aim_clipped_to_the_minimum_elevation_with_reason() -> None:
    aim = aim_at(make_site(), make_equipment(), LAYER, *point(200.0, 7.5))
    assert aim.elevation_deg == 45.0
    assert "below the minimum elevation 45°" in aim.reasons[0]


def test_recommended_aim_prefers_a_point_reachable_at_legal_elevation() -> None:
    cell = cell_at(270.0, 20.0)
    path = CellPath.from_motion(cell, speed_mps=10.0, direction_deg=90.0)
    (cand,) = run([cell], [make_site()], paths={"C1": path}).cells[0].candidates
    assert cand.aim.reasons == () and cand.aim.elevation_deg >= 45.0
    assert cand.aim.azimuth_deg == pytest.approx(270.0, abs=1.0)


def test_ammunition_types_by_equipment() -> None:
    stock = {"37mm_shell": 10, "rocket_wr98": 0, "rocket_bl1a": 3}
    assert ammunition_types(make_equipment(), stock) == ("37mm_shell",)
    assert ammunition_types(make_rocket(), stock) == ("rocket_wr98",)
    assert ammunition_types(make_rocket(model="JFJ-3"), stock) == ("rocket_bl1a", "rocket_wr98")


# --------------------------------------------------------------------------- assignment


def test_two_cells_three_sites_most_threatening_first() -> None:
    """One usable site between two cells goes to the more threatening one."""
    mild = cell_at(180.0, 3.0, id="MILD", posh_pct=20.0, mesh_mm=10.0)
    severe = cell_at(0.0, 5.0, id="SEVERE", posh_pct=90.0, mesh_mm=45.0)
    sites = [
        make_site(code="S1"),
        make_site(code="S2", lat=DEFAULT_LAT - 0.03, readiness=Readiness.OFFLINE),
        make_site(code="S3", lat=DEFAULT_LAT - 0.04, ammunition={"37mm_shell": 0}),
    ]
    result = run([mild, severe], sites)
    assert [(r.cell_id, r.site_code) for r in result.recommendations] == [("SEVERE", "S1")]
    assert candidate_codes(result, "MILD") == ["S1"]  # a candidate, but taken by SEVERE
    assert exclusion(result, "S2", "MILD") == "offline"
    assert exclusion(result, "S3", "MILD") == "out of ammunition"


def test_big_cell_gets_several_sites_but_every_cell_one_first() -> None:
    big = cell_at(0.0, 2.0, id="BIG", area_km2=400.0, posh_pct=90.0, mesh_mm=45.0)
    small = cell_at(180.0, 2.0, id="SMALL", area_km2=40.0, posh_pct=60.0, mesh_mm=25.0)
    sites = [make_site(code=f"S{n}", lon=DEFAULT_LON + 0.01 * n) for n in range(3)]
    result = run([big, small], sites)
    assert [a.demand for a in result.cells] == [3, 1]
    assigned = [r.cell_id for r in result.recommendations]
    assert assigned == ["BIG", "BIG", "SMALL"]  # most threatening listed first
    assert len({r.site_code for r in result.recommendations}) == 3  # one site, one cell


def test_json_document_shape() -> None:
    result = run([cell_at(90.0, 3.0)], [make_site()])
    doc = recommendations_to_json(result)
    (rec,) = doc["recommendations"]
    assert rec["cell_id"] == "C1" and rec["site_code"] == "T-01"
    assert (
        rec["window_start"] == "2026-07-01T08:00:00Z"
        and rec["window_end"] == "2026-07-01T08:40:00Z"
    )
    assert rec["azimuth_deg"] == pytest.approx(90.0, abs=0.1)
    assert rec["elevation_deg"] == pytest.approx(53.5, abs=0.1)
    assert rec["ammunition"] == {"37mm_shell": 40}
    assert rec["reasons"] and all(isinstance(r, str) for r in rec["reasons"])
    assert doc["cells"][0]["excluded"] == []
    assert doc["seeding_layer_m"] == {"bottom": 4000, "top": 6500, "source": "test"}


def test_index_is_reused_and_polygons_are_cached() -> None:
    sites = [make_site(code=f"S{n}", lon=DEFAULT_LON + 0.01 * n) for n in range(3)]
    index = EngagementIndex.build(sites)
    again = EngagementIndex.build(sites)
    assert all(a is b for a, b in zip(index.polygons, again.polygons, strict=False))
    result = recommend([cell_at(0.0, 3.0)], sites, LEVELS, T0, index=index)
    assert len(result.cells[0].candidates) == 3


# --------------------------------------------------------------------------- review (issue 11)


def test_recommendations_carry_the_forecasters_confirmation() -> None:
    """Issue 11: each recommendation says whether the forecaster confirmed its storm; an
    unconfirmed storm is still planned (the window is short) but marked; without reviews
    (the command line) it is unknown."""
    a = cell_at(0.0, 3.0, id="A", posh_pct=90.0, mesh_mm=45.0)
    b = cell_at(180.0, 3.0, id="B", posh_pct=60.0, mesh_mm=25.0)
    sites = [make_site(code="S1"), make_site(code="S2", lat=DEFAULT_LAT - 0.01)]
    result = run([a, b], sites, reviews={"A": "confirmed", "B": "new"})
    confirmed = {r.cell_id: r.confirmed for r in result.recommendations}
    assert confirmed == {"A": True, "B": False}
    doc = recommendations_to_json(result)
    assert {r["cell_id"]: r["confirmed"] for r in doc["recommendations"]} == confirmed
    assert {c["cell_id"]: c["review"] for c in doc["cells"]} == {"A": "confirmed", "B": "new"}
    unknown = recommendations_to_json(run([a], sites))
    assert {r["confirmed"] for r in unknown["recommendations"]} == {None}


def test_a_dismissed_storm_is_not_planned_and_frees_its_site() -> None:
    """The only site between two cells goes to the undismissed one even when the dismissed
    storm is the more threatening."""
    severe = cell_at(0.0, 5.0, id="SEVERE", posh_pct=90.0, mesh_mm=45.0)
    mild = cell_at(180.0, 3.0, id="MILD", posh_pct=20.0, mesh_mm=10.0)
    result = run(
        [severe, mild], [make_site(code="S1")], reviews={"SEVERE": "dismissed", "MILD": "new"}
    )
    assert [(r.cell_id, r.site_code) for r in result.recommendations] == [("MILD", "S1")]
    assert result.dismissed == ("SEVERE",)
    assert [a.cell_id for a in result.cells] == ["MILD"]
    assert recommendations_to_json(result)["dismissed"] == ["SEVERE"]


# --------------------------------------------------------------------------- re-engagement


@pytest.mark.parametrize(
    ("ended_min_ago", "excluded"), [(3.0, True), (9.9, True), (10.0, False), (25.0, False)]
)
def test_a_site_that_just_fired_is_not_recommended_within_the_cooldown(
    ended_min_ago: float, excluded: bool
) -> None:
    """Issue 11: a site that has just completed an operation was recommended again at once;
    it now waits ``reengage_cooldown_min`` (10 min) after its last firing ended."""
    cell = cell_at(0.0, 3.0)
    result = run([cell], [make_site()], last_firing={"T-01": T0 - timedelta(minutes=ended_min_ago)})
    if excluded:
        assert candidate_codes(result) == [] and result.recommendations == ()
        assert exclusion(result, "T-01") == (
            "re-engagement cooldown 10 min after its last firing (ended "
            f"{(T0 - timedelta(minutes=ended_min_ago)).isoformat().replace('+00:00', 'Z')}): "
            f"ready again at "
            f"{(T0 + timedelta(minutes=10 - ended_min_ago)).isoformat().replace('+00:00', 'Z')}"
        )
    else:
        assert [r.site_code for r in result.recommendations] == ["T-01"]


def test_the_cooldown_is_a_setting_and_a_later_firing_counts_too() -> None:
    """A firing that ended after the scan (the scan time lags the clock) keeps the site
    out; a zero cooldown turns the rule off; other sites are not affected."""
    from dispatch.recommend import RecommendConfig

    cell = cell_at(0.0, 3.0)
    sites = [make_site(), make_site(code="T-02", lat=DEFAULT_LAT - 0.01)]
    later = {"T-01": T0 + timedelta(minutes=2)}
    result = run([cell], sites, last_firing=later)
    assert candidate_codes(result) == ["T-02"]
    assert "ready again at 2026-07-01T08:12:00Z" in exclusion(result, "T-01")
    off = run([cell], sites, last_firing=later, config=RecommendConfig(reengage_cooldown_min=0))
    assert sorted(candidate_codes(off)) == ["T-01", "T-02"]
