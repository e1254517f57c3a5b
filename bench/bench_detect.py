"""Benchmark: hail detection against a Py-ART read and the Py-ART grid + PyHail reference.

In one process, on the same file:

(a) Py-ART read alone (all fields, the reader's defaults);
(b) the reference pipeline: Py-ART read + ``pyart.map.grid_from_radars`` onto a 3-D grid with
    the same horizontal extent and spacing as ours (±max_range, 1 km) and 0.5 km levels to
    20 km, then ``pyhail.mesh_grid.main`` (Witt 1998 MESH, no C-band correction);
(c) our full ``radar.detect.detect_volume`` (read of reflectivity only, column products,
    cells with outlines and verdicts).

Targets: (c) ≤ 1.5 × (a) and (b) ≥ 3 × (c).  Peak memory is the ``tracemalloc`` peak of one
run of each pipeline (numpy buffers included; C-library buffers of HDF5/bz2 are not).

Volumes: the Canberra 2018-12-20 ODIM volume (14 sweeps, real hail), and a 16-sweep NEXRAD
Level II volume: Py-ART's ``example_nexrad_archive_msg31.bz2`` (a real 16-sweep VCP; its data
were replaced by a constant −32 dBZ, so it holds no storm).  For that volume the storm is
planted in memory after reading: (a) and the read part of (c) are timed on the real file,
the processing part of (c) and (b)'s gridding + MESH on the same radar with the planted storm.

Always exits 0: it reports, PASS/FAIL per target.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("PYART_QUIET", "1")
warnings.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from radar.config import DetectionConfig  # noqa: E402
from radar.detect import detect_volume  # noqa: E402
from radar.io import REFLECTIVITY_CANDIDATES, read_volume, reflectivity_field  # noqa: E402
from radar.levels import levels_from_values  # noqa: E402

LEVELS = levels_from_values(4300.0, 7600.0, source="bench")
CONFIG = DetectionConfig()
# The built-in drill event's volume (vendored in the repository: a fresh clone benchmarks too).
CANBERRA = ROOT / "radar" / "data" / "events" / "canberra_20181220" / "40_20181220_060630.pvol.h5"


def timed(fn: Callable[[], Any], repeat: int, warmup: bool = True) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs (after one warm-up run); returns (seconds, result)."""
    result = fn() if warmup else None
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def pyart_read(path: Path) -> Any:
    import pyart

    if path.suffix == ".h5":
        return pyart.aux_io.read_odim_h5(str(path))
    return pyart.io.read(str(path))


def reference_products(radar: Any) -> float:
    """``grid_from_radars`` + PyHail MESH on the grid; returns the MESH maximum (mm)."""
    import pyart
    from pyhail import mesh_grid

    field = reflectivity_field(radar)
    half = int(CONFIG.max_range_km)
    limit = half * 1000.0
    grid = pyart.map.grid_from_radars(
        radar,
        grid_shape=(41, 2 * half + 1, 2 * half + 1),
        grid_limits=((0.0, 20000.0), (-limit, limit), (-limit, limit)),
        fields=[field],
    )
    out = mesh_grid.main(
        grid,
        field,
        [LEVELS.h0_m, LEVELS.h20_m],
        radar_band="C",
        mesh_method="witt1998",
        correct_cband_refl=False,
    )
    return float(np.nanmax(out["mesh_witt1998"]["data"]))


def plant_storms(radar: Any) -> Any:
    """Replace the constant reflectivity with five deep convective cells (in memory)."""
    field = reflectivity_field(radar)
    radar.init_gate_x_y_z()
    x, y, z = radar.gate_x["data"], radar.gate_y["data"], radar.gate_z["data"]
    dbz = np.full(x.shape, -np.inf, dtype=np.float32)
    storms = [
        (60e3, 20e3, 68.0),
        (-80e3, 40e3, 62.0),
        (20e3, -120e3, 58.0),
        (150e3, 90e3, 55.0),
        (-40e3, -60e3, 50.0),
    ]
    for sx, sy, peak in storms:
        r = np.hypot(x - sx, y - sy) / 1000.0
        profile = peak - 2.5 * r - np.maximum(z - 9000.0, 0.0) / 400.0
        dbz = np.maximum(dbz, np.where((r < 15.0) & (z < 14000.0), profile, -np.inf))
    radar.fields[field]["data"] = np.ma.masked_less(dbz, 5.0)
    return radar


