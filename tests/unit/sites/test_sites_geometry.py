"""Sector arithmetic (wrap-around through north), geodesy and engagement areas.

Guards issue 2 (foundation), the ``sites/`` part.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from shapely.geometry import Point, box

from sites.geometry import (
    area_km2,
    azimuth_in_sector,
    azimuth_in_sectors,
    bearing_deg,
    destination,
    distance_km,
    engagement_polygon,
    engagement_polygon_local,
    intersect_sectors,
    is_degenerate,
    is_full_circle,
    local_frame,
    merge_sectors,
    normalize,
    sector_contains,
    sector_width_deg,
    to_local,
    to_lonlat,
)
from sites.model import Sector
from tests.unit.sites.factories import make_equipment, make_rocket, make_site

angles = st.floats(min_value=0.0, max_value=360.0, allow_nan=False)
azimuths = st.floats(min_value=-720.0, max_value=720.0, allow_nan=False)

# --------------------------------------------------------------------------- sectors


@pytest.mark.parametrize(
    ("azimuth", "expected"),
    [(0.0, 0.0), (360.0, 0.0), (-10.0, 350.0), (725.0, 5.0), (359.5, 359.5), (-1e-17, 0.0)],
)
def test_normalize_folds_into_0_360(azimuth: float, expected: float) -> None:
    assert normalize(azimuth) == pytest.approx(expected)
    assert 0.0 <= normalize(azimuth) < 360.0


@pytest.mark.parametrize("azimuth", [0.0, 359.0, 30.0, 300.0, 60.0, 360.0, -10.0])
def test_sector_through_north_contains_azimuths_either_side(azimuth: float) -> None:
    """300°–60° wraps through north: it holds 300..360 and 0..60, edges included."""
    assert azimuth_in_sector(azimuth, Sector(300, 60))


@pytest.mark.parametrize("azimuth", [180.0, 61.0, 299.0, 120.0])
def test_sector_through_north_excludes_the_south(azimuth: float) -> None:
    assert not azimuth_in_sector(azimuth, Sector(300, 60))


def test_plain_sector_is_not_read_as_wrapping() -> None:
    assert azimuth_in_sector(90, Sector(60, 120))
    assert not azimuth_in_sector(0, Sector(60, 120))
    assert not azimuth_in_sector(200, Sector(60, 120))


@pytest.mark.parametrize("sector", [Sector(0, 360), Sector(90, 450), Sector(360, 0)])
def test_full_circle_contains_everything(sector: Sector) -> None:
    assert is_full_circle(sector)
    assert sector_width_deg(sector) == 360.0
    assert all(azimuth_in_sector(a, sector) for a in range(-360, 721, 15))


def test_a_tiny_sector_is_not_a_full_circle() -> None:
    assert not is_full_circle(Sector(0, 1e-12))
    assert sector_width_deg(Sector(0, 1e-12)) == pytest.approx(1e-12)
    assert not azimuth_in_sector(180, Sector(0, 1e-12))


def test_degenerate_sector_is_a_single_azimuth() -> None:
    sector = Sector(10, 10)
    assert is_degenerate(sector) and not is_full_circle(sector)
    assert sector_width_deg(sector) == 0.0
    assert azimuth_in_sector(10, sector)
    assert not azimuth_in_sector(10.5, sector)
    assert not azimuth_in_sector(9.5, sector)


@pytest.mark.parametrize(
    ("sector", "width"),
    [
        (Sector(300, 60), 120.0),
        (Sector(60, 300), 240.0),
        (Sector(0, 90), 90.0),
        (Sector(359, 1), 2.0),
    ],
)
def test_sector_width(sector: Sector, width: float) -> None:
    assert sector_width_deg(sector) == pytest.approx(width)


def test_azimuth_in_any_of_several_sectors() -> None:
    sectors = (Sector(330, 30), Sector(120, 200))
    assert azimuth_in_sectors(150, sectors)
    assert azimuth_in_sectors(350, sectors)
    assert not azimuth_in_sectors(90, sectors)
    assert not azimuth_in_sectors(90, ())


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        (Sector(300, 60), Sector(330, 30), True),  # both wrap
        (Sector(300, 60), Sector(0, 60), True),  # shares the end edge
        (Sector(300, 60), Sector(300, 310), True),  # shares the start edge
        (Sector(300, 60), Sector(290, 10), False),  # starts before
        (Sector(300, 60), Sector(30, 90), False),  # ends after
        (Sector(300, 60), Sector(90, 120), False),  # outside altogether
        (Sector(300, 60), Sector(50, 310), False),  # the long way round
        (Sector(0, 360), Sector(123, 45), True),
        (Sector(300, 60), Sector(0, 360), False),
        (Sector(300, 60), Sector(10, 10), True),  # a single azimuth inside
    ],
)
def test_sector_contains(outer: Sector, inner: Sector, expected: bool) -> None:
    assert sector_contains(outer, inner) is expected


def test_intersection_of_wrapping_sectors_can_have_two_pieces() -> None:
    assert intersect_sectors(Sector(300, 60), Sector(30, 330)) == (
        Sector(30, 60),
        Sector(300, 330),
    )


def test_intersection_keeps_wrap_through_north() -> None:
    assert intersect_sectors(Sector(300, 60), Sector(330, 90)) == (Sector(330, 60),)
    assert intersect_sectors(Sector(0, 360), Sector(300, 60)) == (Sector(300, 60),)


def test_disjoint_or_touching_sectors_do_not_intersect() -> None:
    assert intersect_sectors(Sector(300, 60), Sector(90, 270)) == ()
    assert intersect_sectors(Sector(0, 90), Sector(90, 180)) == ()


def test_merge_sectors_joins_across_north_and_to_full_circle() -> None:
    assert merge_sectors([Sector(300, 350), Sector(340, 20), Sector(10, 60)]) == (Sector(300, 60),)
    assert merge_sectors([Sector(300, 60), Sector(50, 310)]) == (Sector(0, 360),)
    assert merge_sectors([Sector(10, 10)]) == ()


@given(angles, angles, azimuths)
def test_membership_matches_the_clockwise_offset(start: float, end: float, azimuth: float) -> None:
    sector = Sector(start, end)
    offset = (azimuth - start) % 360.0
    width = sector_width_deg(sector)
    if abs(offset - width) > 1e-6 and 360.0 - offset > 1e-6 and offset > 1e-6:
        assert azimuth_in_sector(azimuth, sector) is (width >= 360.0 or offset < width)


@given(angles, angles, angles, angles, azimuths)
# Found by hypothesis in CI: a sector whose gap is narrower than the tolerance shares with
# another a piece that crosses that gap (the piece is right; containment missed the gap).
@example(1.7064435946963607e-10, 0.0, 2.0, 1.0, 0.0)
def test_intersection_is_exactly_the_common_azimuths(
    a0: float, a1: float, b0: float, b1: float, azimuth: float
) -> None:
    a, b = Sector(a0, a1), Sector(b0, b1)
    pieces = intersect_sectors(a, b)
    for piece in pieces:
        assert sector_contains(a, piece) and sector_contains(b, piece)
    inside_both = azimuth_in_sector(azimuth, a) and azimuth_in_sector(azimuth, b)
    on_an_edge = any(
        min((azimuth - edge) % 360.0, (edge - azimuth) % 360.0) < 1e-6 for edge in (a0, a1, b0, b1)
    )
    if not on_an_edge:
        assert azimuth_in_sectors(azimuth, pieces) is inside_both


# --------------------------------------------------------------------------- geodesy


def test_distance_of_one_degree_on_the_equator_and_a_meridian() -> None:
    """WGS84: 1° of longitude on the equator is 111.319 km; 1° of latitude from 0 is 110.574 km."""
    assert distance_km(0, 0, 0, 1) == pytest.approx(111.3195, abs=1e-3)
    assert distance_km(0, 0, 1, 0) == pytest.approx(110.5743, abs=1e-3)


def test_bearing_cardinal_directions() -> None:
    assert bearing_deg(37.5, 111.0, 38.0, 111.0) == pytest.approx(0.0, abs=1e-9)
    assert bearing_deg(38.0, 111.0, 37.5, 111.0) == pytest.approx(180.0)
    assert bearing_deg(0.0, 0.0, 0.0, 1.0) == pytest.approx(90.0)
    assert bearing_deg(0.0, 1.0, 0.0, 0.0) == pytest.approx(270.0)
    assert bearing_deg(37.5, 111.0, 37.5, 111.0) == 0.0


def test_bearing_to_the_north_west_is_in_0_360() -> None:
    bearing = bearing_deg(37.5, 111.0, 37.6, 110.9)
    assert 300.0 < bearing < 330.0


def test_lishi_to_the_airport_is_about_18_km_north() -> None:
    """Lishi town (37.52 N, 111.14 E) to ZBLL (37.6833 N, 111.1428 E): ~18 km, just east of north."""
    assert distance_km(37.52, 111.14, 37.6833, 111.1428) == pytest.approx(18.1, abs=0.2)
    assert bearing_deg(37.52, 111.14, 37.6833, 111.1428) == pytest.approx(0.9, abs=0.3)


def test_destination_inverts_bearing_and_distance() -> None:
    lat, lon = destination(37.5, 111.2, 300.0, 12.0)
    assert distance_km(37.5, 111.2, lat, lon) == pytest.approx(12.0, abs=1e-6)
    assert bearing_deg(37.5, 111.2, lat, lon) == pytest.approx(300.0, abs=1e-6)


# --------------------------------------------------------------------------- local frame


def test_local_frame_keeps_distance_and_azimuth_from_its_centre() -> None:
    frame = local_frame(37.5, 111.2)
    lat, lon = destination(37.5, 111.2, 60.0, 9.0)
    x, y = frame.xy(lon, lat)
    assert math.hypot(x, y) == pytest.approx(9000.0, abs=0.01)
    assert math.degrees(math.atan2(x, y)) == pytest.approx(60.0, abs=1e-6)
    assert frame.lonlat(x, y) == pytest.approx((lon, lat), abs=1e-9)


def test_local_frame_converts_arrays() -> None:
    frame = local_frame(37.5, 111.2)
    lons, lats = [111.2, 111.3, 111.1], [37.5, 37.6, 37.4]
    xs, ys = frame.xy_many(lons, lats)
    assert xs.shape == (3,) and (xs[0], ys[0]) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert (xs[1], ys[1]) == pytest.approx(frame.xy(111.3, 37.6))
    back_lon, back_lat = frame.lonlat_many(xs, ys)
    assert back_lon == pytest.approx(lons) and back_lat == pytest.approx(lats)


def test_to_local_and_back_round_trips_a_polygon() -> None:
    polygon = box(111.1, 37.4, 111.3, 37.6)
    local = to_local(polygon, 37.5, 111.2)
    assert local.area / 1e6 == pytest.approx(area_km2(polygon), rel=1e-4)
    back = to_lonlat(local, 37.5, 111.2)
    # Same shape (the long edges come back split into ~1 km pieces, all on the original edges).
    assert back.symmetric_difference(polygon).area < 1e-9  # deg², about 10 m²
    assert len(back.exterior.coords) > len(polygon.exterior.coords)


def test_local_frame_is_cached() -> None:
    assert local_frame(37.5, 111.2) is local_frame(37.5, 111.2)


# --------------------------------------------------------------------------- engagement

DISC_8KM_KM2 = math.pi * 8.0**2


def test_full_circle_disc_has_the_area_of_a_circle() -> None:
    site = make_site()
    polygon = engagement_polygon(site)
    assert polygon.geom_type == "Polygon"
    assert area_km2(polygon) == pytest.approx(DISC_8KM_KM2, rel=0.01)
    assert engagement_polygon_local(site).area / 1e6 == pytest.approx(DISC_8KM_KM2, rel=1e-3)


def test_half_sector_has_half_the_area_on_the_right_side() -> None:
    site = make_site(equipment=(make_equipment(sectors=(Sector(0, 180),)),))
    polygon = engagement_polygon(site)
    assert area_km2(polygon) == pytest.approx(DISC_8KM_KM2 / 2, rel=0.01)
    east_lat, east_lon = destination(site.lat, site.lon, 90.0, 4.0)
    west_lat, west_lon = destination(site.lat, site.lon, 270.0, 4.0)
    assert polygon.contains(Point(east_lon, east_lat))
    assert not polygon.contains(Point(west_lon, west_lat))


def test_wrapping_sector_covers_north_not_south() -> None:
    site = make_site(equipment=(make_equipment(sectors=(Sector(300, 60),)),))
    polygon = engagement_polygon(site)
    assert area_km2(polygon) == pytest.approx(DISC_8KM_KM2 / 3, rel=0.01)
    for bearing, inside in [(0.0, True), (330.0, True), (30.0, True), (180.0, False)]:
        lat, lon = destination(site.lat, site.lon, bearing, 5.0)
        assert polygon.contains(Point(lon, lat)) is inside, bearing


def test_range_limits_the_area() -> None:
    site = make_site()
    polygon = engagement_polygon(site)
    near = destination(site.lat, site.lon, 45.0, 7.9)
    far = destination(site.lat, site.lon, 45.0, 8.1)
    assert polygon.contains(Point(near[1], near[0]))
    assert not polygon.contains(Point(far[1], far[0]))


def test_no_fire_polygon_cutting_the_sector_reduces_it() -> None:
    site = make_site()
    # Everything north of a line 2 km north of the site is forbidden.
    north_lat, _ = destination(site.lat, site.lon, 0.0, 2.0)
    no_fire = box(site.lon - 1.0, north_lat, site.lon + 1.0, site.lat + 1.0)
    full = area_km2(engagement_polygon(site))
    cut = engagement_polygon(site, no_fire_areas=[no_fire])
    # The removed part is the circular segment beyond 2 km of an 8 km disc.
    d, r = 2.0, 8.0
    segment = r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)
    assert area_km2(cut) == pytest.approx(full - segment, rel=0.01)
    inside_lat, inside_lon = destination(site.lat, site.lon, 0.0, 3.0)
    assert not cut.contains(Point(inside_lon, inside_lat))


def test_no_fire_area_far_away_changes_nothing() -> None:
    site = make_site()
    far = box(100.0, 20.0, 101.0, 21.0)
    assert area_km2(engagement_polygon(site, no_fire_areas=[far])) == pytest.approx(
        area_km2(engagement_polygon(site)), rel=1e-9
    )


def test_no_fire_area_covering_everything_leaves_nothing() -> None:
    site = make_site()
    assert engagement_polygon(site, no_fire_areas=[Point(site.lon, site.lat).buffer(1.0)]).is_empty


def test_engagement_of_one_piece_or_of_all_equipment() -> None:
    gun = make_equipment(sectors=(Sector(0, 90),))
    rocket = make_rocket(sectors=(Sector(180, 270),))  # 10 km
    site = make_site(equipment=(gun, rocket))
    assert area_km2(engagement_polygon(site, gun)) == pytest.approx(16 * math.pi, rel=0.01)
    assert area_km2(engagement_polygon(site, rocket)) == pytest.approx(25 * math.pi, rel=0.01)
    assert area_km2(engagement_polygon(site)) == pytest.approx(41 * math.pi, rel=0.01)


def test_degenerate_sector_has_no_area() -> None:
    site = make_site(equipment=(make_equipment(sectors=(Sector(10, 10),)),))
    assert engagement_polygon(site).is_empty
    assert area_km2(engagement_polygon(site)) == 0.0
