"""Convective cells on the composite-reflectivity grid, and their hail verdicts.

A cell is a 4-connected region of composite reflectivity ≥ ``cell_dbz`` covering at least
``min_area_km2`` (TITAN, Dixon & Wiener 1993).  A region holding several cores
≥ ``split_dbz`` (each at least ``min_core_area_km2``) is split between them by a watershed on
reflectivity seeded at the cores (``scipy.ndimage.watershed_ift``), so touching storms stay
separate; a split is only kept when every piece still covers ``min_area_km2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import ndimage

from radar import products
from radar.config import DEFAULT_CONFIG, DetectionConfig
from radar.grid import ProductGrids
from radar.model import HailCell, RadarSite, TemperatureLevels

_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def label_cells(
    composite_dbz: np.ndarray,
    resolution_m: float,
    *,
    cell_dbz: float = 40.0,
    split_dbz: float = 50.0,
    min_area_km2: float = 10.0,
    min_core_area_km2: float = 2.0,
) -> tuple[np.ndarray, int]:
    """Label cells on a 2-D composite grid; returns ``(labels, n)`` with 0 = no cell.

    Labels are ``1..n`` in an arbitrary but deterministic order.
    """
    pixel_km2 = (resolution_m / 1000.0) ** 2
    min_pixels = max(1, math.ceil(min_area_km2 / pixel_km2 - 1e-9))
    min_core_pixels = max(1, math.ceil(min_core_area_km2 / pixel_km2 - 1e-9))
    with np.errstate(invalid="ignore"):
        region_mask = np.nan_to_num(composite_dbz, nan=-np.inf) >= cell_dbz
    regions, n_regions = ndimage.label(region_mask, structure=_FOUR_CONNECTED)
    out = np.zeros(regions.shape, dtype=np.int32)
    n_out = 0
    for index, box in enumerate(ndimage.find_objects(regions), start=1):
        if box is None:
            continue
        region = regions[box] == index
        if np.count_nonzero(region) < min_pixels:
            continue
        for piece in _split_region(
            np.asarray(composite_dbz[box], float), region, split_dbz, min_pixels, min_core_pixels
        ):
            n_out += 1
            out[box][piece] = n_out
    return out, n_out


def _split_region(
    dbz: np.ndarray, region: np.ndarray, split_dbz: float, min_pixels: int, min_core_pixels: int
) -> list[np.ndarray]:
    """Pieces (boolean masks) of one region: itself, or one per core after a watershed."""
    with np.errstate(invalid="ignore"):
        core_mask = region & (dbz >= split_dbz)
    cores, n_cores = ndimage.label(core_mask, structure=_FOUR_CONNECTED)
    sizes = np.bincount(cores.ravel(), minlength=n_cores + 1)
    seeds = [c for c in range(1, n_cores + 1) if sizes[c] >= min_core_pixels]
    # Cost to flood: low where reflectivity is high, so pieces meet along reflectivity valleys.
    cost = np.where(region, np.clip(np.rint(100.0 - np.nan_to_num(dbz, nan=0.0)), 0, 254), 255)
    cost = cost.astype(np.uint8)
    while len(seeds) >= 2:
        markers = np.zeros(region.shape, dtype=np.int16)
        for k, c in enumerate(seeds, start=1):
            markers[cores == c] = k
        flooded = ndimage.watershed_ift(cost, markers, structure=_FOUR_CONNECTED)
        pieces = [(flooded == k) & region for k in range(1, len(seeds) + 1)]
        counts = [int(np.count_nonzero(p)) for p in pieces]
        if min(counts) >= min_pixels and sum(counts) == int(np.count_nonzero(region)):
            return pieces
        # Drop the weakest seed (smallest core) and try again.
        seeds.remove(min(seeds, key=lambda c: (sizes[c], -c)))
    return [region]


#: Reflectivity (dBZ) of the echo the criteria and the sampling checks are about.
HAIL_ECHO_DBZ = 45.0

#: Sampling flags (machine-readable, in this order) and what each means.
SAMPLING_FLAGS = {
    "cone_of_silence": "the highest beam passes below the -20 C level or still inside the "
    "45 dBZ echo over part of the cell (cone of silence): the top of the storm is not seen",
    "lowest_beam_above_h0": "the lowest beam is already above the 0 C level over the whole "
    "cell (long range): the lower part of the storm is not seen",
    "sweeps_missing": "the volume is incomplete: sweeps are missing",
    "too_few_elevations": "too few elevations for the vertical hail products",
}
#: Flags under which a cell without a hail verdict may still hold hail.
_BLINDING = ("cone_of_silence", "lowest_beam_above_h0", "sweeps_missing", "too_few_elevations")

VERDICTS = ("hail", "no_hail", "cannot_tell")


def sampling_flags(
    grids: ProductGrids,
    pixels: np.ndarray,
    levels: TemperatureLevels,
    *,
    volume_complete: bool = True,
) -> tuple[str, ...]:
    """What the radar could not see of the cell covering the flat grid ``pixels``.

    ``cone_of_silence``: over some column of the cell holding ≥ 45 dBZ (every column if none
    does), the highest beam is below H−20 or its sample is still ≥ 45 dBZ.
    ``lowest_beam_above_h0``: over every column of the cell the lowest beam is above H0.
    ``sweeps_missing``: the volume is incomplete.  ``too_few_elevations``: no vertical
    products.  Empty when the radar saw the whole column.
    """
    flags: list[str] = []

    def values(grid: np.ndarray | None) -> np.ndarray:
        if grid is None:
            return np.full(pixels.size, np.nan)
        return np.asarray(grid.ravel()[pixels], float)

    peak = values(grids.peak_dbz)
    core = peak >= HAIL_ECHO_DBZ
    if not core.any():
        core = np.ones(pixels.size, dtype=bool)
    highest = values(grids.highest_beam_m)[core]
    top = values(grids.top_sample_dbz)[core]
    lowest = values(grids.lowest_beam_m)
    if grids.unavailable_reason is None and (
        np.any(highest < levels.h20_m) or np.any(top >= HAIL_ECHO_DBZ)
    ):
        flags.append("cone_of_silence")
    if np.isfinite(lowest).any() and np.nanmin(lowest) > levels.h0_m:
        flags.append("lowest_beam_above_h0")
    if not volume_complete:
        flags.append("sweeps_missing")
    if grids.unavailable_reason is not None:
        flags.append("too_few_elevations")
    return tuple(flags)


def verdict_of(
    *,
    criteria: Sequence[str],
    max_dbz: float,
    top45_km: float | None,
    h0_m: float,
    sampling: Sequence[str],
    unavailable_reason: str | None,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> tuple[str, str]:
    """The three-valued hail verdict of a cell and its reason (one English sentence).

    - ``hail``: at least ``min_criteria`` criteria fire **and** the ≥ 45 dBZ echo reaches
      above the 0 °C level (no hail verdict for a storm whose 45 dBZ echo stays below H0,
      whatever VIL density or composite reflectivity say).
    - ``cannot_tell``: the radar did not see enough to decide — a cell of ≥ 45 dBZ without
      vertical products, or short of a hail verdict while a sampling flag says part of the
      storm was not seen (cone of silence, lowest beam above H0, missing sweeps).
    - ``no_hail``: otherwise.
    """
    blinding = [f for f in sampling if f in _BLINDING]
    strong = max_dbz >= HAIL_ECHO_DBZ
    if unavailable_reason is not None:
        if strong:
            return (
                "cannot_tell",
                f"{max_dbz:.1f} dBZ but no vertical products ({unavailable_reason})",
            )
        return "no_hail", f"no echo of {HAIL_ECHO_DBZ:g} dBZ (max {max_dbz:.1f} dBZ)"
    meets = len(criteria) >= config.min_criteria
    above_h0 = top45_km is not None and top45_km * 1000.0 > h0_m
    if meets and above_h0:
        return "hail", f"{len(criteria)} criteria met: {', '.join(criteria)}"
    if strong and blinding:
        return "cannot_tell", "; ".join(SAMPLING_FLAGS[f] for f in blinding)
    if meets:
        top = "none" if top45_km is None else f"{top45_km:.1f} km"
        return "no_hail", (
            f"the {HAIL_ECHO_DBZ:g} dBZ echo stays below the 0 C level "
            f"(top {top}, 0 C at {h0_m / 1000.0:.1f} km)"
        )
    return "no_hail", f"{len(criteria)} of {config.min_criteria} criteria met"


def hail_criteria(
    *,
    max_dbz: float,
    top45_km: float | None,
    vil_kgm2: float | None,
    vild_gm3: float | None,
    posh_pct: float | None,
    mesh_mm: float | None,
    h0_m: float,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> tuple[str, ...]:
    """Names of the hail criteria a cell meets (thresholds from ``config``, ``None`` = off).

    ``posh_pct`` is the displayed (10 %-step) POSH.  ``top45-h0`` is the Waldvogel ΔH with
    both heights above sea level.
    """
    fired: list[str] = []

    def check(value: float | None, threshold: float | None, template: str) -> None:
        if value is not None and threshold is not None and value >= threshold:
            fired.append(template.format(threshold))

    delta_h = None if top45_km is None else top45_km - h0_m / 1000.0
    check(mesh_mm, config.mesh_mm, "mesh>={:g}mm")
    check(posh_pct, config.posh_pct, "posh>={:g}%")
    check(delta_h, config.waldvogel_dh_km, "top45-h0>={:g}km")
    check(top45_km, config.top45_km, "top45>={:g}km")
    check(vil_kgm2, config.vil_kgm2, "vil>={:g}")
    check(vild_gm3, config.vild_gm3, "vild>={:g}")
    check(max_dbz, config.composite_dbz, "composite>={:g}dBZ")
    return tuple(fired)


@lru_cache(maxsize=32)
def _to_lonlat(lat: float, lon: float) -> Any:
    from pyproj import Transformer

    aeqd = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs"
    return Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)


def grid_to_lonlat(
    site: RadarSite, x_m: np.ndarray, y_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates (m east/north of the radar, azimuthal equidistant) to lon/lat."""
    lon, lat = _to_lonlat(site.lat, site.lon).transform(np.asarray(x_m), np.asarray(y_m))
    return np.asarray(lon), np.asarray(lat)


