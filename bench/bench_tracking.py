"""Benchmark: tracking + nowcast for 50 simultaneous cells per volume (issue 4).

Target: ≤ 100 ms added per volume.  Synthetic volumes of 50 disc cells (64-vertex outlines)
moving with a common steering flow plus per-cell deviations and centroid jitter; each volume
also carries a 481 × 481 composite (1 km) so the phase-correlation first guess is exercised.
Per volume we time ``update_tracks`` + ``nowcast_tracks`` (and, separately, arrival times
into 100 county-sized targets).  Reference in the same process: building the volume's 50
``HailCell`` objects, and one 481 × 481 FFT, so the figure can be read as a ratio on any
machine.  Prints PASS/FAIL; always exits 0.

    python bench/bench_tracking.py [--volumes N] [--cells N] [--no-fields]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYART_QUIET", "1")

from radar.model import HailCell  # noqa: E402
from radar.nowcast import arrival_times, nowcast_tracks  # noqa: E402
from radar.tracking import ReflectivityGrid, Tracker  # noqa: E402

TARGET_MS = 100.0
ORIGIN = (112.55, 37.87)
SCAN_S = 360.0
HALF_KM = 240
_CRS = f"+proj=aeqd +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +datum=WGS84 +units=m"
INV = Transformer.from_crs(_CRS, "EPSG:4326", always_xy=True)
AXIS_M = np.arange(-HALF_KM, HALF_KM + 1) * 1000.0


def build_cells(positions: list[tuple[float, float, float]], t: datetime) -> list[HailCell]:
    az = np.linspace(0.0, 2 * math.pi, 65)
    cells = []
    for i, (x, y, r) in enumerate(positions):
        lon, lat = INV.transform(x + r * np.sin(az), y + r * np.cos(az))
        ring = tuple(zip(lon.tolist(), lat.tolist(), strict=True))
        clon, clat = INV.transform(x, y)
        cells.append(
            HailCell(
                id=f"c{i}",
                scan_time=t,
                centroid=(float(clon), float(clat)),
                polygon=(*ring[:-1], ring[0]),
                area_km2=math.pi * (r / 1000) ** 2,
                max_dbz=55.0,
                mesh_mm=20.0,
                top45_km=8.0,
                vil_kgm2=35.0,
                hail=True,
            )
        )
    return cells


def build_field(positions: list[tuple[float, float, float]]) -> ReflectivityGrid:
    dbz = np.full((AXIS_M.size, AXIS_M.size), 5.0)
    for x, y, r in positions:
        ci = int(round(x / 1000)) + HALF_KM
        ri = int(round(y / 1000)) + HALF_KM
        k = int(3 * r / 1000)
        rs = slice(max(0, ri - k), min(AXIS_M.size, ri + k + 1))
        cs = slice(max(0, ci - k), min(AXIS_M.size, ci + k + 1))
        yy, xx = np.meshgrid(AXIS_M[rs] - y, AXIS_M[cs] - x, indexing="ij")
        blob = 5.0 + 55.0 * np.exp(-(xx**2 + yy**2) / (2 * (0.7 * r) ** 2))
        dbz[rs, cs] = np.maximum(dbz[rs, cs], blob)
    return ReflectivityGrid.from_projected(dbz, AXIS_M, AXIS_M, ORIGIN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=8)
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--no-fields", action="store_true")
    args = parser.parse_args(argv)

    rng = random.Random(4)
    steer = (12.0, 8.0)
    storms = []
    side = math.ceil(math.sqrt(args.cells))
    for i in range(args.cells):
        x = (i % side - side / 2) * 32e3 + rng.uniform(-4e3, 4e3)
        y = (i // side - side / 2) * 32e3 + rng.uniform(-4e3, 4e3)
        u = steer[0] + rng.uniform(-4, 4)
        v = steer[1] + rng.uniform(-4, 4)
        storms.append((x, y, u, v, rng.uniform(3e3, 7e3)))
    targets = {
        f"county{i}": shapely.box(lon, lat, lon + 0.25, lat + 0.2)
        for i, (lon, lat) in enumerate(
            (ORIGIN[0] - 2.5 + 0.5 * (i % 10), ORIGIN[1] - 2.0 + 0.4 * (i // 10))
            for i in range(100)
        )
    }

    t0 = datetime(2024, 6, 20, 9, 0, tzinfo=UTC)
    tracker = Tracker()
    build_ms, track_ms, arrival_ms = [], [], []
    for k in range(args.volumes):
        t = t0 + timedelta(seconds=SCAN_S * k)
        positions = [
            (x + u * SCAN_S * k + rng.gauss(0, 300), y + v * SCAN_S * k + rng.gauss(0, 300), r)
            for x, y, u, v, r in storms
        ]
        start = time.perf_counter()
        cells = build_cells(positions, t)
        build_ms.append((time.perf_counter() - start) * 1000)
        field = None if args.no_fields else build_field(positions)

        start = time.perf_counter()
        state = tracker.update(cells, t, field=field)
        nowcasts = nowcast_tracks(state.tracks)
        track_ms.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        for nowcast in nowcasts:
            arrival_times(nowcast, targets)
        arrival_ms.append((time.perf_counter() - start) * 1000)

    fft_ref = []
    image = np.random.default_rng(0).random((AXIS_M.size, AXIS_M.size))
    for _ in range(5):
        start = time.perf_counter()
        np.fft.ifft2(np.fft.fft2(image))
        fft_ref.append((time.perf_counter() - start) * 1000)

    tracks = state.tracks
    full = sum(1 for tr in tracks if len(tr.observations) == args.volumes)
    steady = track_ms[1:] or track_ms  # the first volume only creates tracks
    mean_ms, max_ms = statistics.mean(steady), max(steady)
    print(
        f"volumes {args.volumes}, cells/volume {args.cells}, fields {'no' if args.no_fields else 'yes'}"
    )
    print(f"tracks {len(tracks)}, through all volumes {full}")
    print(f"tracking + nowcast: mean {mean_ms:.1f} ms/volume, max {max_ms:.1f} ms (volumes 2..N)")
    print(
        f"arrival times (50 cells x 100 targets): mean {statistics.mean(arrival_ms):.1f} ms/volume"
    )
    print(
        f"reference: build 50 HailCells {statistics.mean(build_ms):.1f} ms; "
        f"481x481 FFT round trip {statistics.median(fft_ref):.1f} ms"
    )
    print(
        f"ratio vs target {mean_ms / TARGET_MS:.2f} (target {TARGET_MS:.0f} ms); "
        f"vs cell build {mean_ms / statistics.mean(build_ms):.1f}x; "
        f"vs FFT {mean_ms / statistics.median(fft_ref):.1f}x"
    )
    print("PASS" if mean_ms <= TARGET_MS else "FAIL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
