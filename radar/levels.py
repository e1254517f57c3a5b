"""Temperature levels (0 °C and −20 °C heights) from soundings, or configured seasonal values.

The hail algorithms (SHI temperature weight, POSH warning threshold, Waldvogel ΔH) need the
heights of the 0 °C and −20 °C levels.  They come from the latest sounding — the first
crossing from the ground found with :func:`metpy.calc.find_intersections` — extended by a
stated lapse rate when the sounding stops short, or from configured seasonal values when
there is no sounding.  Every :class:`~radar.model.TemperatureLevels` says which in ``source``.

Readable soundings: CSV with height and temperature columns (``HGHT``/``TEMP`` as in the
University of Wyoming tables, or ``height``/``temperature``), University of Wyoming text
listings (the ``<PRE>`` block with ``PRES HGHT TEMP ...``), and HDF5 compound tables with
``HGHT`` and ``TEMP`` fields.  Heights are metres above sea level, temperatures °C.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from radar.errors import SoundingError
from radar.model import TemperatureLevels

#: Lapse rate used above the top of a sounding that stops short (ICAO standard atmosphere).
DEFAULT_LAPSE_RATE_K_PER_KM = 6.5
#: Seasonal fallback (m ASL); the same defaults as ``HAILOPS_SEASONAL_H0_M`` / ``_H20_M``.
DEFAULT_SEASONAL_H0_M = 4300.0
DEFAULT_SEASONAL_H20_M = 7600.0

_HEIGHT_NAMES = ("HGHT", "height", "height_m", "hght", "geopotential_height", "z", "alt")
_TEMP_NAMES = ("TEMP", "temperature", "temperature_c", "temp", "t", "tdry")


@dataclass(frozen=True, eq=False)
class Sounding:
    """A temperature profile: heights (m ASL, increasing) and temperatures (°C)."""

    height_m: np.ndarray
    temperature_c: np.ndarray
    name: str = ""
    note: str = ""  # e.g. "heights in km, converted to m"


def read_sounding(path: str | Path) -> Sounding:
    """Read a sounding file (CSV, University of Wyoming text or HDF5 table).

    Raises :class:`SoundingError` with a one-line reason when the file is missing or has no
    usable height/temperature profile.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SoundingError(f"{path}: {exc.strerror or type(exc).__name__}") from None
    if not raw.strip():
        raise SoundingError(f"{path}: file is empty")
    try:
        if raw[:8] == b"\x89HDF\r\n\x1a\n":
            height, temp = _read_hdf5(path)
        else:
            text = raw.decode("utf-8", "replace")
            if re.search(r"^\s*PRES\s+HGHT\s+TEMP", text, re.MULTILINE):
                height, temp = _read_wyoming(text)
            else:
                height, temp = _read_csv(text)
    except SoundingError as exc:
        raise SoundingError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - csv, h5py and friends raise anything on bad input
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise SoundingError(f"{path}: unreadable sounding ({reason})") from None
    return _clean(height, temp, path.name, path)


def _read_hdf5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    found: list[tuple[np.ndarray, np.ndarray]] = []

    def visit(name: str, obj: object) -> None:
        if found or not isinstance(obj, h5py.Dataset) or obj.dtype.names is None:
            return
        names = obj.dtype.names
        h = next((n for n in _HEIGHT_NAMES if n in names), None)
        t = next((n for n in _TEMP_NAMES if n in names), None)
        if h and t:
            table = obj[()]
            found.append((np.asarray(table[h], float), np.asarray(table[t], float)))

    with h5py.File(path, "r") as h5:
        h5.visititems(visit)
    if not found:
        raise SoundingError("HDF5 file has no table with height and temperature fields")
    return found[0]


def _read_csv(text: str) -> tuple[np.ndarray, np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and not r[0].lstrip().startswith("#")]
    if len(rows) < 2:
        raise SoundingError("CSV has no data rows")
    header = [c.strip() for c in rows[0]]
    lower = [c.lower() for c in header]
    hi = next((lower.index(n.lower()) for n in _HEIGHT_NAMES if n.lower() in lower), None)
    ti = next((lower.index(n.lower()) for n in _TEMP_NAMES if n.lower() in lower), None)
    if hi is None or ti is None:
        raise SoundingError(f"CSV needs height and temperature columns, has {header}")
    h: list[float] = []
    t: list[float] = []
    for row in rows[1:]:
        h.append(_number(row[hi]) if hi < len(row) else np.nan)
        t.append(_number(row[ti]) if ti < len(row) else np.nan)
    return np.array(h), np.array(t)


