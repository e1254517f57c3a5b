"""Benchmark: recommendations for 200 sites x 30 cells against the 50 ms target (issue 5).

Sites: the deployment's registry repeated with jitter over Lüliang (so every kind of piece,
sector and the airport no-fire zone are represented); cells: 30 moving hail cells spread
over the same area (fixed seed).  Timed: :func:`dispatch.recommend.recommend` with a prebuilt
:class:`~dispatch.recommend.EngagementIndex` (built once per registry in the service),
median of several runs.  Reference, in the same process: the naive per-pair loop — one
``shapely.contains_xy`` call per (piece, cell) with no distance prefilter — that computes
the same in-range matrix, so the ratio shows what the prefilter buys on this machine.

Prints PASS/FAIL against the target; always exits 0 (``make bench`` reports, CI tests).
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dispatch.recommend import (  # noqa: E402
    CellPath,
    EngagementIndex,
    RecommendationSet,
    recommend,
)
from radar.model import HailCell, TemperatureLevels  # noqa: E402
from sites.deployment import Deployment, load_deployment  # noqa: E402
from sites.model import Site  # noqa: E402

TARGET_MS = 50.0
N_SITES, N_CELLS, RUNS = 200, 30, 15


def scenario() -> tuple[list[Site], list[HailCell], dict[str, CellPath], datetime, Deployment]:
    deployment = load_deployment()
    rng = random.Random(20260701)
    base = deployment.sites
    sites = [
        dataclasses.replace(
            base[k % len(base)],
            code=f"{base[k % len(base)].code}-{k}",
            lat=base[k % len(base)].lat + rng.uniform(-0.08, 0.08),
            lon=base[k % len(base)].lon + rng.uniform(-0.08, 0.08),
        )
        for k in range(N_SITES)
    ]
    now = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    lats, lons = [s.lat for s in sites], [s.lon for s in sites]
    cells, paths = [], {}
    for c in range(N_CELLS):
        lon, lat = rng.uniform(min(lons), max(lons)), rng.uniform(min(lats), max(lats))
        cell = HailCell(
            id=f"C{c}",
            scan_time=now - timedelta(minutes=3),
            centroid=(lon, lat),
            polygon=(),
            area_km2=rng.uniform(20.0, 400.0),
            max_dbz=rng.uniform(55.0, 68.0),
            mesh_mm=rng.uniform(10.0, 50.0),
            posh_pct=rng.uniform(10.0, 100.0),
            hail=True,
        )
        cells.append(cell)
        paths[cell.id] = CellPath.from_motion(cell, rng.uniform(3.0, 20.0), rng.uniform(0.0, 360.0))
    return sites, cells, paths, now, deployment


def main() -> int:
    sites, cells, paths, now, deployment = scenario()
    levels = TemperatureLevels(4200.0, 7000.0, "bench")
    areas = [county.geometry for county in deployment.counties]
    no_fire = deployment.no_fire_geometries()

    t0 = time.perf_counter()
    index = EngagementIndex.build(sites, no_fire)
    cold_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    EngagementIndex.build(sites, no_fire)
    warm_build = time.perf_counter() - t0

    def run() -> RecommendationSet:
        return recommend(cells, sites, levels, now, paths=paths, index=index, threat_areas=areas)

    run()  # warm-up: caches of the county union and numpy/shapely first calls
    timings = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - t0)
    median_ms = 1000.0 * statistics.median(timings)

    # Reference: the naive per-pair loop over the same samples and polygons.
    times_s = np.arange(0.0, 40 * 60.0 + 1.0, 60.0)
    lon = np.empty((len(cells), len(times_s)))
    lat = np.empty_like(lon)
    for c, cell in enumerate(cells):
        lon[c], lat[c] = paths[cell.id].sample(times_s, now)
    px, py = index.project(lon.ravel(), lat.ravel())
    px, py = px.reshape(lon.shape), py.reshape(lon.shape)
    ref_timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        naive = np.array(
            [
                [shapely.contains_xy(poly, px[c], py[c]).any() for c in range(len(cells))]
                for poly in index.polygons
            ]
        )
        ref_timings.append(time.perf_counter() - t0)
    ref_ms = 1000.0 * statistics.median(ref_timings)

    pairs = {(c.site_code, c.cell_id) for a in result.cells for c in a.candidates}
    naive_pairs = {
        (index.sites[index.rows[r][0]].code, cells[c].id)
        for r, c in zip(*np.nonzero(naive), strict=True)
    }
    assert pairs <= naive_pairs, "the prefiltered result found a pair the naive loop did not"

    n_recs = len(result.recommendations)
    print(
        f"dispatch recommend: {N_SITES} sites ({len(index.rows)} pieces) x {N_CELLS} cells, "
        f"{len(times_s)} samples per path"
    )
    print(
        f"  engagement index build: cold {1000 * cold_build:.0f} ms, cached {1000 * warm_build:.1f} ms"
    )
    print(
        f"  recommend median of {RUNS}: {median_ms:.1f} ms (min {1000 * min(timings):.1f}, "
        f"max {1000 * max(timings):.1f}); {len(pairs)} candidate pairs, {n_recs} recommendations"
    )
    print(
        f"  reference (naive per-pair contains_xy, no prefilter, geometry only): {ref_ms:.1f} ms "
        f"-> recommend is {ref_ms / median_ms:.1f}x faster than the reference"
    )
    print(
        f"  target {TARGET_MS:.0f} ms: {median_ms / TARGET_MS:.2f} of target -> "
        f"{'PASS' if median_ms <= TARGET_MS else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