def report(name: str, a: float, b: float, c: float, mem: dict[str, float], extra: str = "") -> bool:
    ca, bc = c / a, b / c
    ok_ca, ok_bc = ca <= 1.5, bc >= 3.0
    print(f"\n== {name}")
    if extra:
        print(extra)
    print(f"(a) Py-ART read alone          {a * 1000:9.1f} ms   peak {mem['a']:7.1f} MB")
    print(f"(b) grid_from_radars + PyHail  {b * 1000:9.1f} ms   peak {mem['b']:7.1f} MB")
    print(f"(c) our detect_volume          {c * 1000:9.1f} ms   peak {mem['c']:7.1f} MB")
    print(f"c/a = {ca:5.2f}  (target <= 1.5)  {'PASS' if ok_ca else 'FAIL'}")
    print(f"b/c = {bc:5.1f}  (target >= 3)    {'PASS' if ok_bc else 'FAIL'}")
    return ok_ca and ok_bc


def bench_canberra() -> bool:
    path = CANBERRA
    t_a, radar = timed(lambda: pyart_read(path), 5)
    t_c, result = timed(lambda: detect_volume(path, LEVELS, CONFIG), 5)
    t_b, ref_mesh = timed(lambda: reference_products(pyart_read(path)), 1, warmup=False)
    t_read_refl, _ = timed(lambda: read_volume(path, fields=REFLECTIVITY_CANDIDATES), 5)
    mem = {
        "a": peak_mb(lambda: pyart_read(path)),
        "b": peak_mb(lambda: reference_products(pyart_read(path))),
        "c": peak_mb(lambda: detect_volume(path, LEVELS, CONFIG)),
    }
    ours = max((c.mesh_mm or 0.0) for c in result.cells)
    extra = (
        f"{path.name}: {radar.nsweeps} sweeps, {radar.nrays} rays x {radar.ngates} gates; "
        f"{len(result.cells)} cells, {sum(c.hail for c in result.cells)} with hail\n"
        f"MESH max: ours {ours:.1f} mm, reference grid {ref_mesh:.1f} mm\n"
        f"(c) split: read reflectivity only {t_read_refl * 1000:.1f} ms, "
        f"products + cells {max(t_c - t_read_refl, 0) * 1000:.1f} ms; "
        f"c / (reflectivity-only read) = {t_c / t_read_refl:.2f}"
    )
    return report("Canberra ODIM, 14 sweeps, real hail", t_a, t_b, t_c, mem, extra)


def bench_nexrad() -> bool:
    import pyart

    path = Path(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE)
    t_a, _ = timed(lambda: pyart_read(path), 3)
    t_read, radar = timed(lambda: read_volume(path, fields=REFLECTIVITY_CANDIDATES), 3)
    planted = plant_storms(radar)
    t_proc, result = timed(lambda: detect_volume(planted, LEVELS, CONFIG), 3)
    full = plant_storms(pyart_read(path))
    t_grid, ref_mesh = timed(lambda: reference_products(full), 1, warmup=False)
    t_b = t_a + t_grid
    t_c = t_read + t_proc
    mem = {
        "a": peak_mb(lambda: pyart_read(path)),
        "b": peak_mb(lambda: reference_products(full)),
        "c": max(
            peak_mb(lambda: read_volume(path, fields=REFLECTIVITY_CANDIDATES)),
            peak_mb(lambda: detect_volume(planted, LEVELS, CONFIG)),
        ),
    }
    ours = max((c.mesh_mm or 0.0) for c in result.cells)
    extra = (
        f"{path.name}: {radar.nsweeps} sweeps, {radar.nrays} rays x {radar.ngates} gates "
        "(real NEXRAD Level II file, constant data; storm planted in memory)\n"
        f"{len(result.cells)} cells, {sum(c.hail for c in result.cells)} with hail; "
        f"MESH max: ours {ours:.1f} mm, reference grid {ref_mesh:.1f} mm\n"
        f"(c) = read reflectivity only {t_read * 1000:.1f} ms + products/cells on the planted "
        f"volume {t_proc * 1000:.1f} ms; (b) = (a) + gridding/MESH {t_grid * 1000:.1f} ms\n"
        "(b) peak memory excludes the read; (c) peak is the larger of its two parts"
    )
    return report("NEXRAD Level II, 16 sweeps, planted storm", t_a, t_b, t_c, mem, extra)


def main() -> int:
    print(
        f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, grid {CONFIG.grid_resolution_m:g} m to {CONFIG.max_range_km:g} km"
    )
    results = [bench_canberra(), bench_nexrad()]
    print(f"\noverall: {'PASS' if all(results) else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