def _read_wyoming(text: str) -> tuple[np.ndarray, np.ndarray]:
    """University of Wyoming listing: fixed 7-character columns under a dashed rule."""
    text = re.sub(r"<[^>]+>", "", text)
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(r"^\s*PRES\s+HGHT\s+TEMP", ln))
    header = lines[start].split()
    hi, ti = header.index("HGHT"), header.index("TEMP")
    h: list[float] = []
    t: list[float] = []
    for line in lines[start + 1 :]:
        if not line.strip() or set(line.strip()) == {"-"} or re.search(r"[a-zA-Z%]", line):
            if h and re.search(r"[a-zA-Z]", line):
                break  # "Station information and sounding indices" follows the table
            continue
        cells = [line[i : i + 7] for i in range(0, 7 * len(header), 7)]
        h.append(_number(cells[hi]) if hi < len(cells) else np.nan)
        t.append(_number(cells[ti]) if ti < len(cells) else np.nan)
    return np.array(h), np.array(t)


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")


def _clean(height: np.ndarray, temp: np.ndarray, name: str, where: object) -> Sounding:
    height = np.asarray(height, float)
    temp = np.asarray(temp, float)
    ok = np.isfinite(height) & np.isfinite(temp) & (temp > -120) & (temp < 60)
    height, temp = height[ok], temp[ok]
    order = np.argsort(height, kind="stable")
    height, temp = height[order], temp[order]
    keep = np.concatenate([[True], np.diff(height) > 0]) if height.size else height.astype(bool)
    height, temp = height[keep], temp[keep]
    if height.size < 2:
        raise SoundingError(f"{where}: fewer than two levels with height and temperature")
    height, note = _height_in_metres(height, temp, where)
    return Sounding(height, temp, name, note)


#: Plausible mean tropospheric lapse rates (K per km) of a whole sounding.
_LAPSE_RANGE_K_PER_KM = (1.0, 15.0)


def _height_in_metres(
    height: np.ndarray, temp: np.ndarray, where: object
) -> tuple[np.ndarray, str]:
    """Heights in metres: a profile whose heights stop below 50 is taken to be in km (and
    converted) when its mean lapse rate per unit is plausible per km; any profile whose mean
    lapse rate is implausible in the unit assumed is refused, naming it.

    The lapse rate is the least-squares slope of temperature on height over the levels
    warmer than −60 °C (the troposphere), so a surface inversion does not decide it.
    """
    low, high = _LAPSE_RANGE_K_PER_KM
    tropo = temp > -60.0
    if np.count_nonzero(tropo) < 2:
        tropo = np.ones(temp.size, dtype=bool)
    slope = (
        float(np.polyfit(height[tropo], temp[tropo], 1)[0]) if np.ptp(height[tropo]) > 0 else 0.0
    )
    if float(np.max(height)) <= 50.0:
        if low <= -slope <= high:
            return height * 1000.0, "heights in km, converted to m"
        raise SoundingError(
            f"{where}: heights stop at {np.max(height):g}: neither metres nor km "
            f"(mean lapse rate {-slope:.3g} K per unit)"
        )
    per_km = -slope * 1000.0
    if not low <= per_km <= high:
        raise SoundingError(
            f"{where}: heights do not look like metres (mean lapse rate {per_km:.3g} K/km; "
            f"expected {low:g}-{high:g}): check the height unit"
        )
    return height, ""


