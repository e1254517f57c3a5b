"""Issue 15, part 5: handover geometry — a track whose nowcast leaves the city toward a
neighbour within 60 min gets a crossing (time, place, neighbour); one staying inside does not."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import LineString, Point

from dispatch.handover import HandoverError, compass_zh, find_exit, path_from_nowcast
from sites.deployment import default_deployment
from sites.neighbours import load_office

T0 = datetime(2026, 7, 12, 7, 0, tzinfo=UTC)


def _steps(lon: float, lat: float, speed_mps: float, toward_deg: float):
    """Nowcast steps of a constant-velocity storm (the nowcast's own lead times)."""
    k = 111_195.0
    out = []
    for lead in (10, 20, 30, 45, 60):
        d = speed_mps * lead * 60
        dx, dy = d * math.sin(math.radians(toward_deg)), d * math.cos(math.radians(toward_deg))
        out.append({"lead_min": lead, "centroid": [lon + dx / (k * math.cos(math.radians(lat))), lat + dy / k]})
    return out


@pytest.fixture(scope="module")
def geo():
    dep = default_deployment()
    office = load_office()
    return dep.area, {n.key: n.geometry for n in office.neighbours}, dep


def test_storm_leaving_west_hands_over_to_yulin_at_the_border(geo):
    city, neighbours, dep = geo
    start = dep.county("liulin").geometry.representative_point()
    steps = _steps(start.x, start.y, 20.0, 270.0)
    path = path_from_nowcast(start.x, start.y, steps)
    c = find_exit(T0, path, city, neighbours)
    assert c is not None and c.neighbour == "yulin"
    # Independent answer: where the straight 60-min line first meets the city's outline.
    end = steps[-1]["centroid"]
    line = LineString([(start.x, start.y), tuple(end)])
    hit = line.intersection(city.boundary)
    pts = [hit] if hit.geom_type == "Point" else list(hit.geoms)
    first = min(pts, key=lambda p: line.project(p))
    expected_s = line.project(first) / line.length * 3600
    assert c.lead_s == pytest.approx(expected_s, abs=2.0)
    assert c.at == T0 + timedelta(seconds=c.lead_s)
    assert Point(c.lon, c.lat).distance(first) < 0.001  # ~100 m
    assert 0 < c.lead_s < 3600


def test_storm_moving_north_east_from_jiaocheng_goes_to_taiyuan_or_xinzhou(geo):
    city, neighbours, dep = geo
    start = dep.county("jiaocheng").geometry.representative_point()
    c = find_exit(T0, path_from_nowcast(start.x, start.y, _steps(start.x, start.y, 25.0, 60.0)),
                  city, neighbours)
    assert c is not None
    assert neighbours[c.neighbour].distance(Point(c.lon, c.lat)) < 0.05


def test_storm_staying_inside_has_no_handover(geo):
    city, neighbours, dep = geo
    start = dep.county("lishi").geometry.representative_point()
    assert find_exit(T0, path_from_nowcast(start.x, start.y, _steps(start.x, start.y, 2.0, 90.0)),
                     city, neighbours) is None


def test_storm_outside_the_city_or_leaving_after_the_horizon_has_none(geo):
    city, neighbours, dep = geo
    yulin = neighbours["yulin"].representative_point()
    assert find_exit(T0, path_from_nowcast(yulin.x, yulin.y, _steps(yulin.x, yulin.y, 20, 90)),
                     city, neighbours) is None
    start = dep.county("liulin").geometry.representative_point()
    # 5 m/s west covers 18 km in an hour: not out of the city within 60 min.
    steps = _steps(start.x, start.y, 5.0, 270.0)
    assert LineString([(start.x, start.y), tuple(steps[-1]["centroid"])]).within(city)
    assert find_exit(T0, path_from_nowcast(start.x, start.y, steps), city, neighbours) is None


def test_naive_time_is_refused_and_compass():
    with pytest.raises(HandoverError):
        find_exit(datetime(2026, 7, 1), [], Point(0, 0).buffer(1), {})
    assert [compass_zh(d) for d in (0, 44, 90, 181, 270, 315, 359)] == \
        ["北", "东北", "东", "南", "西", "西北", "北"]
