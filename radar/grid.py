"""Polar volume → 2-D column products on a Cartesian grid: the fast path of hail detection.

Instead of interpolating the volume onto a 3-D grid (``pyart.map.grid_from_radars``), each
column of a 2-D grid (``grid_resolution_m`` spacing, azimuthal equidistant around the radar,
out to ``max_range_km``) takes, from every sweep, the nearest gate above it: the ray nearest
in azimuth and the gate nearest to the slant range at which that sweep's beam passes over the
column.  Where gates are denser than the grid, every gate of at least ``product_min_dbz``
also raises the sample of the pixel that contains it (a per-sweep maximum), so a small hail
core is not missed by the subsampling.  Cells are outlined on the composite of the
nearest-gate samples alone (pooling would widen every outline by up to half a pixel and
bridge neighbouring storms); the vertical products and cell maxima use the pooled samples.  That gives one sample per elevation per column, at
the beam-centre height of the 4/3-effective-earth model (Doviak & Zrnić 1993, eqs. 2.28),
and the column kernels of :mod:`radar.products` integrate those samples vertically.

Geometry that depends only on the grid and on a sweep's elevation and gate layout is cached,
so consecutive volumes of the same scan strategy cost one gather per sweep.

Grid convention: ``x_m`` east and ``y_m`` north of the radar (metres, cell centres); arrays are
``[row = y index (south → north), column = x index (west → east)]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from radar import products
from radar.config import DEFAULT_CONFIG, DetectionConfig
from radar.model import TemperatureLevels

EARTH_RADIUS_M = 6371000.0
#: Standard refraction: the beam is straight over an earth of 4/3 the real radius.
EFFECTIVE_EARTH_RADIUS_M = EARTH_RADIUS_M * 4.0 / 3.0
_AZIMUTH_BINS = 3600  # 0.1 degree lookup table per sweep
_SAME_ELEVATION_DEG = 0.2  # sweeps closer than this are one elevation (e.g. NEXRAD split cuts)


@dataclass(frozen=True, eq=False)
class GridGeometry:
    """Column positions of a square grid centred on the radar (cached per size)."""

    resolution_m: float
    max_range_m: float
    x_m: np.ndarray  # cell centres, also the y axis
    inside: np.ndarray  # flat indices of columns within range
    ground_range_m: np.ndarray  # per inside column
    azimuth_bin: np.ndarray  # per inside column, index into a 0.1 degree table
    inside_position: np.ndarray  # per grid cell (flat): its index among inside columns, or -1

    @property
    def shape(self) -> tuple[int, int]:
        return (self.x_m.size, self.x_m.size)


@dataclass(frozen=True, eq=False)
class ProductGrids:
    """2-D products of one volume; ``None`` for vertical products that are unavailable.

    Values are NaN outside radar coverage (``covered`` is False there); ``composite_dbz`` is
    also NaN where the radar sees no echo.  Vertical products are computed in columns with
    composite ≥ ``active_dbz``; elsewhere SHI, MESH, POSH and POH are exactly 0 (no echo
    reaches 40 dBZ), echo tops ≥ 45/50 dBZ are NaN (none), and VIL, VIL density and the
    18 dBZ top are NaN (not computed).
    """

    x_m: np.ndarray
    y_m: np.ndarray
    composite_dbz: np.ndarray  # nearest-gate composite: unbiased cell outlines and areas
    peak_dbz: np.ndarray  # largest gate value in the pixel (strong gates pooled): cell maxima
    covered: np.ndarray  # bool: some gate of some sweep lies over the column
    n_elevations: int
    active_dbz: float
    unavailable_reason: str | None = None
    #: Sampling of each column (m above sea level; NaN where no sweep covers it): the
    #: beam-centre height of the lowest and of the highest sweep with a gate over the
    #: column, and the reflectivity of that highest sample (``-inf`` no echo).
    lowest_beam_m: np.ndarray | None = None
    highest_beam_m: np.ndarray | None = None
    top_sample_dbz: np.ndarray | None = None
    top18_m: np.ndarray | None = None
    top45_m: np.ndarray | None = None
    top50_m: np.ndarray | None = None
    vil_kgm2: np.ndarray | None = None
    vild_gm3: np.ndarray | None = None
    shi: np.ndarray | None = None
    posh_pct: np.ndarray | None = None
    mesh_mm: np.ndarray | None = None
    mesh75_mm: np.ndarray | None = None
    mesh95_mm: np.ndarray | None = None
    poh_pct: np.ndarray | None = None

    @property
    def resolution_m(self) -> float:
        return float(self.x_m[1] - self.x_m[0]) if self.x_m.size > 1 else 0.0


@lru_cache(maxsize=8)
def grid_geometry(resolution_m: float, max_range_m: float) -> GridGeometry:
    """Grid column positions, ground range and azimuth bin (cached)."""
    half = int(np.ceil(max_range_m / resolution_m))
    x = np.arange(-half, half + 1, dtype=np.float64) * resolution_m
    xx, yy = np.meshgrid(x, x)  # rows: y, columns: x
    ground = np.hypot(xx, yy).ravel()
    inside = np.flatnonzero(ground <= max_range_m)
    azimuth = np.degrees(np.arctan2(xx.ravel()[inside], yy.ravel()[inside])) % 360.0
    azimuth_bin = (np.floor(azimuth * (_AZIMUTH_BINS / 360.0)).astype(np.int32)) % _AZIMUTH_BINS
    for arr in (x, inside, azimuth_bin):
        arr.flags.writeable = False
    ground_inside = ground[inside]
    position = np.full(ground.size, -1, dtype=np.int64)
    position[inside] = np.arange(inside.size)
    for arr in (ground_inside, position):
        arr.flags.writeable = False
    return GridGeometry(resolution_m, max_range_m, x, inside, ground_inside, azimuth_bin, position)


def beam_slant_range_and_height(
    ground_range_m: np.ndarray, elevation_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Slant range and beam-centre height above the radar where a beam passes over a point.

    With ``R = 4/3 · 6371 km``, central angle ``φ = s / R`` and elevation ``θ``, the triangle
    earth-centre / radar / beam point gives ``r = R sin φ / cos(θ + φ)`` and
    ``h = R cos θ / cos(θ + φ) − R`` (the inverse of Doviak & Zrnić eqs. 2.28b–c).
    """
    theta = np.radians(elevation_deg)
    phi = np.asarray(ground_range_m, float) / EFFECTIVE_EARTH_RADIUS_M
    cos_sum = np.cos(theta + phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        slant = EFFECTIVE_EARTH_RADIUS_M * np.sin(phi) / cos_sum
        height = EFFECTIVE_EARTH_RADIUS_M * np.cos(theta) / cos_sum - EFFECTIVE_EARTH_RADIUS_M
    beyond = cos_sum <= 0  # the beam never gets there (elevation + angle ≥ 90°)
    slant[beyond] = np.inf
    height[beyond] = np.inf
    return slant, height


@lru_cache(maxsize=256)
def _sweep_geometry(
    resolution_m: float, max_range_m: float, elevation_cdeg: int, r0: float, dr: float, ngates: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per inside column: nearest gate index (−1 if outside the sweep) and beam height (m)."""
    geometry = grid_geometry(resolution_m, max_range_m)
    slant, height = beam_slant_range_and_height(geometry.ground_range_m, elevation_cdeg / 100.0)
    gate = np.rint((slant - r0) / dr)
    valid = np.isfinite(gate) & (gate >= 0) & (gate < ngates)
    gate_index = np.where(valid, gate, -1).astype(np.int64)
    height = height.astype(np.float64)
    gate_index.flags.writeable = False
    height.flags.writeable = False
    return gate_index, height


def _gate_lookup(
    ranges: np.ndarray, geometry: GridGeometry, elevation_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    ranges = np.asarray(ranges, float)
    ngates = ranges.size
    dr = float(ranges[1] - ranges[0]) if ngates > 1 else 1000.0
    uniform = ngates < 3 or np.allclose(np.diff(ranges), dr, rtol=1e-3, atol=0.5)
    if uniform:
        return _sweep_geometry(
            geometry.resolution_m,
            geometry.max_range_m,
            int(round(elevation_deg * 100)),
            float(ranges[0]),
            dr,
            ngates,
        )
    # Irregular gate spacing: nearest gate by search (not cached).
    slant, height = beam_slant_range_and_height(geometry.ground_range_m, elevation_deg)
    pos = np.clip(np.searchsorted(ranges, slant), 1, ngates - 1)
    nearer_left = np.abs(slant - ranges[pos - 1]) <= np.abs(ranges[pos] - slant)
    gate = np.where(nearer_left, pos - 1, pos)
    spacing = np.gradient(ranges)[gate]
    valid = np.isfinite(slant) & (np.abs(slant - ranges[gate]) <= spacing)
    return np.where(valid, gate, -1).astype(np.int64), height


def _ray_lookup(azimuth_deg: np.ndarray) -> np.ndarray:
    """Index of the nearest ray for each 0.1° azimuth bin centre; −1 in gaps of the sweep."""
    az = np.mod(np.asarray(azimuth_deg, float), 360.0)
    finite = np.isfinite(az)
    rays = np.flatnonzero(finite)
    if rays.size == 0:
        return np.full(_AZIMUTH_BINS, -1, dtype=np.int64)
    az = az[rays]
    order = np.argsort(az, kind="stable")
    az_sorted, rays_sorted = az[order], rays[order]
    spacing = np.median(np.diff(az_sorted)) if az_sorted.size > 2 else 1.0
    tolerance = max(float(spacing), 0.1) * 1.01  # a bin farther than one ray spacing is a gap
    ext_az = np.concatenate([az_sorted - 360.0, az_sorted, az_sorted + 360.0])
    ext_rays = np.concatenate([rays_sorted, rays_sorted, rays_sorted])
    centres = (np.arange(_AZIMUTH_BINS) + 0.5) * (360.0 / _AZIMUTH_BINS)
    pos = np.clip(np.searchsorted(ext_az, centres), 1, ext_az.size - 1)
    left_nearer = (centres - ext_az[pos - 1]) <= (ext_az[pos] - centres)
    best = np.where(left_nearer, pos - 1, pos)
    distance = np.abs(ext_az[best] - centres)
    return np.where(distance <= tolerance, ext_rays[best], -1).astype(np.int64)


def _sweep_elevations(radar: Any) -> list[tuple[int, float]]:
    """(sweep index, elevation in degrees) of the PPI sweeps usable for column products."""
    out = []
    modes = radar.sweep_mode["data"] if radar.sweep_mode is not None else None
    for i in range(int(radar.nsweeps)):
        if modes is not None:
            mode = _text(modes[i]).lower()
            if "rhi" in mode or "vertical" in mode:
                continue
        start = int(radar.sweep_start_ray_index["data"][i])
        end = int(radar.sweep_end_ray_index["data"][i])
        elev = np.asarray(radar.elevation["data"][start : end + 1], float)
        elev = elev[np.isfinite(elev)]
        angle = float(np.median(elev)) if elev.size else float(radar.fixed_angle["data"][i])
        if np.isfinite(angle) and -2.0 <= angle < 89.0:
            out.append((i, angle))
    return out


def _text(value: Any) -> str:
    """A sweep-mode entry as text, whether str, bytes or a netCDF char array."""
    if isinstance(value, bytes):
        return value.decode("ascii", "ignore").strip("\x00 ")
    if isinstance(value, np.ndarray):
        parts = [v if isinstance(v, bytes) else str(v).encode() for v in np.ravel(value)]
        return b"".join(parts).decode("ascii", "ignore").strip("\x00 ")
    return str(value).strip("\x00 ")


def _flat_reflectivity(radar: Any, field_name: str) -> np.ndarray:
    """Reflectivity of all gates as one float32 vector plus a trailing NaN (the no-data slot).

    Masked gates (no echo) become ``-inf``; the trailing NaN is where grid columns that no
    gate covers point to.
    """
    data = radar.fields[field_name]["data"]
    nrays, ngates = int(radar.nrays), int(radar.ngates)
    out = np.empty(nrays * ngates + 1, dtype=np.float32)
    body = out[:-1].reshape(nrays, ngates)
    np.copyto(body, np.ma.getdata(data), casting="unsafe")
    mask = np.ma.getmask(data)
    if mask is not np.ma.nomask:
        np.putmask(body, mask, -np.inf)
    np.putmask(body, np.isnan(body), -np.inf)
    out[-1] = np.nan
    return out


def elevation_groups(sweeps: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """PPI sweeps grouped by elevation, ascending; each group in scan order.

    Sweeps less than 0.2° apart are one elevation.  **Rule for duplicated elevations**: the
    first sweep scanned at an elevation (lowest sweep index) is the one used, the others are
    ignored — never a maximum over cuts.  NEXRAD VCPs and CINRAD VCP 11/21 scan each split
    elevation as a long-range surveillance cut (reflectivity) followed by a Doppler cut, so
    the first is the surveillance cut; a SAILS/MRLE repeat of the lowest elevation later in
    the volume is likewise ignored, so every elevation is sampled at the volume's start.
    """
    ordered = sorted(sweeps, key=lambda item: item[1])
    groups: list[list[tuple[int, float]]] = []
    for item in ordered:
        if groups and item[1] - groups[-1][0][1] < _SAME_ELEVATION_DEG:
            groups[-1].append(item)
        else:
            groups.append([item])
    for group in groups:
        group.sort(key=lambda item: item[0])
    return groups


def _sweep_ranges(radar: Any, sweep: int, ranges: np.ndarray) -> np.ndarray:
    """Gate ranges of one sweep: the volume's, unless the reader left per-sweep ranges
    (``radar.hailops_sweep_ranges``, a list with one array per sweep or None)."""
    per_sweep = getattr(radar, "hailops_sweep_ranges", None)
    if per_sweep is not None and sweep < len(per_sweep) and per_sweep[sweep] is not None:
        return np.asarray(per_sweep[sweep], float)
    return ranges


def column_samples(
    radar: Any, field_name: str, config: DetectionConfig
) -> tuple[GridGeometry, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample every distinct elevation above every grid column.

    Returns the grid geometry, the elevations (deg, ascending), the reflectivity samples
    ``(n_elevations, n_inside)`` (NaN = no data, ``-inf`` = no echo; strong gates pooled,
    see :func:`_pool_strong_gates`), the beam-centre heights above the radar
    ``(n_elevations, n_inside)`` in m, and the composite of the nearest-gate samples before
    pooling ``(n_inside,)``.  Sweeps closer than 0.2° in elevation are one elevation and only
    the first scanned of them is used (:func:`elevation_groups`).
    """
    max_range_m = config.max_range_km * 1000.0
    geometry = grid_geometry(config.grid_resolution_m, max_range_m)
    flat = _flat_reflectivity(radar, field_name)
    sentinel = flat.size - 1
    ngates = int(radar.ngates)
    ranges = np.asarray(radar.range["data"], float)

    groups = elevation_groups(_sweep_elevations(radar))

    n_inside = geometry.inside.size
    samples = np.empty((len(groups), n_inside), dtype=np.float32)
    heights = np.empty((len(groups), n_inside), dtype=np.float64)
    elevations = np.empty(len(groups))
    group_of_ray = np.full(int(radar.nrays), -1, dtype=np.int64)
    for g, group in enumerate(groups):
        # One sweep per elevation: the first scanned (see elevation_groups); the other cuts
        # at that elevation are not used at all, neither sampled nor pooled.
        sweep, angle = group[0]
        elevations[g] = angle
        start = int(radar.sweep_start_ray_index["data"][sweep])
        end = int(radar.sweep_end_ray_index["data"][sweep])
        group_of_ray[start : end + 1] = g
        gate_index, height = _gate_lookup(_sweep_ranges(radar, sweep, ranges), geometry, angle)
        ray_table = _ray_lookup(radar.azimuth["data"][start : end + 1])
        ray = ray_table[geometry.azimuth_bin]
        index = (start + ray) * ngates + gate_index
        index[(ray < 0) | (gate_index < 0)] = sentinel
        samples[g] = flat[index]
        heights[g] = height
    if samples.shape[0]:
        nearest_composite = np.fmax.reduce(samples, axis=0)
    else:
        nearest_composite = np.full(n_inside, np.nan, dtype=np.float32)
    _pool_strong_gates(
        samples, flat, group_of_ray, elevations, radar, ranges, geometry,
        min(config.product_min_dbz, config.cell_dbz),
    )  # fmt: skip
    return geometry, elevations, samples, heights, nearest_composite


def _pool_strong_gates(
    samples: np.ndarray,
    flat: np.ndarray,
    group_of_ray: np.ndarray,
    elevations: np.ndarray,
    radar: Any,
    ranges: np.ndarray,
    geometry: GridGeometry,
    threshold_dbz: float,
) -> None:
    """Raise each column's sample to the largest echo ≥ ``threshold_dbz`` inside its pixel.

    Nearest-gate sampling alone visits only some gates where gates are denser than the grid
    (near and mid range), and can miss the peak of a small hail core; pooling every strong
    gate into the pixel that contains it, sweep by sweep, keeps those peaks.  Only gates at
    or above the threshold are moved, so the cost follows the size of the storms.
    """
    strong = np.flatnonzero(flat[:-1] >= threshold_dbz)
    if strong.size == 0 or elevations.size == 0:
        return
    ngates = ranges.size
    ray, gate = np.divmod(strong, ngates)
    group = group_of_ray[ray]
    used = group >= 0
    strong, ray, gate, group = strong[used], ray[used], gate[used], group[used]
    theta = np.radians(elevations)[group]
    slant = ranges[gate]
    if getattr(radar, "hailops_sweep_ranges", None) is not None:
        starts = np.asarray(radar.sweep_start_ray_index["data"], np.int64)
        sweep_of_ray = np.searchsorted(starts, ray, side="right") - 1
        for sweep in np.unique(sweep_of_ray):
            mine = sweep_of_ray == sweep
            slant[mine] = _sweep_ranges(radar, int(sweep), ranges)[gate[mine]]
    # Ground distance of the gate (Doviak & Zrnić eq. 2.28c, 4/3 earth).
    ground = EFFECTIVE_EARTH_RADIUS_M * np.arctan(
        slant * np.cos(theta) / (EFFECTIVE_EARTH_RADIUS_M + slant * np.sin(theta))
    )
    azimuth = np.radians(np.asarray(radar.azimuth["data"], float)[ray])
    res = geometry.resolution_m
    half = (geometry.x_m.size - 1) // 2
    ix = np.rint(ground * np.sin(azimuth) / res).astype(np.int64) + half
    iy = np.rint(ground * np.cos(azimuth) / res).astype(np.int64) + half
    n = geometry.x_m.size
    inside = (ix >= 0) & (ix < n) & (iy >= 0) & (iy < n)
    column = np.full(strong.size, -1, dtype=np.int64)
    column[inside] = geometry.inside_position[iy[inside] * n + ix[inside]]
    keep = column >= 0
    np.fmax.at(samples, (group[keep], column[keep]), flat[strong[keep]])


def compute_product_grids(
    radar: Any,
    field_name: str,
    levels: TemperatureLevels,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> ProductGrids:
    """Composite reflectivity and, with enough elevations, every vertical hail product.

    See :mod:`radar.products` for the formulas.  Heights are converted to metres above sea
    level with the radar altitude; the POSH warning threshold uses H0 above radar level.
    """
    geometry, elevations, samples, heights_arl, nearest = column_samples(radar, field_name, config)
    shape = geometry.shape
    n_cells = shape[0] * shape[1]
    alt = _radar_altitude(radar)

    if samples.shape[0]:
        composite = np.fmax.reduce(samples, axis=0)  # with strong gates pooled: the peaks
    else:
        composite = np.full(geometry.inside.size, np.nan, dtype=np.float32)
    not_covered = np.isnan(composite)  # no sweep has a gate over the column

    def to_grid(
        values: np.ndarray, fill: float = np.nan, where: np.ndarray | None = None
    ) -> np.ndarray:
        grid = np.full(n_cells, np.nan, dtype=np.float32)
        inside_values = np.full(geometry.inside.size, fill, dtype=np.float32)
        if where is None:
            inside_values[:] = values
        else:
            inside_values[where] = values
        inside_values[not_covered] = np.nan
        grid[geometry.inside] = inside_values
        return grid.reshape(shape)

    def echo_grid(values: np.ndarray) -> np.ndarray:
        grid = to_grid(values)
        grid[np.isinf(grid)] = np.nan  # no echo: NaN, like no data
        return grid

    covered = np.zeros(n_cells, dtype=bool)
    covered[geometry.inside[~not_covered]] = True
    sampling: dict[str, np.ndarray] = {}
    if samples.shape[0]:
        seen = ~np.isnan(samples)
        n_el = samples.shape[0]
        low = np.argmax(seen, axis=0)
        high = n_el - 1 - np.argmax(seen[::-1], axis=0)
        pick = np.arange(samples.shape[1])
        sampling = dict(
            lowest_beam_m=to_grid(heights_arl[low, pick] + alt),
            highest_beam_m=to_grid(heights_arl[high, pick] + alt),
            top_sample_dbz=to_grid(samples[high, pick]),
        )
    active_dbz = min(config.product_min_dbz, config.cell_dbz)
    base: dict[str, Any] = dict(
        x_m=geometry.x_m,
        y_m=geometry.x_m,
        composite_dbz=echo_grid(nearest),
        peak_dbz=echo_grid(composite),
        covered=covered.reshape(shape),
        n_elevations=int(elevations.size),
        active_dbz=active_dbz,
        **sampling,
    )
    if elevations.size < config.min_elevations:
        reason = (
            f"only {elevations.size} distinct elevation(s); vertical products need "
            f"{config.min_elevations}"
        )
        return ProductGrids(**base, unavailable_reason=reason)

    active = composite >= active_dbz
    z = samples[:, active].astype(np.float64)
    h = heights_arl[:, active] + alt
    h0, h20 = levels.h0_m, levels.h20_m

    top18 = products.echo_top(z, h, 18.0)
    top45 = products.echo_top(z, h, 45.0)
    top50 = products.echo_top(z, h, 50.0)
    vil = products.vertically_integrated_liquid(z, h, cap_dbz=config.vil_cap_dbz)
    vild = products.vil_density(vil, top18)
    shi = products.severe_hail_index(z, h, h0, h20, method=config.shi_method)
    wt = products.warning_threshold((h0 - alt) / 1000.0)
    posh = products.probability_of_severe_hail(shi, wt)
    poh = products.probability_of_hail_pct(
        products.waldvogel_delta_h_km(top45, h0), method=config.poh_method
    )
    return ProductGrids(
        **base,
        top18_m=to_grid(top18, where=active),
        top45_m=to_grid(top45, where=active),
        top50_m=to_grid(top50, where=active),
        vil_kgm2=to_grid(vil, where=active),
        vild_gm3=to_grid(vild, where=active),
        shi=to_grid(shi, 0.0, active),
        posh_pct=to_grid(posh, 0.0, active),
        mesh_mm=to_grid(products.mesh_witt(shi), 0.0, active),
        mesh75_mm=to_grid(products.mesh_mh2019_75(shi), 0.0, active),
        mesh95_mm=to_grid(products.mesh_mh2019_95(shi), 0.0, active),
        poh_pct=to_grid(poh, 0.0, active),
    )


def _radar_altitude(radar: Any) -> float:
    try:
        alt = float(np.ravel(np.ma.filled(radar.altitude["data"], np.nan))[0])
    except (IndexError, KeyError, TypeError, ValueError):
        return 0.0
    return alt if np.isfinite(alt) else 0.0