def level_height(
    height_m: np.ndarray,
    temperature_c: np.ndarray,
    target_c: float,
    *,
    lapse_rate_k_per_km: float = DEFAULT_LAPSE_RATE_K_PER_KM,
) -> tuple[float, str]:
    """Height (m ASL) where the temperature first falls through ``target_c`` from the ground.

    Uses :func:`metpy.calc.find_intersections` (linear in height) on the profile.  If the
    lowest level is already at or below ``target_c`` that level's height is returned.  If the
    profile never reaches ``target_c``, it is extended from its top level with the lapse rate
    ``Γ``: ``H = H_top + (T_top − target) / Γ``.  Returns the height and a note saying which.
    """
    from metpy.calc import find_intersections

    height = np.asarray(height_m, float)
    temp = np.asarray(temperature_c, float)
    if temp[0] <= target_c:
        return float(height[0]), f"{target_c:g}C at lowest level"
    x, _ = find_intersections(height, temp, np.full_like(temp, target_c), direction="decreasing")
    crossings = np.asarray(getattr(x, "magnitude", x), float)
    crossings = crossings[np.isfinite(crossings)]
    if crossings.size:
        return float(crossings.min()), ""
    if lapse_rate_k_per_km <= 0:
        raise SoundingError(f"sounding never reaches {target_c:g} C and no lapse rate is set")
    top_h, top_t = float(height[-1]), float(temp[-1])
    extended = top_h + (top_t - target_c) / lapse_rate_k_per_km * 1000.0
    note = f"{target_c:g}C extended at {lapse_rate_k_per_km:g} K/km above {top_h:.0f} m"
    return extended, note


def levels_from_profile(
    sounding: Sounding,
    *,
    lapse_rate_k_per_km: float = DEFAULT_LAPSE_RATE_K_PER_KM,
    source: str | None = None,
) -> TemperatureLevels:
    """0 °C and −20 °C heights (m ASL) of ``sounding`` (see :func:`level_height`)."""
    h0, note0 = level_height(
        sounding.height_m, sounding.temperature_c, 0.0, lapse_rate_k_per_km=lapse_rate_k_per_km
    )
    h20, note20 = level_height(
        sounding.height_m, sounding.temperature_c, -20.0, lapse_rate_k_per_km=lapse_rate_k_per_km
    )
    if h20 <= h0:
        raise SoundingError(f"-20C level ({h20:.0f} m) is not above the 0C level ({h0:.0f} m)")
    text = source or f"sounding:{sounding.name}"
    notes = "; ".join(n for n in (sounding.note, note0, note20) if n)
    return TemperatureLevels(h0_m=h0, h20_m=h20, source=f"{text} ({notes})" if notes else text)


def levels_from_sounding(
    path: str | Path, *, lapse_rate_k_per_km: float = DEFAULT_LAPSE_RATE_K_PER_KM
) -> TemperatureLevels:
    """Read a sounding file and return its levels, ``source="sounding:<file name>"``."""
    return levels_from_profile(read_sounding(path), lapse_rate_k_per_km=lapse_rate_k_per_km)


def levels_from_values(h0_m: float, h20_m: float, source: str = "cli") -> TemperatureLevels:
    """Levels given directly (operator, CLI); checks −20 °C is above 0 °C."""
    h0_m, h20_m = float(h0_m), float(h20_m)
    if not (np.isfinite(h0_m) and np.isfinite(h20_m)):
        raise SoundingError("levels must be finite numbers")
    if h20_m <= h0_m:
        raise SoundingError(f"H-20 ({h20_m:g} m) must be above H0 ({h0_m:g} m)")
    return TemperatureLevels(h0_m=h0_m, h20_m=h20_m, source=source)


def seasonal_default_levels(
    when: date | datetime | None = None,
    *,
    h0_m: float = DEFAULT_SEASONAL_H0_M,
    h20_m: float = DEFAULT_SEASONAL_H20_M,
    monthly: Mapping[int, tuple[float, float]] | None = None,
) -> TemperatureLevels:
    """Configured seasonal levels when there is no sounding.

    ``monthly`` maps a month (1–12) to ``(h0_m, h20_m)`` and wins for the month of ``when``;
    otherwise ``h0_m``/``h20_m`` are used.  ``source`` starts with ``"seasonal-default"`` so
    every product built on these levels says it had no sounding.
    """
    if monthly and when is not None and when.month in monthly:
        h0_m, h20_m = monthly[when.month]
        source = f"seasonal-default (month {when.month}, no sounding)"
    else:
        source = "seasonal-default (configured, no sounding)"
    return levels_from_values(h0_m, h20_m, source=source)
