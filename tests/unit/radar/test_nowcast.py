"""Nowcast positions, uncertainty and arrival times on synthetic storms (issue 4)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from radar.model import HailCell
from radar.nowcast import (
    DEFAULT_LEADS_MIN,
    NowcastConfig,
    arrival_times,
    nowcast_track,
    nowcast_tracks,
    uncertainty_radius_m,
)
from radar.tracking import Track, TrackerState, update_tracks

T0 = datetime(2024, 7, 2, 8, 0, tzinfo=UTC)
ORIGIN = (113.0, 36.2)  # Changzhi
SCAN_S = 360.0
GEOD = Geod(ellps="WGS84")
_CRS = f"+proj=aeqd +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +datum=WGS84 +units=m"
INV = Transformer.from_crs(_CRS, "EPSG:4326", always_xy=True)
FWD = Transformer.from_crs("EPSG:4326", _CRS, always_xy=True)


def make_cell(x_km: float, y_km: float, radius_km: float, scan_time: datetime) -> HailCell:
    """A disc-shaped hail cell centred ``(x_km, y_km)`` east/north of ORIGIN."""
    az = np.linspace(0.0, 2.0 * math.pi, 129)
    lon, lat = INV.transform(
        1000.0 * (x_km + radius_km * np.sin(az)), 1000.0 * (y_km + radius_km * np.cos(az))
    )
    ring = tuple(zip(lon.tolist(), lat.tolist(), strict=True))
    clon, clat = INV.transform(1000.0 * x_km, 1000.0 * y_km)
    return HailCell(
        id="c",
        scan_time=scan_time,
        centroid=(float(clon), float(clat)),
        polygon=(*ring[:-1], ring[0]),
        area_km2=math.pi * radius_km**2,
        max_dbz=60.0,
        mesh_mm=30.0,
        hail=True,
    )


def track_of(
    speed: float,
    toward: float,
    *,
    noise_km: float = 0.0,
    seed: int = 0,
    turn_deg_per_volume: float = 0.0,
    radius_km: float = 5.0,
    n_volumes: int = 5,
) -> tuple[Track, list[tuple[float, float]]]:
    """Track a storm over ``n_volumes``; return it and the true (x, y) km path every minute
    from the first volume to 60 minutes after the last."""
    rng = random.Random(seed)
    path = [(0.0, 0.0)]
    heading = toward
    minutes = int((n_volumes - 1) * SCAN_S / 60) + 60
    for minute in range(1, minutes + 1):
        if minute <= (n_volumes - 1) * SCAN_S / 60 and minute % 6 == 0:
            heading += turn_deg_per_volume
        x, y = path[-1]
        rad = math.radians(heading)
        path.append((x + speed * 60 * math.sin(rad) / 1000, y + speed * 60 * math.cos(rad) / 1000))
    state = TrackerState()
    for k in range(n_volumes):
        t = T0 + timedelta(seconds=SCAN_S * k)
        x, y = path[int(k * SCAN_S / 60)]
        cell = make_cell(x + rng.gauss(0, noise_km), y + rng.gauss(0, noise_km), radius_km, t)
        state = update_tracks(state, [cell], t)
    (track,) = state.tracks
    return track, path


def truth_lonlat(path: list[tuple[float, float]], minute: int) -> tuple[float, float]:
    lon, lat = INV.transform(path[minute][0] * 1000, path[minute][1] * 1000)
    return float(lon), float(lat)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


def test_leads_centroids_and_radii() -> None:
    """Issue 4: steps at 10/20/30/45/60 min, centroid moved speed·t, radius growing."""
    track, path = track_of(20.0, 70.0)
    nowcast = nowcast_track(track)
    assert [s.lead_min for s in nowcast.steps] == list(DEFAULT_LEADS_MIN)
    last_minute = 24
    radii = [s.radius_m for s in nowcast.steps]
    assert radii == sorted(radii) and radii[0] > NowcastConfig().r0_m
    for step in nowcast.steps:
        expected = truth_lonlat(path, last_minute + int(step.lead_min))
        assert distance_km(step.centroid, expected) < 0.05
        assert step.valid_time == track.last_time + timedelta(minutes=step.lead_min)
        polygon = shapely.Polygon(step.polygon)
        core = shapely.Polygon(step.outline)
        assert polygon.contains(shapely.Point(step.centroid)) and polygon.contains(core)
        ring = step.geojson()["coordinates"][0]
        assert step.geojson()["type"] == "Polygon" and ring[0] == ring[-1]
    cone = nowcast.cone()
    assert all(cone.buffer(1e-9).contains(shapely.Polygon(s.polygon)) for s in nowcast.steps)


def test_radius_formula() -> None:
    """Issue 4: r(t) = r0 + (σ_v + k·speed)·t, documented in radar/NOWCAST.md."""
    config = NowcastConfig(r0_m=2000.0, speed_fraction=0.1, scatter_floor_mps=0.5)
    assert uncertainty_radius_m(0, 20, 1.0, config) == 2000.0
    assert uncertainty_radius_m(1800, 20, 1.0, config) == pytest.approx(2000 + 3.0 * 1800)
    assert uncertainty_radius_m(1800, 0, 0.0, config) == pytest.approx(2000 + 0.5 * 1800)


def test_thirty_minute_error_on_synthetic_sequences() -> None:
    """Issue 4: 30-min nowcast position error on synthetic sequences (reported in NOWCAST.md).

    Straight storms, with 0 / 300 / 600 m centroid jitter, and storms that veer 3° per volume.
    The noise-free error is metres; jittered errors stay inside the 30-min uncertainty radius.
    """
    cases: dict[str, list[tuple[float, float]]] = {}
    for speed, toward in [(8.0, 20.0), (15.0, 100.0), (25.0, 210.0), (35.0, 300.0)]:
        for noise in (0.0, 0.3, 0.6):
            for seed in range(8 if noise else 1):
                track, path = track_of(speed, toward, noise_km=noise, seed=seed)
                nowcast = nowcast_track(track)
                (step30,) = [s for s in nowcast.steps if s.lead_min == 30]
                error = distance_km(step30.centroid, truth_lonlat(path, 24 + 30))
                cases.setdefault(f"jitter {noise * 1000:.0f} m", []).append(
                    (error, step30.radius_m / 1000)
                )
        for seed in range(4):
            track, path = track_of(speed, toward, noise_km=0.3, seed=seed, turn_deg_per_volume=3)
            nowcast = nowcast_track(track)
            (step30,) = [s for s in nowcast.steps if s.lead_min == 30]
            error = distance_km(step30.centroid, truth_lonlat(path, 24 + 30))
            cases.setdefault("veering 3°/volume, jitter 300 m", []).append(
                (error, step30.radius_m / 1000)
            )
    for name, values in cases.items():
        errors = np.array([e for e, _ in values])
        inside = np.mean([e <= r for e, r in values])
        print(
            f"30-min error, {name}: mean {errors.mean():.2f} km, max {errors.max():.2f} km, "
            f"inside r(30) {inside:.0%} (n={len(values)})"
        )
    assert max(e for e, _ in cases["jitter 0 m"]) < 0.05
    assert np.mean([e for e, _ in cases["jitter 300 m"]]) < 1.5
    assert np.mean([e for e, _ in cases["jitter 600 m"]]) < 3.0
    for values in cases.values():
        assert np.mean([e <= r for e, r in values]) >= 0.9


def test_arrival_time_matches_analytic() -> None:
    """Issue 4: a 5 km cell at 20 m/s reaches a box 30 km ahead at (30 - 5) km / 20 m/s."""
    track, _ = track_of(20.0, 90.0)  # due east
    nowcast = nowcast_track(track)
    x0, y0 = (v / 1000 for v in FWD.transform(*track.last.centroid))

    def box(x_min: float, x_max: float, y_half: float = 20.0) -> shapely.Polygon:
        lon, lat = INV.transform(
            np.array([x_min, x_max, x_max, x_min]) * 1000 + x0 * 1000,
            np.array([-y_half, -y_half, y_half, y_half]) * 1000 + y0 * 1000,
        )
        return shapely.Polygon(zip(lon, lat, strict=True))

    targets = {
        "ahead": box(30.0, 50.0),
        "behind": box(-50.0, -30.0),
        "too_far": box(80.0, 100.0),  # (80 - 5) km at 20 m/s = 62.5 min
        "here": box(-2.0, 2.0),
        "point": shapely.Point(*INV.transform((x0 + 15.0) * 1000, y0 * 1000)),
    }
    plain = arrival_times(nowcast, targets)
    expected = (30.0 - 5.0) * 1000 / 20.0
    got = (plain["ahead"] - nowcast.issued_at).total_seconds()
    print(f"arrival: predicted {got:.1f} s, analytic {expected:.1f} s")
    assert got == pytest.approx(expected, abs=5.0)
    assert (plain["point"] - nowcast.issued_at).total_seconds() == pytest.approx(500.0, abs=5.0)
    assert plain["behind"] is None and plain["too_far"] is None
    assert plain["here"] == nowcast.issued_at

    # the uncertainty-buffered outline arrives earlier: (D - R - r0) / (u + σ + k u)
    config = nowcast.config
    sigma = max(nowcast.scatter_mps, config.scatter_floor_mps)
    expected_buffered = (30.0e3 - 5.0e3 - config.r0_m) / (20.0 + sigma + config.speed_fraction * 20)
    buffered = arrival_times(nowcast, {"ahead": targets["ahead"]}, buffered=True)
    got_b = (buffered["ahead"] - nowcast.issued_at).total_seconds()
    assert got_b == pytest.approx(expected_buffered, abs=10.0)
    assert got_b < got


def test_nowcast_tracks_skips_ended_tracks() -> None:
    """Issue 4: only active tracks are forecast."""
    state = TrackerState()
    t1 = T0 + timedelta(seconds=SCAN_S)
    state = update_tracks(state, [make_cell(0, 0, 5, T0), make_cell(60, 0, 5, T0)], T0)
    state = update_tracks(state, [make_cell(2, 0, 5, t1)], t1)
    nowcasts = nowcast_tracks(state.tracks)
    assert [n.track_id for n in nowcasts] == [t.id for t in state.active_tracks]
    assert nowcasts[0].to_dict()["steps"][0]["polygon"]["type"] == "Polygon"


def test_stationary_new_cell_gets_growing_disc() -> None:
    """Issue 4: a one-volume track without motion stays put; the cone is a disc around it."""
    state = update_tracks(TrackerState(), [make_cell(0, 0, 4, T0)], T0)
    nowcast = nowcast_track(state.tracks[0])
    assert nowcast.speed_mps == 0.0
    assert distance_km(nowcast.steps[-1].centroid, nowcast.centroid) < 1e-6
    assert nowcast.steps[-1].radius_m == pytest.approx(
        uncertainty_radius_m(3600, 0.0, state.tracks[0].motion.scatter_mps)
    )
