"""Composite reflectivity grids and phase-correlation motion (TINT's first guess)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import gaussian_filter

from radar.tracking.geometry import _GEOD, _cached_projection, true_motion, true_motions
from radar.tracking.model import TrackerConfig, TrackingError


@dataclass(frozen=True, eq=False)
class ReflectivityGrid:
    """A 2-D composite reflectivity field (for the phase-correlation first guess).

    ``dbz[row, col]`` in dBZ; NaN means no data.  Two georeferencings are accepted:

    * a regular lon/lat grid: ``lon_bounds`` (west, east edges), ``lat_bounds`` (south, north
      edges); row 0 is the southern edge unless ``north_up``;
    * a projected grid (the detection grid): cell-centre coordinates ``x_m`` (columns) and
      ``y_m`` (rows) in metres of an azimuthal equidistant projection centred on ``origin``
      (lon, lat), usually the radar — build it with :meth:`from_projected`.
    """

    dbz: np.ndarray
    lon_bounds: tuple[float, float] | None = None
    lat_bounds: tuple[float, float] | None = None
    north_up: bool = False
    x_m: np.ndarray | None = None
    y_m: np.ndarray | None = None
    origin: tuple[float, float] | None = None

    @classmethod
    def from_projected(
        cls, dbz: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, origin: tuple[float, float]
    ) -> ReflectivityGrid:
        x = np.asarray(x_m, float)
        y = np.asarray(y_m, float)
        if dbz.shape != (y.size, x.size):
            raise TrackingError(f"grid shape {dbz.shape} does not match axes {(y.size, x.size)}")
        return cls(dbz=dbz, x_m=x, y_m=y, origin=(float(origin[0]), float(origin[1])))

    @property
    def projected(self) -> bool:
        return self.x_m is not None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.dbz.shape[0]), int(self.dbz.shape[1]))

    def same_grid(self, other: ReflectivityGrid) -> bool:
        if self.shape != other.shape or self.projected != other.projected:
            return False
        if self.projected:
            return (
                np.allclose(self.x_m, other.x_m)  # type: ignore[arg-type]
                and np.allclose(self.y_m, other.y_m)  # type: ignore[arg-type]
                and np.allclose(self.origin, other.origin)  # type: ignore[arg-type]
            )
        return (
            np.allclose(self.lon_bounds, other.lon_bounds)  # type: ignore[arg-type]
            and np.allclose(self.lat_bounds, other.lat_bounds)  # type: ignore[arg-type]
            and self.north_up == other.north_up
        )

    def step_m(self) -> tuple[float, float]:
        """Signed metres (east, north) per +1 column and per +1 row at the grid centre."""
        if self.projected:
            assert self.x_m is not None and self.y_m is not None
            return float(self.x_m[1] - self.x_m[0]), float(self.y_m[1] - self.y_m[0])
        assert self.lon_bounds is not None and self.lat_bounds is not None
        ny, nx = self.shape
        lat_c = 0.5 * (self.lat_bounds[0] + self.lat_bounds[1])
        lon_c = 0.5 * (self.lon_bounds[0] + self.lon_bounds[1])
        dlon = (self.lon_bounds[1] - self.lon_bounds[0]) / nx
        dlat = (self.lat_bounds[1] - self.lat_bounds[0]) / ny
        _, _, dx = _GEOD.inv(lon_c, lat_c, lon_c + dlon, lat_c)
        _, _, dy = _GEOD.inv(lon_c, lat_c, lon_c, lat_c + dlat)
        return float(dx), float(-dy if self.north_up else dy)

    def index_of(self, lon: float, lat: float) -> tuple[float, float]:
        """Fractional (row, col) of a point (pixel centres at integers)."""
        if self.projected:
            assert self.x_m is not None and self.y_m is not None and self.origin is not None
            x, y = _cached_projection(*self.origin).to_xy(lon, lat)
            col = (float(x) - self.x_m[0]) / (self.x_m[1] - self.x_m[0])
            row = (float(y) - self.y_m[0]) / (self.y_m[1] - self.y_m[0])
            return float(row), float(col)
        assert self.lon_bounds is not None and self.lat_bounds is not None
        ny, nx = self.shape
        col = (lon - self.lon_bounds[0]) / (self.lon_bounds[1] - self.lon_bounds[0]) * nx - 0.5
        frac = (lat - self.lat_bounds[0]) / (self.lat_bounds[1] - self.lat_bounds[0])
        row = (1.0 - frac if self.north_up else frac) * ny - 0.5
        return row, col

    def indices_of(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`index_of` of many points: fractional (rows, cols) arrays."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if self.projected:
            assert self.x_m is not None and self.y_m is not None and self.origin is not None
            x, y = _cached_projection(*self.origin).to_xy(lon, lat)
            col = (np.asarray(x, float) - self.x_m[0]) / (self.x_m[1] - self.x_m[0])
            row = (np.asarray(y, float) - self.y_m[0]) / (self.y_m[1] - self.y_m[0])
            return row, col
        rows_cols = [self.index_of(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
        return (
            np.array([r for r, _ in rows_cols], float),
            np.array([c for _, c in rows_cols], float),
        )

    def shift_to_mps(self, drow: float, dcol: float, dt_s: float) -> tuple[float, float]:
        """Convert a pixel shift over ``dt_s`` seconds to (east, north) m/s."""
        dx, dy = self.step_m()
        return dcol * dx / dt_s, drow * dy / dt_s


# --------------------------------------------------------------------------- phase correlation


def phase_correlation_shift(
    previous: np.ndarray, current: np.ndarray, *, min_value: float | None = None
) -> tuple[float, float] | None:
    """Shift ``(drow, dcol)`` in pixels such that ``current[r, c] ≈ previous[r - drow, c - dcol]``.

    Phase correlation (Kuglin & Hines 1975; used for storm motion by TINT, Raut et al. 2021):
    the inverse FFT of the normalised cross-power spectrum
    ``F_cur · conj(F_prev) / |F_cur · conj(F_prev)|`` peaks at the displacement.  The fields
    are zero-padded to twice their size so the correlation does not wrap, the surface is
    lightly smoothed (σ = 1 px) and the peak is refined to sub-pixel precision by a parabola
    through its neighbours.  Returns ``None`` when either field is empty.
    """
    a = np.nan_to_num(np.asarray(previous, float), nan=0.0)
    b = np.nan_to_num(np.asarray(current, float), nan=0.0)
    if min_value is not None:
        a = np.where(a >= min_value, a - min_value, 0.0)
        b = np.where(b >= min_value, b - min_value, 0.0)
    if not a.any() or not b.any():
        return None
    shape = tuple(sp_fft.next_fast_len(2 * n, real=True) for n in a.shape)
    fa = sp_fft.rfft2(a, s=shape)
    fb = sp_fft.rfft2(b, s=shape)
    cross = fb * np.conj(fa)
    magnitude = np.abs(cross)
    cross /= magnitude + 1e-12 * float(magnitude.max())
    surface = gaussian_filter(sp_fft.irfft2(cross, s=shape), 1.0, mode="wrap")
    peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
    shift = []
    for axis, (p, n) in enumerate(zip(peak, surface.shape, strict=True)):
        idx_m = list(peak)
        idx_p = list(peak)
        idx_m[axis] = (p - 1) % n
        idx_p[axis] = (p + 1) % n
        ym, y0, yp = surface[tuple(idx_m)], surface[peak], surface[tuple(idx_p)]
        denom = ym - 2.0 * y0 + yp
        delta = 0.5 * (ym - yp) / denom if denom < 0 else 0.0
        s = p + float(np.clip(delta, -0.5, 0.5))
        shift.append(s - n if s > n / 2 else s)
    return shift[0], shift[1]


def _field_motion(
    prev: ReflectivityGrid,
    curr: ReflectivityGrid,
    dt_s: float,
    config: TrackerConfig,
    around: tuple[float, float] | None = None,
    radius_m: float = 0.0,
) -> tuple[float, float] | None:
    """Phase-correlation motion (east, north m/s) of the whole field or of a box around a point."""
    a, b = prev.dbz, curr.dbz
    if around is not None:
        dx, dy = (abs(d) for d in prev.step_m())
        reach = radius_m + config.max_speed_mps * dt_s
        half_r = max(config.phase_min_box_px // 2, int(math.ceil(reach / dy)))
        half_c = max(config.phase_min_box_px // 2, int(math.ceil(reach / dx)))
        row, col = prev.index_of(*around)
        r0, c0 = int(round(row)), int(round(col))
        ny, nx = prev.shape
        rs = slice(max(0, r0 - half_r), min(ny, r0 + half_r + 1))
        cs = slice(max(0, c0 - half_c), min(nx, c0 + half_c + 1))
        if rs.stop - rs.start < 4 or cs.stop - cs.start < 4:
            return None
        a, b = a[rs, cs], b[rs, cs]
        factor = 1
    else:
        # the whole-field estimate only steers new cells: a coarser grid is precise enough
        factor = max(1, math.ceil(max(prev.shape) / config.phase_global_max_px))
        a, b = a[::factor, ::factor], b[::factor, ::factor]
    shift = phase_correlation_shift(a, b, min_value=config.phase_min_dbz)
    if shift is None:
        return None
    shift = (shift[0] * factor, shift[1] * factor)
    u, v = prev.shift_to_mps(shift[0], shift[1], dt_s)
    if math.hypot(u, v) > config.max_speed_mps:
        return None
    if prev.projected and around is not None:
        # grid axes are east/north only at the grid origin: measure on the ellipsoid
        projection = _cached_projection(*prev.origin)  # type: ignore[misc]
        x, y = projection.to_xy(*around)
        u, v = true_motion(projection, float(x), float(y), u, v)
    return u, v


def _phase_correlation_shifts(
    previous: np.ndarray, current: np.ndarray, min_value: float | None
) -> list[tuple[float, float] | None]:
    """:func:`phase_correlation_shift` of a stack of equally shaped boxes (k, ny, nx) at once.

    The same arithmetic box by box (zero padding, normalised cross-power spectrum, σ = 1 px
    smoothing, parabolic sub-pixel peak), with one FFT call for the whole stack.
    """
    a = np.nan_to_num(np.asarray(previous, float), nan=0.0)
    b = np.nan_to_num(np.asarray(current, float), nan=0.0)
    if min_value is not None:
        a = np.where(a >= min_value, a - min_value, 0.0)
        b = np.where(b >= min_value, b - min_value, 0.0)
    out: list[tuple[float, float] | None] = [None] * a.shape[0]
    ok = np.flatnonzero(a.any(axis=(1, 2)) & b.any(axis=(1, 2)))
    if ok.size == 0:
        return out
    a, b = a[ok], b[ok]
    shape = tuple(sp_fft.next_fast_len(2 * n, real=True) for n in a.shape[1:])
    fa = sp_fft.rfft2(a, s=shape)
    fb = sp_fft.rfft2(b, s=shape)
    cross = fb * np.conj(fa)
    magnitude = np.abs(cross)
    cross /= magnitude + 1e-12 * magnitude.max(axis=(1, 2), keepdims=True)
    surfaces = gaussian_filter(sp_fft.irfft2(cross, s=shape), (0.0, 1.0, 1.0), mode="wrap")
    for k, surface in zip(ok.tolist(), surfaces, strict=True):
        peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
        shift = []
        for axis, (p, n) in enumerate(zip(peak, surface.shape, strict=True)):
            idx_m = list(peak)
            idx_p = list(peak)
            idx_m[axis] = (p - 1) % n
            idx_p[axis] = (p + 1) % n
            ym, y0, yp = surface[tuple(idx_m)], surface[peak], surface[tuple(idx_p)]
            denom = ym - 2.0 * y0 + yp
            delta = 0.5 * (ym - yp) / denom if denom < 0 else 0.0
            s = p + float(np.clip(delta, -0.5, 0.5))
            shift.append(s - n if s > n / 2 else s)
        out[k] = (shift[0], shift[1])
    return out


def _field_motions(
    prev: ReflectivityGrid,
    curr: ReflectivityGrid,
    dt_s: float,
    config: TrackerConfig,
    around: Sequence[tuple[float, float]],
    radii_m: Sequence[float],
) -> list[tuple[float, float] | None]:
    """:func:`_field_motion` around many points at once: boxes of equal shape are stacked
    and correlated in one FFT call, positions are projected in one call."""
    n = len(around)
    out: list[tuple[float, float] | None] = [None] * n
    if n == 0:
        return out
    dx, dy = (abs(d) for d in prev.step_m())
    ny, nx = prev.shape
    lon = np.array([p[0] for p in around], float)
    lat = np.array([p[1] for p in around], float)
    rows, cols = prev.indices_of(lon, lat)
    groups: dict[tuple[int, int], list[tuple[int, slice, slice]]] = {}
    for i in range(n):
        reach = radii_m[i] + config.max_speed_mps * dt_s
        half_r = max(config.phase_min_box_px // 2, int(math.ceil(reach / dy)))
        half_c = max(config.phase_min_box_px // 2, int(math.ceil(reach / dx)))
        r0, c0 = int(round(float(rows[i]))), int(round(float(cols[i])))
        rs = slice(max(0, r0 - half_r), min(ny, r0 + half_r + 1))
        cs = slice(max(0, c0 - half_c), min(nx, c0 + half_c + 1))
        if rs.stop - rs.start < 4 or cs.stop - cs.start < 4:
            continue
        groups.setdefault((rs.stop - rs.start, cs.stop - cs.start), []).append((i, rs, cs))
    uv = np.full((n, 2), np.nan)
    for members in groups.values():
        a = np.stack([prev.dbz[rs, cs] for _, rs, cs in members])
        b = np.stack([curr.dbz[rs, cs] for _, rs, cs in members])
        for (i, _, _), shift in zip(
            members, _phase_correlation_shifts(a, b, config.phase_min_dbz), strict=True
        ):
            if shift is None:
                continue
            u, v = prev.shift_to_mps(shift[0], shift[1], dt_s)
            if math.hypot(u, v) > config.max_speed_mps:
                continue
            uv[i] = (u, v)
    found = np.flatnonzero(~np.isnan(uv[:, 0]))
    if found.size == 0:
        return out
    if prev.projected:
        # grid axes are east/north only at the grid origin: measure on the ellipsoid
        projection = _cached_projection(*prev.origin)  # type: ignore[misc]
        x, y = projection.to_xy(lon[found], lat[found])
        uv[found] = true_motions(projection, np.column_stack([x, y]), uv[found])
    for i in found.tolist():
        out[i] = (float(uv[i, 0]), float(uv[i, 1]))
    return out
