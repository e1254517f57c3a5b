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
        from pycwr.io import read_auto
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

    prd = read_auto(str(path))
    names = _moments(prd, CINRAD_field_mapping, fields)
    return prd.to_pyart_radar(field_names=names, use_external=True, strict=True)


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
