"""Chinese CINRAD base data through ``pycwr`` — recognition and reading for :mod:`radar.io`.

Recognition (:func:`cinrad_kind`) follows ``pycwr.io.util.radar_format`` byte for byte but
needs no ``pycwr``, so a CINRAD file is named as such even where the package is missing and
the error can say what to install:

=========  ==============================================================================
WSR98D     standard format: ``RSTM`` at byte 0 (``PA`` phased array: type 16 at bytes 8-12)
SAB        old SA/SB/CB/SC2.0 base data: radial flag ``01 00`` at bytes 14-16 and a file
           size that is a whole number of 2432-, 4132- or 3132-byte radial records
CC         ``CINRAD/CC`` at byte 116, size 1024 + n·3000
SC / CD    ``CINRAD/SC`` or ``CINRAD/CD`` at byte 100, size 1024 + n·4000
=========  ==============================================================================

Reading (:func:`read_cinrad`) is ``pycwr.io.read_auto(path).to_pyart_radar(...)``: the moments
come out under Py-ART names (``dBZ`` → ``reflectivity``, ``Zc`` → ``corrected_reflectivity``,
``dBT`` → ``total_power``).  ``pycwr`` is imported only here, only when a CINRAD file is read;
it is installed with ``--no-deps`` (``make install``) because its metadata pins pandas < 3,
which the rest of the environment has outgrown — the reader itself works with pandas 3.

SA/SB files carry no site position: ``pycwr`` takes it from the station number in the file
name (``Z_RADR_I_Z9250_…``) and silently falls back to Nanjing (9250) when the name has
none.  A hail cell placed on the wrong radar is worse than no cell, so such a file is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radar.errors import RadarReadError

#: Bytes of the file head :func:`cinrad_kind` looks at.
HEAD_BYTES = 128

INSTALL_HINT = "make install, or pip install --no-deps pycwr==1.0.9"

_SAB_RECORDS = (2432, 4132, 3132)


def cinrad_kind(head: bytes, size: int | None) -> str | None:
    """The CINRAD family of a file from its first :data:`HEAD_BYTES` bytes and its size.

    ``size`` is the (uncompressed) file size, or ``None`` when unknown (compressed files): the
    size-dependent families are then only recognised by their text markers, SA/SB not at all.
    Returns ``"WSR98D"``, ``"PA"``, ``"SAB"``, ``"CC"``, ``"SC"`` or ``None``.
    """
    if head[:4] == b"RSTM":
        return "PA" if head[8:12] == b"\x10\x00\x00\x00" else "WSR98D"
    if (
        size is not None
        and head[14:16] == b"\x01\x00"
        and size >= _SAB_RECORDS[0]
        and any(size % record == 0 for record in _SAB_RECORDS)
    ):
        return "SAB"
    if head[116:125] == b"CINRAD/CC" and (size is None or (size - 1024) % 3000 == 0):
        return "CC"
    if head[100:109] in (b"CINRAD/SC", b"CINRAD/CD") and (
        size is None or (size - 1024) % 4000 == 0
    ):
        return "SC"
    return None


def station_number(name: str) -> int | None:
    """The station number ``pycwr`` reads from a file name: its first run of four digits."""
    for i in range(len(name) - 4):  # pycwr's own bounds (a name ending in the digits is skipped)
        if name[i : i + 4].isdigit():
            return int(name[i : i + 4])
    return None


def read_cinrad(path: Path, fields: Sequence[str] | None) -> Any:
    """Read CINRAD base data into a ``pyart.core.Radar`` (only ``fields``, Py-ART names, if given).

    Raises :class:`RadarReadError` when ``pycwr`` is missing, when ``pycwr`` does not recognise
    the file, or for SA/SB data whose name gives no known station (no site position); other
    reader exceptions are left to :func:`radar.io.read_volume`, which words them.
    """
    try:
        from pycwr.configure.default_config import CINRAD_field_mapping
        from pycwr.io.util import radar_format
    except ImportError as exc:
        raise RadarReadError(
            path, f"CINRAD support needs pycwr ({INSTALL_HINT}); cannot import it: {exc}"
        ) from None

    kind = radar_format(str(path))
    if kind not in ("WSR98D", "PA", "SAB", "CC", "SC"):
        raise RadarReadError(
            path,
            "not CINRAD base data pycwr can read (no RSTM header, no SA/SB/CC/SC record "
            "layout, no known station number in the name)",
        )
    if kind == "SAB":
        _require_station(path)

    raw, prd = _read_raw_and_prd(path, kind)
    names = _moments(prd, CINRAD_field_mapping, fields)
    radar = prd.to_pyart_radar(field_names=names, use_external=True, strict=True)
    _fix_gate_ranges(radar, raw, kind)
    radar.hailops_sweeps_expected = _sweeps_expected(raw, kind, int(radar.nsweeps))
    name = _station_name(raw, kind)
    if name:
        radar.metadata["instrument_name"] = name
    return radar


#: Cuts of the SA/SB volume coverage patterns (both cuts of a split elevation counted).
_SAB_VCP_CUTS = {11: 16, 21: 11, 31: 8, 32: 7}


def _read_raw_and_prd(path: Path, kind: str) -> tuple[Any, Any]:
    """pycwr's raw file object (kept for its header) and its radar object (``read_auto``'s
    own two steps, done here so the header stays at hand)."""
    import importlib

    module, base, bridge = {
        "WSR98D": ("WSR98DFile", "WSR98DBaseData", "WSR98D2NRadar"),
        "SAB": ("SABFile", "SABBaseData", "SAB2NRadar"),
        "CC": ("CCFile", "CCBaseData", "CC2NRadar"),
        "SC": ("SCFile", "SCBaseData", "SC2NRadar"),
        "PA": ("PAFile", "PABaseData", "PA2NRadar"),
    }[kind]
    mod = importlib.import_module(f"pycwr.io.{module}")
    raw = getattr(mod, base)(str(path))
    return raw, getattr(mod, bridge)(raw).ToPRD()


def first_gate_centre_m(header_start_m: float, spacing_m: float) -> float:
    """Range of the centre of the first gate.

    **Rule**: a positive first-gate range in the header (``StartRange`` of the standard
    format, ``RangeToFirstGateOfRef`` of SA/SB) is the centre of the first gate, as NEXRAD
    Level II states it and as pycwr writes it; a header value of 0 — as in the real
    Zhumadian SB and ZG170 files — or a format with no such field (CC, SC) means the first
    gate starts at the antenna, so its centre is half a gate out.
    """
    return float(header_start_m) if header_start_m > 0 else spacing_m / 2.0


def _fix_gate_ranges(radar: Any, raw: Any, kind: str) -> None:
    """Put the gates where the header says (pycwr ignores the first-gate range).

    pycwr places gate ``k`` at ``(k + 1)·d`` for the standard format and CC/SC, and SA/SB
    reflectivity (aligned onto the 250 m Doppler gates) with its first 1 km gate at 250 m.
    The whole range axis is shifted so the first reflectivity gate sits at
    :func:`first_gate_centre_m`; gate spacing is kept.
    """
    import numpy as np

    ranges = np.asarray(radar.range["data"], dtype=np.float64)
    if ranges.size < 2:
        return
    spacing = float(ranges[1] - ranges[0])
    if kind in ("WSR98D", "PA"):
        cut = raw.header["CutConfig"]
        start = float(np.ravel(cut["StartRange"])[0])
        shift = first_gate_centre_m(start, spacing) - ranges[0]
    elif kind == "SAB":
        radial = raw.radial[0]
        ref_spacing = float(radial["GateSizeOfReflectivity"])
        pycwr_first = float(radial["GateSizeOfDoppler"])  # where pycwr puts the first dBZ gate
        shift = (
            first_gate_centre_m(float(radial["RangeToFirstGateOfRef"]), ref_spacing) - pycwr_first
        )
    else:  # CC, SC: no first-gate field
        shift = first_gate_centre_m(0.0, spacing) - ranges[0]
    radar.range["data"] = (ranges + shift).astype(np.float32)
    radar.range["meters_to_center_of_first_gate"] = float(ranges[0] + shift)
    radar.hailops_range_shift_m = float(shift)


def _sweeps_expected(raw: Any, kind: str, merged: int) -> int | None:
    """Sweeps the volume should hold, counted as read here (pycwr merges each split
    elevation's reflectivity-only cut into its Doppler cut, so the header's cut count is
    reduced by the cuts merged away), or ``None`` when the header does not say."""
    raw_sweeps = int(getattr(raw, "nsweeps", merged))
    declared: int | None = None
    try:
        if kind in ("WSR98D", "PA"):
            declared = int(raw.header["TaskConfig"]["CutNumber"])
        elif kind == "SAB":
            declared = _SAB_VCP_CUTS.get(int(raw.radial[0]["VcpNumber"]))
        elif kind == "CC":
            mode = int(raw.header["ObsParam1"]["ucScanMode"])
            declared = mode - 100 if mode > 100 else None  # 1XX: volume scan of XX tilts
    except (KeyError, TypeError, ValueError, IndexError):
        declared = None
    if declared is None or declared <= 0:
        return None
    return merged + max(declared - raw_sweeps, 0)


def _station_name(raw: Any, kind: str) -> str | None:
    """Station number and name from a CC header (pycwr labels every CC file "NanJing")."""
    if kind != "CC":
        return None
    try:
        obs = raw.header["ObsParam1"]
        number = obs["cStationNumber"].split(b"\x00")[0].decode("ascii", "replace").strip()
        station = obs["cStation"].split(b"\x00")[0].decode("gbk", "replace").strip()
    except (KeyError, AttributeError, UnicodeError):
        return None
    return " ".join(p for p in (number, station) if p) or None


def _require_station(path: Path) -> None:
    from pycwr.configure.location_config import radar_info

    number = station_number(path.name)
    if number is None or number not in radar_info.index:
        raise RadarReadError(
            path,
            "SA/SB base data carry no site position and the file name has no known CINRAD "
            "station number (expected e.g. Z_RADR_I_Z9250_..._SA.bin)",
        )


def _moments(prd: Any, mapping: dict[str, str], fields: Sequence[str] | None) -> list[str] | None:
    """The CINRAD moments to export for the requested Py-ART field names (``None``: all).

    If none of the requested names is present, everything is exported and the caller's
    validation decides whether reflectivity is among it.
    """
    if fields is None:
        return None
    available = set(prd.available_fields(range_mode=None))
    by_pyart_name = {pyart_name: moment for moment, pyart_name in mapping.items()}
    wanted: list[str] = []
    for name in fields:
        moment = by_pyart_name.get(name, name)
        if moment in available and moment not in wanted:
            wanted.append(moment)
    return wanted or None
