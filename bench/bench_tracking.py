"""Benchmark: tracking + nowcast + arrival times for 50, 200 and 500 cells per volume (issue 16).

Target: tracking + nowcast under 300 ms per volume for 500 cells.  Synthetic volumes of disc
cells (64-vertex outlines) moving with a common steering flow plus per-cell deviations and
centroid jitter; each volume also carries a 481 x 481 composite (1 km) so the
phase-correlation first guess is exercised.  In the table every cell is a hail cell (the
worst case: all nowcasts and arrival times are wanted at once); a last line shows 500 cells
of which one in five has hail (the others' nowcasts are computed lazily).  Per volume we time ``Tracker.update``,
``nowcast_tracks`` with every step materialised (``to_dict``, as the feed and the CLI do)
and the arrival times of every nowcast into 100 county-sized targets.

Reference in the same process: the tracker and nowcast as they were before issue 16
(``bench/reference/``, the same algorithm without spatial indexing or vectorisation), run
on the same volumes; the ratio is reference / current.  The results must be the same: the
benchmark checks that both give the same tracks (ids, links), motions within 1e-6 m/s,
nowcast centroids within 1 m and the same arrival times, and says so.  Prints PASS/FAIL for
the 500-cell target; always exits 0.

    python bench/bench_tracking.py [--volumes N] [--cells 50,200,500] [--no-fields]
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
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYART_QUIET", "1")

from bench.reference import nowcast_v1 as ref_nowcast  # noqa: E402
from bench.reference import tracking_v1 as ref_tracking  # noqa: E402
from radar import nowcast as new_nowcast  # noqa: E402
from radar import tracking as new_tracking  # noqa: E402
from radar.model import HailCell  # noqa: E402

TARGET_MS = 300.0
TARGET_CELLS = 500
ORIGIN = (112.55, 37.87)
SCAN_S = 360.0
HALF_KM = 240
_CRS = f"+proj=aeqd +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +datum=WGS84 +units=m"
INV = Transformer.from_crs(_CRS, "EPSG:4326", always_xy=True)
AXIS_M = np.arange(-HALF_KM, HALF_KM + 1) * 1000.0
GEOD = Geod(ellps="WGS84")


def build_cells(
    positions: list[tuple[float, float, float]], t: datetime, hail_every: int = 1
) -> list[HailCell]:
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
                hail=i % hail_every == 0,
            )
        )
    return cells


def build_field(positions: list[tuple[float, float, float]], grid_cls: Any) -> Any:
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
    return grid_cls.from_projected(dbz, AXIS_M, AXIS_M, ORIGIN)


def scenario(n_cells: int, n_volumes: int, seed: int = 4) -> list[list[tuple[float, float, float]]]:
    """Cell positions (x, y, radius; metres) per volume."""
    rng = random.Random(seed)
    steer = (12.0, 8.0)
    storms = []
    side = math.ceil(math.sqrt(n_cells))
    spacing = 32e3 if n_cells <= 100 else 20e3  # hundreds of cells: a crowded afternoon
    for i in range(n_cells):
        x = (i % side - side / 2) * spacing + rng.uniform(-4e3, 4e3)
        y = (i // side - side / 2) * spacing + rng.uniform(-4e3, 4e3)
        u = steer[0] + rng.uniform(-4, 4)
        v = steer[1] + rng.uniform(-4, 4)
        storms.append((x, y, u, v, rng.uniform(3e3, 7e3)))
    return [
        [
            (x + u * SCAN_S * k + rng.gauss(0, 300), y + v * SCAN_S * k + rng.gauss(0, 300), r)
            for x, y, u, v, r in storms
        ]
        for k in range(n_volumes)
    ]


TARGETS = {
    f"county{i}": shapely.box(lon, lat, lon + 0.25, lat + 0.2)
    for i, (lon, lat) in enumerate(
        (ORIGIN[0] - 2.5 + 0.5 * (i % 10), ORIGIN[1] - 2.0 + 0.4 * (i // 10)) for i in range(100)
    )
}


def run(
    tracking: Any, nowcast: Any, volumes: list[Any], with_fields: bool, hail_every: int = 1
) -> tuple[dict[str, list[float]], Any, list[Any], list[dict[str, Any]]]:
    """Time one implementation over the volumes; return timings and the final results.

    Every nowcast is materialised and gets arrival times when all cells are hail
    (``hail_every`` 1); otherwise only the hail tracks' nowcasts are used, as dispatch does
    (the current nowcast computes the others only when asked; the reference always does).
    """
    tracker = tracking.Tracker()
    times: dict[str, list[float]] = {"track": [], "nowcast": [], "arrival": []}
    t0 = datetime(2024, 6, 20, 9, 0, tzinfo=UTC)
    nowcasts: list[Any] = []
    arrivals: list[dict[str, Any]] = []
    for k, positions in enumerate(volumes):
        t = t0 + timedelta(seconds=SCAN_S * k)
        cells = build_cells(positions, t, hail_every)
        field = build_field(positions, tracking.ReflectivityGrid) if with_fields else None

        start = time.perf_counter()
        state = tracker.update(cells, t, field=field)
        mid = time.perf_counter()
        nowcasts = nowcast.nowcast_tracks(state.tracks)
        hail = {tr.id for tr in state.tracks if tr.active and tr.last.hail}
        used = [n for n in nowcasts if n.track_id in hail]
        for n in used:
            n.to_dict()
        end = time.perf_counter()
        arrivals = [nowcast.arrival_times(n, TARGETS) for n in used]
        done = time.perf_counter()
        if k > 0:  # the first volume only creates tracks
            times["track"].append((mid - start) * 1000)
            times["nowcast"].append((end - mid) * 1000)
            times["arrival"].append((done - end) * 1000)
    return times, tracker.state, nowcasts, arrivals


def same_results(a: tuple[Any, list[Any], list[Any]], b: tuple[Any, list[Any], list[Any]]) -> str:
    """'' when both runs agree (ids, links, motions, nowcast centroids, arrivals), else why."""
    state_a, now_a, arr_a = a
    state_b, now_b, arr_b = b
    if [t.id for t in state_a.tracks] != [t.id for t in state_b.tracks]:
        return "different track ids"
    for ta, tb in zip(state_a.tracks, state_b.tracks, strict=True):
        if [p.cell_id for p in ta.observations] != [p.cell_id for p in tb.observations]:
            return f"{ta.id}: different links"
        if (ta.parent_id, ta.merged_into, ta.end_reason) != (
            tb.parent_id,
            tb.merged_into,
            tb.end_reason,
        ):
            return f"{ta.id}: different split/merge"
        if math.hypot(ta.motion.u_mps - tb.motion.u_mps, ta.motion.v_mps - tb.motion.v_mps) > 1e-6:
            return f"{ta.id}: motion differs"
    worst = 0.0
    for na, nb in zip(now_a, now_b, strict=True):
        for sa, sb in zip(na.steps, nb.steps, strict=True):
            worst = max(worst, GEOD.inv(*sa.centroid, *sb.centroid)[2])
            worst = max(worst, abs(sa.radius_m - sb.radius_m))
    if worst > 1.0:
        return f"nowcasts differ by {worst:.2f} m"
    for xa, xb in zip(arr_a, arr_b, strict=True):
        for name in xa:
            ya, yb = xa[name], xb[name]
            if (ya is None) != (yb is None) or (ya and abs((ya - yb).total_seconds()) > 1.0):
                return f"arrival at {name} differs"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--volumes", type=int, default=5)
    parser.add_argument("--cells", default="50,200,500")
    parser.add_argument("--no-fields", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(c) for c in args.cells.split(",")]
    with_fields = not args.no_fields

    print(
        f"volumes {args.volumes} per size (timed: volumes 2..N), fields "
        f"{'yes' if with_fields else 'no'}, 100 arrival targets, all cells hail"
    )
    header = (
        f"{'cells':>5} | {'track ms':>9} {'nowcast ms':>10} {'track+now':>9} {'arrivals':>9} |"
        f" {'ref track+now':>13} {'ref arrivals':>12} | {'ratio t+n':>9} {'ratio arr':>9} | same"
    )
    print(header)
    print("-" * len(header))
    verdict = None
    steady_lines: list[str] = []
    for n_cells in sizes:
        volumes = scenario(n_cells, args.volumes)
        new_t, new_state, new_now, new_arr = run(new_tracking, new_nowcast, volumes, with_fields)
        ref_t, ref_state, ref_now, ref_arr = run(ref_tracking, ref_nowcast, volumes, with_fields)
        why = same_results((new_state, new_now, new_arr), (ref_state, ref_now, ref_arr))
        track = statistics.mean(new_t["track"])
        now = statistics.mean(new_t["nowcast"])
        arrival = statistics.mean(new_t["arrival"])
        ref_tn = statistics.mean(
            a + b for a, b in zip(ref_t["track"], ref_t["nowcast"], strict=True)
        )
        ref_arrival = statistics.mean(ref_t["arrival"])
        # from the fourth volume on every track has an established history (no phase
        # correlation needed): the steady state of a long event
        steady = [a + b for a, b in zip(new_t["track"], new_t["nowcast"], strict=True)][2:]
        ref_steady = [a + b for a, b in zip(ref_t["track"], ref_t["nowcast"], strict=True)][2:]
        if steady:
            steady_lines.append(
                f"{n_cells:>5} cells, volumes 4..N: tracking + nowcast "
                f"{statistics.mean(steady):.1f} ms (reference {statistics.mean(ref_steady):.1f} ms,"
                f" {statistics.mean(ref_steady) / statistics.mean(steady):.1f}x)"
            )
        print(
            f"{n_cells:>5} | {track:>9.1f} {now:>10.1f} {track + now:>9.1f} {arrival:>9.1f} |"
            f" {ref_tn:>13.1f} {ref_arrival:>12.1f} | {ref_tn / (track + now):>8.1f}x"
            f" {ref_arrival / max(arrival, 1e-9):>8.1f}x | {'yes' if not why else 'NO: ' + why}"
        )
        if n_cells == TARGET_CELLS:
            verdict = track + now <= TARGET_MS and not why
    for line in steady_lines:
        print(line)
    if TARGET_CELLS in sizes:
        # a crowded afternoon where one cell in five has hail: only the hail tracks'
        # nowcasts and arrival times are needed now, the others are computed when asked
        volumes = scenario(TARGET_CELLS, args.volumes)
        new_t, *_ = run(new_tracking, new_nowcast, volumes, with_fields, hail_every=5)
        ref_t, *_ = run(ref_tracking, ref_nowcast, volumes, with_fields, hail_every=5)
        tn = statistics.mean(a + b for a, b in zip(new_t["track"], new_t["nowcast"], strict=True))
        ref_tn = statistics.mean(
            a + b for a, b in zip(ref_t["track"], ref_t["nowcast"], strict=True)
        )
        arrival = statistics.mean(new_t["arrival"])
        ref_arrival = statistics.mean(ref_t["arrival"])
        print(
            f"{TARGET_CELLS} cells, 1 in 5 hail (hail nowcasts now, the rest lazily): tracking +"
            f" nowcast {tn:.1f} ms (reference {ref_tn:.1f} ms, {ref_tn / tn:.1f}x), arrivals"
            f" {arrival:.1f} ms (reference {ref_arrival:.1f} ms, {ref_arrival / arrival:.1f}x)"
        )
    if verdict is not None:
        print(
            f"target: tracking + nowcast <= {TARGET_MS:.0f} ms per volume at {TARGET_CELLS} cells,"
            " same results as the reference"
        )
        print("PASS" if verdict else "FAIL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