def lonlat_to_grid(
    site: RadarSite, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`grid_to_lonlat`."""
    from pyproj.enums import TransformDirection

    x, y = _to_lonlat(site.lat, site.lon).transform(
        np.asarray(lon), np.asarray(lat), direction=TransformDirection.INVERSE
    )
    return np.asarray(x), np.asarray(y)


def outline(mask: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, resolution_m: float) -> np.ndarray:
    """Exterior ring (x, y in m) of the pixels of ``mask``, simplified to half a pixel.

    Pixels are merged row by row into runs, the runs' rectangles are unioned (shapely) and
    the largest polygon's exterior is kept (holes are dropped: a cell outline is its hull of
    coverage).
    """
    import shapely

    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    half = resolution_m / 2.0
    x0 = x_m[0]
    boxes = shapely.box(
        x0 + starts * resolution_m - half,
        y_m[rows] - half,
        x0 + ends * resolution_m - half,
        y_m[rows] + half,
    )
    shape = shapely.union_all(boxes)
    if shape.geom_type == "MultiPolygon":
        shape = max(shape.geoms, key=lambda g: g.area)
    shape = shapely.Polygon(shape.exterior).simplify(half, preserve_topology=True)
    return np.asarray(shape.exterior.coords)


def build_cells(
    grids: ProductGrids,
    labels: np.ndarray,
    n_labels: int,
    *,
    site: RadarSite,
    scan_time: datetime,
    levels: TemperatureLevels,
    config: DetectionConfig = DEFAULT_CONFIG,
    volume_complete: bool = True,
) -> tuple[HailCell, ...]:
    """One :class:`HailCell` per label: outline, centroid, area, maxima and hail verdict.

    Ids are ``C<scan time>-<nn>``, numbered by decreasing max dBZ (ties: larger area first,
    then position), so they are deterministic per volume.
    """
    if n_labels == 0:
        return ()
    res = grids.resolution_m
    pixel_km2 = (res / 1000.0) ** 2
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(1, n_labels + 2))
    peak = grids.peak_dbz.ravel()
    ncols = labels.shape[1]

    def cell_max(grid: np.ndarray | None, pixels: np.ndarray) -> float | None:
        if grid is None:
            return None
        values = grid.ravel()[pixels]
        values = values[np.isfinite(values)]
        return float(values.max()) if values.size else None

    drafts = []
    for label in range(1, n_labels + 1):
        pixels = order[bounds[label - 1] : bounds[label]]
        rows, cols = np.divmod(pixels, ncols)
        max_dbz = float(np.nanmax(peak[pixels]))
        drafts.append(
            (-max_dbz, -pixels.size, float(rows.mean()), float(cols.mean()), label, pixels)
        )
    drafts.sort()

    stamp = scan_time.strftime("%Y%m%dT%H%M%S")
    cells = []
    for number, (neg_max, _, row_c, col_c, label, pixels) in enumerate(drafts, start=1):
        rows, cols = np.divmod(pixels, ncols)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        ring = outline(labels[r0:r1, c0:c1] == label, grids.x_m[c0:c1], grids.y_m[r0:r1], res)
        ring_lon, ring_lat = grid_to_lonlat(site, ring[:, 0], ring[:, 1])
        cx = float(np.interp(col_c, np.arange(grids.x_m.size), grids.x_m))
        cy = float(np.interp(row_c, np.arange(grids.y_m.size), grids.y_m))
        c_lon, c_lat = grid_to_lonlat(site, np.array([cx]), np.array([cy]))

        available = grids.unavailable_reason is None
        top45_m = cell_max(grids.top45_m, pixels) if available else None
        shi = cell_max(grids.shi, pixels) if available else None
        values: dict[str, Any] = {}
        if available:
            values = {
                "top45_km": None if top45_m is None else top45_m / 1000.0,
                "vil_kgm2": cell_max(grids.vil_kgm2, pixels),
                "vild_gm3": cell_max(grids.vild_gm3, pixels),
                "shi": shi,
                "posh_pct": cell_max(grids.posh_pct, pixels),
                "mesh_mm": cell_max(grids.mesh_mm, pixels),
                "mesh75_mm": cell_max(grids.mesh75_mm, pixels),
                "mesh95_mm": cell_max(grids.mesh95_mm, pixels),
                "poh_pct": cell_max(grids.poh_pct, pixels),
            }
            if values["posh_pct"] is not None:
                values["posh_pct"] = float(products.round_posh(values["posh_pct"]))
        max_dbz = -neg_max
        criteria = hail_criteria(
            max_dbz=max_dbz,
            top45_km=values.get("top45_km"),
            vil_kgm2=values.get("vil_kgm2"),
            vild_gm3=values.get("vild_gm3"),
            posh_pct=values.get("posh_pct"),
            mesh_mm=values.get("mesh_mm"),
            h0_m=levels.h0_m,
            config=config,
        )
        sampling = sampling_flags(grids, pixels, levels, volume_complete=volume_complete)
        verdict, reason = verdict_of(
            criteria=criteria,
            max_dbz=max_dbz,
            top45_km=values.get("top45_km"),
            h0_m=levels.h0_m,
            sampling=sampling,
            unavailable_reason=grids.unavailable_reason,
            config=config,
        )
        cells.append(
            HailCell(
                id=f"C{stamp}-{number:02d}",
                scan_time=scan_time,
                centroid=(float(c_lon[0]), float(c_lat[0])),
                polygon=tuple(
                    (float(a), float(b)) for a, b in zip(ring_lon, ring_lat, strict=True)
                ),
                area_km2=float(pixels.size * pixel_km2),
                max_dbz=max_dbz,
                hail=verdict == "hail",
                criteria=criteria,
                unavailable_reason=grids.unavailable_reason,
                verdict=verdict,
                sampling=sampling,
                verdict_reason=reason,
                **values,
            )
        )
    return tuple(cells)


def cells_summary(cells: Sequence[HailCell]) -> str:
    """One line per cell, for logs."""
    return "\n".join(
        f"{c.id} {c.max_dbz:.1f}dBZ {c.area_km2:.0f}km2 mesh={c.mesh_mm} hail={c.hail} {','.join(c.criteria)}"
        for c in cells
    )
