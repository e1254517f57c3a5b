"""Hail and convection products: pure numpy kernels, one concept each.

Reflectivity is in dBZ; a gate with no echo (masked, below noise) is ``-inf`` or ``NaN`` and
contributes nothing.  Heights are metres above sea level unless a name says otherwise.
Vertical kernels take profiles stacked on ``axis=0`` (one sample per distinct elevation,
ordered bottom to top) and heights of the same shape; any trailing shape is a set of columns.

References
----------
- Witt, A., et al., 1998: An enhanced hail detection algorithm for the WSR-88D.
  *Wea. Forecasting* 13, 286–303.  (E, W(Z), W_T(H), SHI, MESH, WT, POSH)
- Murillo, E. M., and C. R. Homeyer, 2019: Severe hail fall and hailstorm detection using
  remote sensing observations.  *J. Appl. Meteor. Climatol.* 58, 947–970,
  doi:10.1175/JAMC-D-18-0247.1.  (MESH75, MESH95)
- Greene, D. R., and R. A. Clark, 1972: Vertically integrated liquid water — a new analysis
  tool.  *Mon. Wea. Rev.* 100, 548–552.  (VIL)
- Amburn, S. A., and P. L. Wolf, 1997: VIL density as a hail indicator.
  *Wea. Forecasting* 12, 473–478.  (VIL density)
- Waldvogel, A., B. Federer, and P. Grimm, 1979: Criteria for the detection of hail cells.
  *J. Appl. Meteor.* 18, 1521–1525.  (ΔH = H45 − H0)
- Holleman, I., 2001: Hail detection using single-polarization radar.  KNMI Scientific
  Report WR-2001-01.  (POH = 0.319 + 0.133 ΔH)
- Foote, G. B., et al., 2005: Hail metrics using conventional radar.  Proc. 16th Conf. on
  Planned and Inadvertent Weather Modification (MeteoSwiss cubic POH).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.floating]

#: W(Z) transition between rain and hail (Witt 1998), dBZ.
HAIL_DBZ_LOWER = 40.0
HAIL_DBZ_UPPER = 50.0


def _dbz(values: ArrayLike) -> Array:
    """dBZ as float with no-echo (NaN) mapped to ``-inf`` so that it contributes zero."""
    z = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(z), -np.inf, z)


def reflectivity_weight(
    dbz: ArrayLike, lower: float = HAIL_DBZ_LOWER, upper: float = HAIL_DBZ_UPPER
) -> Array:
    """Rain/hail weight ``W(Z)`` of Witt (1998).

    ``W = 0`` for ``Z ≤ 40``, ``(Z − 40) / 10`` for ``40 < Z < 50``, ``1`` for ``Z ≥ 50`` dBZ.
    """
    z = _dbz(dbz)
    return np.asarray(np.clip((z - lower) / (upper - lower), 0.0, 1.0), dtype=float)


def hail_kinetic_energy(dbz: ArrayLike) -> Array:
    """Hail kinetic energy flux ``E = 5e-6 · 10^(0.084 Z) · W(Z)`` in J m⁻² s⁻¹ (Witt 1998)."""
    z = _dbz(dbz)
    w = reflectivity_weight(z)
    # W = 0 wherever Z <= 40, so evaluating 10**(0.084 Z) only on a bounded Z is exact.
    return 5.0e-6 * np.power(10.0, 0.084 * np.minimum(np.maximum(z, 0.0), 100.0)) * w


def temperature_weight(height_m: ArrayLike, h0_m: float, h20_m: float) -> Array:
    """Temperature weight ``W_T(H)`` of Witt (1998).

    ``0`` for ``H ≤ H0``, ``(H − H0) / (H−20 − H0)`` between, ``1`` for ``H ≥ H−20``.
    """
    h = np.asarray(height_m, dtype=float)
    return np.asarray(np.clip((h - h0_m) / (h20_m - h0_m), 0.0, 1.0), dtype=float)


def integrated_temperature_weight(
    bottom_m: ArrayLike, top_m: ArrayLike, h0_m: float, h20_m: float
) -> Array:
    """Exact ``∫ W_T(H) dH`` (metres) from ``bottom_m`` to ``top_m``.

    With ``D = H−20 − H0`` the antiderivative is ``F(H) = 0`` below H0,
    ``(H − H0)² / (2D)`` between, ``D/2 + (H − H−20)`` above H−20.
    """
    depth = h20_m - h0_m

    def antiderivative(h: Array) -> Array:
        inside = np.clip(h, h0_m, h20_m) - h0_m
        return np.asarray(inside * inside / (2.0 * depth) + np.maximum(h - h20_m, 0.0))

    return antiderivative(np.asarray(top_m, float)) - antiderivative(np.asarray(bottom_m, float))


def layer_bounds(height_m: ArrayLike) -> tuple[Array, Array]:
    """Bottom and top of the layer each sample represents: half-way to its neighbours.

    The lowest (highest) sample's layer extends half the spacing to the next sample below
    (above) it, mirrored.  ``height_m`` has the samples on ``axis=0`` (at least two).
    """
    h = np.asarray(height_m, float)
    mid = 0.5 * (h[1:] + h[:-1])
    bottom = np.concatenate([h[:1] - (mid[:1] - h[:1]), mid], axis=0)
    top = np.concatenate([mid, h[-1:] + (h[-1:] - mid[-1:])], axis=0)
    return bottom, top


def severe_hail_index(
    dbz: ArrayLike, height_m: ArrayLike, h0_m: float, h20_m: float, method: str = "between_beams"
) -> Array:
    """Severe Hail Index ``SHI = 0.1 ∫_{H0}^{top} W_T(H) · E dH`` in J m⁻¹ s⁻¹ (Witt 1998).

    ``method="between_beams"`` (the default): ``E`` is interpolated linearly in height
    between consecutive beam-centre samples and multiplied by the exact, piecewise-linear
    ``W_T``; each interval is split at H0 and H−20 and integrated exactly, and nothing is
    added below the lowest or above the highest sample.  An echo top between two beams thus
    counts half the gap (the measured column cannot say where in the gap it ends).
    ``method="layers"``: each sample's ``E`` is held over its layer (:func:`layer_bounds`,
    half-way to the neighbours, mirrored at the ends) and ``W_T`` is integrated exactly over
    it — the top sample's layer reaches half a beam spacing above the highest echo.
    """
    energy = hail_kinetic_energy(dbz)
    h = np.asarray(height_m, float)
    if method == "layers":
        bottom, top = layer_bounds(h)
        weight = integrated_temperature_weight(bottom, top, h0_m, h20_m)
        return np.asarray(0.1 * np.sum(energy * weight, axis=0), dtype=float)
    if method != "between_beams":
        raise ValueError(f"unknown SHI method {method!r} (between_beams or layers)")
    if h.shape[0] < 2:
        return np.zeros(h.shape[1:], dtype=float)
    lo, hi = h[:-1], h[1:]
    e_lo, e_hi = energy[:-1], energy[1:]
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    lo = np.where(ok, lo, 0.0)
    hi = np.where(ok, hi, 1.0)
    span = hi - lo

    def energy_at(x: Array) -> Array:
        value: Array = e_lo + (e_hi - e_lo) * (x - lo) / span
        return value

    # Break points: the kinks of W_T inside each interval.
    p1 = np.clip(h0_m, lo, hi)
    p2 = np.clip(h20_m, lo, hi)
    total = np.zeros_like(lo)
    for a, b in ((lo, p1), (p1, p2), (p2, hi)):
        ea, eb = energy_at(a), energy_at(b)
        wa, wb = temperature_weight(a, h0_m, h20_m), temperature_weight(b, h0_m, h20_m)
        # Exact integral of the product of two linear functions over [a, b].
        total += (b - a) / 6.0 * (2 * ea * wa + ea * wb + eb * wa + 2 * eb * wb)
    total = np.where(ok, total, 0.0)
    return np.asarray(0.1 * np.sum(total, axis=0), dtype=float)


def mesh_witt(shi: ArrayLike) -> Array:
    """Maximum Expected Size of Hail ``MESH = 2.54 · SHI^0.5`` in mm (Witt 1998)."""
    return np.asarray(2.54 * np.sqrt(np.maximum(np.asarray(shi, float), 0.0)), dtype=float)


def mesh_mh2019_75(shi: ArrayLike) -> Array:
    """``MESH75 = 15.096 · SHI^0.206`` mm (Murillo & Homeyer 2019, 75th percentile fit)."""
    return np.asarray(15.096 * np.power(np.maximum(np.asarray(shi, float), 0.0), 0.206))


def mesh_mh2019_95(shi: ArrayLike) -> Array:
    """``MESH95 = 22.157 · SHI^0.212`` mm (Murillo & Homeyer 2019, 95th percentile fit)."""
    return np.asarray(22.157 * np.power(np.maximum(np.asarray(shi, float), 0.0), 0.212))


def warning_threshold(h0_above_radar_km: ArrayLike) -> Array:
    """POSH warning threshold ``WT = 57.5 · H0 − 121`` (J m⁻¹ s⁻¹), floored at 20 (Witt 1998).

    ``H0`` is the 0 °C height in km **above radar level**, not above sea level: using ASL
    heights and no floor makes POSH zero for deep 60 dBZ cores whenever H0 ≲ 2.1 km ASL.
    """
    return np.asarray(np.maximum(57.5 * np.asarray(h0_above_radar_km, float) - 121.0, 20.0))


def probability_of_severe_hail(shi: ArrayLike, warning_threshold_value: ArrayLike) -> Array:
    """``POSH = 29 · ln(SHI / WT) + 50`` in %, clipped to 0–100 (Witt 1998); SHI = 0 gives 0."""
    shi = np.asarray(shi, float)
    wt = np.asarray(warning_threshold_value, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        posh = 29.0 * np.log(shi / wt) + 50.0
    return np.clip(np.where(shi > 0, posh, 0.0), 0.0, 100.0)


def round_posh(posh_pct: ArrayLike) -> Array:
    """POSH as displayed: to the nearest 10 % (halves round up)."""
    return np.floor(np.asarray(posh_pct, float) / 10.0 + 0.5) * 10.0


def vertically_integrated_liquid(
    dbz: ArrayLike, height_m: ArrayLike, cap_dbz: float | None = None
) -> Array:
    """VIL in kg m⁻² (Greene & Clark 1972).

    ``VIL = Σ 3.44e-6 · ((Z_i + Z_{i+1}) / 2)^(4/7) · Δh`` over consecutive samples, with Z
    linear (mm⁶ m⁻³) and Δh in m.  ``cap_dbz`` optionally caps reflectivity first (the
    WSR-88D caps at 56 dBZ to limit hail contamination; the default is no cap).
    """
    z = _dbz(dbz)
    if cap_dbz is not None:
        z = np.minimum(z, cap_dbz)
    linear = np.power(10.0, z / 10.0)
    h = np.asarray(height_m, float)
    mean = 0.5 * (linear[1:] + linear[:-1])
    return np.asarray(
        np.sum(3.44e-6 * np.power(mean, 4.0 / 7.0) * np.abs(np.diff(h, axis=0)), axis=0)
    )


def vil_density(vil_kgm2: ArrayLike, echo_top_m: ArrayLike) -> Array:
    """VIL density ``= VIL / echo top × 1000`` in g m⁻³ (Amburn & Wolf 1997).

    ``echo_top_m`` is the 18 dBZ echo top in m (as the WSR-88D echo-top product, above sea
    level).  NaN where there is no echo top.
    """
    top = np.asarray(echo_top_m, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top > 0, np.asarray(vil_kgm2, float) / top * 1000.0, np.nan)


def echo_top(dbz: ArrayLike, height_m: ArrayLike, threshold_dbz: float) -> Array:
    """Height (m) of the highest echo ≥ ``threshold_dbz``; NaN where there is none.

    The highest sample at or above the threshold is found; if the sample above it holds a
    measured value below the threshold, the top is interpolated linearly in dBZ between the
    two (Lakshmanan et al. 2013), otherwise the sample's own height is used.
    """
    z = _dbz(dbz)
    h = np.asarray(height_m, float)
    n = z.shape[0]
    above = z >= threshold_dbz
    any_above = above.any(axis=0)
    # Index of the highest sample at or above the threshold.
    k = n - 1 - np.argmax(above[::-1], axis=0)
    k_next = np.minimum(k + 1, n - 1)
    z_k = np.take_along_axis(z, k[None], axis=0)[0]
    h_k = np.take_along_axis(h, k[None], axis=0)[0]
    z_n = np.take_along_axis(z, k_next[None], axis=0)[0]
    h_n = np.take_along_axis(h, k_next[None], axis=0)[0]
    can_interpolate = (k_next > k) & np.isfinite(z_n) & (z_n < threshold_dbz)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(can_interpolate, (z_k - threshold_dbz) / (z_k - z_n), 0.0)
    top = h_k + np.clip(frac, 0.0, 1.0) * (h_n - h_k)
    return np.where(any_above, top, np.nan)


def waldvogel_delta_h_km(top45_m: ArrayLike, h0_m: float) -> Array:
    """Waldvogel ``ΔH = H45 − H0`` in km (both heights above sea level, in m)."""
    return (np.asarray(top45_m, float) - h0_m) / 1000.0


def probability_of_hail_pct(delta_h_km: ArrayLike, method: str = "knmi") -> Array:
    """Probability of hail (%) from the Waldvogel ``ΔH`` (km); NaN ΔH (no 45 dBZ echo) → 0.

    ``method="knmi"``: ``POH = 0.319 + 0.133 ΔH`` (Holleman 2001, C band).
    ``method="meteoswiss"``: ``−1.20231 + 1.00184 ΔH − 0.17018 ΔH² + 0.01086 ΔH³``
    (Foote et al. 2005).  Both clipped to [0, 1] and returned in percent.
    """
    dh = np.asarray(delta_h_km, float)
    if method == "knmi":
        poh = 0.319 + 0.133 * dh
    elif method == "meteoswiss":
        poh = -1.20231 + 1.00184 * dh - 0.17018 * dh**2 + 0.01086 * dh**3
    else:
        raise ValueError(f"unknown POH method {method!r} (knmi or meteoswiss)")
    return np.where(np.isfinite(dh), np.clip(poh, 0.0, 1.0) * 100.0, 0.0)
