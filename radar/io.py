"""Read any supported radar volume into a Py-ART ``Radar`` — the one module that talks to readers.

Formats are recognised from the first bytes of the file (and, for HDF5, from its root
attributes), then exactly one reader is called:

==================  ====================================  ==========================================
format              recognised by                         reader
==================  ====================================  ==========================================
NEXRAD Level II     ``AR2V`` / ``ARCHIVE2.`` (also bz2)   ``pyart.io.read_nexrad_archive``
ODIM HDF5           HDF5 with ``Conventions=ODIM_H5*``    ``pyart.aux_io.read_odim_h5``; if Py-ART
                    or ``what``/``dataset1`` groups       refuses the variant: xradar
                                                          ``open_odim_datatree`` → Py-ART
GAMIC HDF5          HDF5 with ``how`` + ``scan0``         ``pyart.aux_io.read_gamic``
CfRadial            netCDF 3 (``CDF``) or netCDF 4        ``pyart.io.read_cfradial``
                    (HDF5 that is not ODIM/GAMIC)         (``read_nexrad_cdm`` for NEXRAD CDM)
Sigmet / IRIS       first byte 27 (product_hdr id)        ``pyart.io.read_sigmet``
UF                  ``UF`` at byte 0, 2 or 4              ``pyart.io.read_uf``
MDV                 MDV master header signature           ``pyart.io.read_mdv``
CINRAD base data    ``RSTM`` (standard format, PA), the   ``pycwr`` (``read_auto(...)
                    SA/SB/CC/SC record layouts, or a      .to_pyart_radar()``), see
                    ``Z_RADR_*`` / ``*.bin`` name         :mod:`radar.cinrad`
==================  ====================================  ==========================================

Every failure — missing, empty, truncated, corrupt, not radar, no reflectivity — is turned
into :class:`~radar.errors.RadarReadError` with a one-line reason; no other exception type
leaves :func:`read_volume`.  A wall-clock guard (``SIGALRM``, main thread only) stops a
reader that loops on a corrupt file.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import os
import signal
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radar.cinrad import HEAD_BYTES as _CINRAD_HEAD_BYTES
from radar.cinrad import cinrad_kind, read_cinrad
from radar.errors import RadarReadError

os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner at import otherwise

log = logging.getLogger(__name__)

#: Reflectivity field names, most preferred first: quality-controlled before raw, DBZH
#: (clutter-filtered) before TH (total power).  Py-ART maps ODIM ``DBZH`` to
#: ``reflectivity_horizontal`` and ``TH`` to ``total_power_horizontal``.
REFLECTIVITY_CANDIDATES: tuple[str, ...] = (
    "corrected_reflectivity",
    "corrected_reflectivity_horizontal",
    "reflectivity",
    "reflectivity_horizontal",
    "DBZH",
    "DBZ",
    "DBZH_CLEAN",
    "dBZ",
    "Z",
    "ZH",
    "DZ",
    "REF",
    "CZ",
    "reflectivity_horizontal_filtered",
    "total_power",
    "total_power_horizontal",
    "TH",
    "T",
    "UZ",
)

DEFAULT_TIMEOUT_S = 60.0
_MAX_BYTES = 2 * 1024**3  # a volume larger than this is not something we can process in time

_HDF5 = b"\x89HDF\r\n\x1a\n"
_MDV = b"\x00\x00\x03\xf8\x00\x007>\x00\x00\x00\x01"


class _Deadline(Exception):
    """Raised inside a reader by the wall-clock guard."""


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (only possible in the main thread, via SIGALRM)."""
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        # An outer guard (a test runner's timeout, a supervisor) already owns the timer.
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def _on_alarm(signum: int, frame: Any) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def sniff_format(path: str | Path) -> str:
    """Name the format of ``path`` from its first bytes (and HDF5 root metadata).

    Returns one of ``"nexrad"``, ``"odim"``, ``"gamic"``, ``"cfradial"``, ``"nexrad_cdm"``,
    ``"sigmet"``, ``"uf"``, ``"mdv"``, ``"cinrad"``; raises :class:`RadarReadError` otherwise.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_CINRAD_HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise RadarReadError(path, exc.strerror or type(exc).__name__) from None
    if not head:
        raise RadarReadError(path, "file is empty")
    inner = head
    if head[:3] == b"BZh":
        inner = _peek_compressed(path, bz2.open)
    elif head[:2] == b"\x1f\x8b":
        inner = _peek_compressed(path, gzip.open)

    if inner[:4] == b"AR2V" or inner[:9] == b"ARCHIVE2.":
        return "nexrad"
    if inner[:4] == b"RSTM":  # CINRAD standard format (WSR98D) and phased array (PA)
        return "cinrad"
    if head[:8] == _HDF5:
        return _sniff_hdf5(path)
    if head[:3] == b"CDF":
        return _sniff_netcdf(path)
    if head[:12] == _MDV:
        return "mdv"
    if b"UF" in (head[0:2], head[2:4], head[4:6]):
        return "uf"
    if head[:2] == b"\x1b\x00":
        return "sigmet"
    # Old CINRAD SA/SB/CC/SC base data: record layout and size (pycwr's rules); compressed
    # files only by their text markers, their uncompressed size being unknown here.
    if cinrad_kind(inner, size if inner is head else None):
        return "cinrad"
    name = path.name.upper()
    if name.startswith("Z_RADR") or name.endswith((".BIN", ".BIN.BZ2")):
        return "cinrad"
    if inner is not head:
        raise RadarReadError(path, "compressed file holds no recognised radar format")
    raise RadarReadError(path, f"not a recognised radar format (first bytes {head[:8]!r})")


def _peek_compressed(path: Path, opener: Any) -> bytes:
    try:
        with opener(path, "rb") as fh:
            data: bytes = fh.read(_CINRAD_HEAD_BYTES)
            return data
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise RadarReadError(path, f"corrupt compressed file ({exc})") from None


_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".bz")


@contextlib.contextmanager
def _decompressed(path: Path) -> Iterator[tuple[Path, str | None]]:
    """The file itself, or — for a whole-file gzip/bzip2 file of any format — a decompressed
    copy in a temporary directory under the same name minus its compression suffix (CINRAD
    SA/SB readers take the station from the name).  Yields ``(path, truncated_note)``: a
    compressed stream that ends early is decompressed as far as it goes and the note says so.
    """
    with open(path, "rb") as fh:
        head = fh.read(3)
    if head[:3] == b"BZh":
        opener: Any = bz2.open
    elif head[:2] == b"\x1f\x8b":
        opener = gzip.open
    else:
        yield path, None
        return
    name = path.name
    for suffix in _COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    note = None
    with tempfile.TemporaryDirectory(prefix="hailops-radar-") as tmp:
        target = Path(tmp) / name
        written = 0
        with open(target, "wb") as out:
            try:
                with opener(path, "rb") as src:
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        if written > _MAX_BYTES:
                            raise RadarReadError(path, "decompressed file too large")
                        out.write(chunk)
            except (OSError, EOFError, ValueError, zlib.error) as exc:
                note = f"compressed stream ends early after {written} bytes ({exc})"
        if written == 0:
            raise RadarReadError(path, f"corrupt compressed file ({note})")
        yield target, note


def _sniff_hdf5(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            conventions = h5.attrs.get("Conventions", b"")
            if isinstance(conventions, bytes):
                conventions = conventions.decode("ascii", "replace")
            conventions = str(conventions)
            keys = set(h5.keys())
            if conventions.upper().startswith("ODIM") or {"what", "where", "dataset1"} <= keys:
                return "odim"
            if {"how", "scan0"} <= keys:
                return "gamic"
            if conventions.lower().startswith("cf") or "time" in keys or "sweep_number" in keys:
                return "nexrad_cdm" if "cdm_data_type" in h5.attrs else "cfradial"
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise RadarReadError(path, f"corrupt HDF5 file ({exc})") from None
    raise RadarReadError(path, "HDF5 file is neither ODIM, GAMIC nor CfRadial")


def _sniff_netcdf(path: Path) -> str:
    import netCDF4

    try:
        with netCDF4.Dataset(path) as ds:
            return "nexrad_cdm" if "cdm_data_type" in ds.ncattrs() else "cfradial"
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise RadarReadError(path, f"corrupt netCDF file ({exc})") from None


def read_volume(
    path: str | Path,
    *,
    fields: Sequence[str] | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> Any:
    """Read one radar volume (any supported format) into a ``pyart.core.Radar``.

    Parameters
    ----------
    path
        The file.  The format is recognised from its content (see the module docstring).
    fields
        Field names to read (Py-ART names after mapping, e.g. ``reflectivity_horizontal``
        for ODIM ``DBZH``); ``None`` reads all.  Passing :data:`REFLECTIVITY_CANDIDATES`
        reads only reflectivity, which is what hail detection needs and is about 3× faster.
    timeout_s
        Wall-clock guard against a reader looping on a corrupt file (main thread only).

    Raises
    ------
    RadarReadError
        For every failure, with a one-line reason.  The returned radar is checked to have
        at least one sweep, gates, a finite site position and a reflectivity field.
    """
    path = Path(path)
    if not path.exists():
        raise RadarReadError(path, "no such file")
    if not path.is_file():
        raise RadarReadError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise RadarReadError(path, "file is empty")
    if size > _MAX_BYTES:
        raise RadarReadError(path, f"file too large ({size} bytes)")

    with _decompressed(path) as (plain, truncated):
        try:
            kind = sniff_format(plain)
        except RadarReadError as exc:  # name the file given, not the decompressed copy
            raise RadarReadError(
                path, exc.reason + (f"; {truncated}" if truncated else "")
            ) from None
        try:
            with _deadline(timeout_s), warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                radar, expected = _read_with_header(kind, plain, fields)
        except RadarReadError as exc:
            raise RadarReadError(path, exc.reason) from None
        except _Deadline:
            raise RadarReadError(path, f"reading {kind} timed out after {timeout_s:g} s") from None
        except MemoryError:
            raise RadarReadError(path, f"corrupt {kind} file (implausible sizes)") from None
        except Exception as exc:  # noqa: BLE001 - readers raise anything on corrupt input
            log.debug("reader failed on %s", path, exc_info=True)
            reason = f"cannot read as {kind}: {type(exc).__name__}: {exc}"
            if truncated:
                reason += f"; {truncated}"
            raise RadarReadError(path, reason) from None

    if fields is not None and not getattr(radar, "fields", None):
        # None of the requested names: read everything and let validation find reflectivity.
        return read_volume(path, fields=None, timeout_s=timeout_s)
    _validate(path, radar, kind)
    radar, dropped = _drop_partial_last_sweep(radar)
    notes = [n for n in (truncated, dropped) if n]
    radar.hailops_format = kind
    radar.hailops_sweeps_expected = expected
    if expected is not None and int(radar.nsweeps) < expected:
        notes.insert(0, f"{int(radar.nsweeps)} of {expected} sweeps read")
    radar.hailops_incomplete = "; ".join(notes) if notes else None
    return radar


def _read_with_header(
    kind: str, path: Path, fields: Sequence[str] | None
) -> tuple[Any, int | None]:
    """The radar, and the number of sweeps the file's own header says the volume holds
    (``None`` where the format does not say: ODIM, GAMIC, CfRadial, UF, MDV)."""
    if kind == "nexrad":
        return _read_nexrad_counting(path, fields)
    radar = _READERS[kind](path, fields)
    expected = None
    if kind == "sigmet":
        expected = _sigmet_sweeps_expected(path)
    elif kind == "cinrad":
        expected = getattr(radar, "hailops_sweeps_expected", None)
    return radar, expected


def _sigmet_sweeps_expected(path: Path) -> int | None:
    """``task_scan_info.number_sweeps`` of the Sigmet ingest header."""
    try:
        from pyart.io._sigmetfile import SigmetFile

        sigmet = SigmetFile(str(path))
        try:
            n = int(sigmet.ingest_header["task_configuration"]["task_scan_info"]["number_sweeps"])
        finally:
            sigmet.close()
    except Exception:  # noqa: BLE001 - a header we cannot read says nothing
        return None
    return n if 0 < n < 100 else None


_NEXRAD_LOCK = threading.Lock()


def _read_nexrad_counting(path: Path, fields: Sequence[str] | None) -> tuple[Any, int | None]:
    """NEXRAD Level II through Py-ART, keeping the number of cuts of its VCP (message 5)."""
    import pyart
    import pyart.io.nexrad_archive as archive

    seen: list[Any] = []
    original = archive.NEXRADLevel2File

    class _Keep(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self)

    with _NEXRAD_LOCK:
        archive.NEXRADLevel2File = _Keep
        try:
            radar = pyart.io.read_nexrad_archive(str(path), **_field_filter(fields))
        finally:
            archive.NEXRADLevel2File = original
    expected = None
    vcp = getattr(seen[0], "vcp", None) if seen else None
    if vcp is not None:
        try:
            n = int(vcp["msg5_header"]["num_cuts"])
            expected = n if 0 < n < 100 else None
        except (KeyError, TypeError, ValueError):
            expected = None
    return radar, expected


def _drop_partial_last_sweep(radar: Any) -> tuple[Any, str | None]:
    """A volume cut short ends in a partial sweep: drop it when it covers less than 90 % of
    the azimuths the other sweeps cover (sector scans stay, being alike)."""
    n = int(radar.nsweeps)
    if n < 2:
        return radar, None

    def coverage(i: int) -> float:
        start = int(radar.sweep_start_ray_index["data"][i])
        end = int(radar.sweep_end_ray_index["data"][i])
        az = np.asarray(radar.azimuth["data"][start : end + 1], float)
        az = az[np.isfinite(az)]
        return float(np.unique(np.floor(np.mod(az, 360.0))).size)

    last = coverage(n - 1)
    others = float(np.median([coverage(i) for i in range(n - 1)]))
    if others > 0 and last < 0.9 * others:
        kept = radar.extract_sweeps(list(range(n - 1)))
        for key in ("hailops_sweep_ranges",):
            if getattr(radar, key, None) is not None:
                setattr(kept, key, getattr(radar, key)[: n - 1])
        return kept, f"last sweep partial ({last:.0f} of {others:.0f} azimuth degrees), dropped"
    return radar, None


def reflectivity_field(radar: Any, candidates: Sequence[str] = REFLECTIVITY_CANDIDATES) -> str:
    """Name of the reflectivity field of ``radar``: the first of ``candidates`` present.

    Falls back to any field whose ``units`` are dBZ.  Raises :class:`KeyError` if none.
    """
    for name in candidates:
        if name in radar.fields:
            return name
    for name, field in radar.fields.items():
        if str(field.get("units", "")).strip().lower() == "dbz":
            return str(name)
    raise KeyError(f"no reflectivity field among {sorted(radar.fields)}")


def _field_filter(fields: Sequence[str] | None) -> dict[str, Any]:
    return {} if fields is None else {"include_fields": list(fields)}


def _read_nexrad(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_nexrad_archive(str(path), **_field_filter(fields))


def _read_odim(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    try:
        return pyart.aux_io.read_odim_h5(str(path), **_field_filter(fields))
    except ValueError as first:
        if "changes between sweeps" not in str(first):
            return _read_odim_fallback(path, fields, first)
        # Gate spacing or first gate differs between sweeps: keep each sweep's own ranges.
        try:
            return _read_odim_per_sweep_ranges(path, fields)
        except Exception as second:  # noqa: BLE001
            raise RadarReadError(
                path, f"cannot read ODIM with per-sweep gates: {type(second).__name__}: {second}"
            ) from None
    except Exception as first:  # noqa: BLE001 - any refusal sends us to the second reader
        return _read_odim_fallback(path, fields, first)


def _read_odim_fallback(path: Path, fields: Sequence[str] | None, first: Exception) -> Any:
    log.info("Py-ART refused ODIM file %s (%s); trying xradar", path, first)
    try:
        return _read_odim_xradar(path, fields)
    except Exception as second:  # noqa: BLE001
        raise RadarReadError(
            path,
            f"cannot read as ODIM: Py-ART: {type(first).__name__}: {first}; "
            f"xradar: {type(second).__name__}: {second}",
        ) from None


def _read_odim_xradar(path: Path, fields: Sequence[str] | None) -> Any:
    """ODIM variants Py-ART refuses: xradar's reader, then a plain Py-ART ``Radar``."""
    import pyart
    import xradar

    tree = xradar.io.open_odim_datatree(str(path))
    xr_radar = pyart.xradar.Xradar(tree)
    keep = None if fields is None else set(fields)
    out_fields = {
        name: {k: v for k, v in field.items()}
        for name, field in xr_radar.fields.items()
        if keep is None or name in keep
    }
    for field in out_fields.values():
        field["data"] = np.ma.masked_invalid(np.ma.asarray(field["data"], dtype=np.float32))
    return pyart.core.Radar(
        time=dict(xr_radar.time),
        _range=dict(xr_radar.range),
        fields=out_fields,
        metadata=dict(xr_radar.metadata),
        scan_type=str(xr_radar.scan_type),
        latitude=dict(xr_radar.latitude),
        longitude=dict(xr_radar.longitude),
        altitude=dict(xr_radar.altitude),
        sweep_number=dict(xr_radar.sweep_number),
        sweep_mode=dict(xr_radar.sweep_mode),
        fixed_angle=dict(xr_radar.fixed_angle),
        sweep_start_ray_index=dict(xr_radar.sweep_start_ray_index),
        sweep_end_ray_index=dict(xr_radar.sweep_end_ray_index),
        azimuth=dict(xr_radar.azimuth),
        elevation=dict(xr_radar.elevation),
    )


def _read_odim_per_sweep_ranges(path: Path, fields: Sequence[str] | None) -> Any:
    """An ODIM volume whose sweeps have different gate spacings or first gates.

    Py-ART refuses it and a common range axis would put every gate of the other sweeps at
    the wrong distance, so each sweep keeps its own gates: the data arrays hold sweep ``i``
    in its first ``nbins_i`` gates (masked beyond) and ``radar.hailops_sweep_ranges[i]``
    gives that sweep's gate ranges (what :mod:`radar.grid` samples by).  Read with xradar.
    """
    import pyart
    import xradar

    tree = xradar.io.open_odim_datatree(str(path))
    names = sorted((n for n in tree.children if n.startswith("sweep_")), key=lambda n: int(n[6:]))
    sweeps = [tree[n].ds for n in names]
    wanted = set(REFLECTIVITY_CANDIDATES if fields is None else fields) | set(
        REFLECTIVITY_CANDIDATES
    )
    moments = [m for m in REFLECTIVITY_CANDIDATES if all(m in ds for ds in sweeps) and m in wanted]
    if not moments:
        raise RadarReadError(path, "no reflectivity moment present in every sweep")
    max_bins = max(int(ds.sizes["range"]) for ds in sweeps)
    nrays = [int(ds.sizes["azimuth"]) for ds in sweeps]
    total = sum(nrays)
    sweep_ranges: list[np.ndarray] = []
    data = {
        m: np.ma.masked_all((total, max_bins), dtype=np.float32)  # type: ignore[no-untyped-call]
        for m in moments
    }
    azimuth = np.empty(total, np.float32)
    elevation = np.empty(total, np.float32)
    seconds = np.empty(total, np.float64)
    start_time = np.datetime64(str(tree.ds["time_coverage_start"].values).rstrip("Z"))
    starts, ends, fixed = [], [], []
    row = 0
    for ds, n in zip(sweeps, nrays, strict=True):
        r = np.asarray(ds["range"].values, np.float64)
        step = float(r[1] - r[0]) if r.size > 1 else 1000.0
        sweep_ranges.append(r[0] + step * np.arange(max_bins))
        for m in moments:
            values = np.asarray(ds[m].values, np.float32)
            data[m][row : row + n, : r.size] = np.ma.masked_invalid(values)
        azimuth[row : row + n] = ds["azimuth"].values
        elevation[row : row + n] = ds["elevation"].values
        seconds[row : row + n] = (ds["time"].values - start_time) / np.timedelta64(1, "s")
        starts.append(row)
        ends.append(row + n - 1)
        fixed.append(float(ds["sweep_fixed_angle"].values))
        row += n

    def meta(name: str, values: Any) -> dict[str, Any]:
        out: dict[str, Any] = pyart.config.get_metadata(name)
        out["data"] = np.asarray(values)
        return out

    finest = int(np.argmin([s[1] - s[0] for s in sweep_ranges]))
    time = meta("time", seconds)
    time["units"] = f"seconds since {str(start_time)[:19]}Z"
    fields_out = {}
    for m in moments:
        fields_out[m] = {"data": data[m], "units": "dBZ", "long_name": m}
    radar = pyart.core.Radar(
        time=time,
        _range=meta("range", sweep_ranges[finest].astype(np.float32)),
        fields=fields_out,
        metadata={"source": "ODIM (per-sweep gates)", "instrument_name": ""},
        scan_type="ppi",
        latitude=meta("latitude", [float(tree.ds["latitude"].values)]),
        longitude=meta("longitude", [float(tree.ds["longitude"].values)]),
        altitude=meta("altitude", [float(tree.ds["altitude"].values)]),
        sweep_number=meta("sweep_number", np.arange(len(sweeps), dtype=np.int32)),
        sweep_mode=meta("sweep_mode", np.array(["azimuth_surveillance"] * len(sweeps))),
        fixed_angle=meta("fixed_angle", np.asarray(fixed, np.float32)),
        sweep_start_ray_index=meta("sweep_start_ray_index", np.asarray(starts, np.int32)),
        sweep_end_ray_index=meta("sweep_end_ray_index", np.asarray(ends, np.int32)),
        azimuth=meta("azimuth", azimuth),
        elevation=meta("elevation", elevation),
    )
    radar.hailops_sweep_ranges = sweep_ranges
    return radar


def _read_gamic(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.aux_io.read_gamic(str(path), **_field_filter(fields))


def _read_cfradial(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_cfradial(str(path), **_field_filter(fields))


def _read_nexrad_cdm(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_nexrad_cdm(str(path), **_field_filter(fields))


def _read_sigmet(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_sigmet(str(path), **_field_filter(fields))


def _read_uf(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_uf(str(path), **_field_filter(fields))


def _read_mdv(path: Path, fields: Sequence[str] | None) -> Any:
    import pyart

    return pyart.io.read_mdv(str(path), **_field_filter(fields))


def _read_cinrad(path: Path, fields: Sequence[str] | None) -> Any:
    """CINRAD base data through ``pycwr`` (optional; imported only here, see radar.cinrad)."""
    return read_cinrad(path, fields)


def preload_readers() -> tuple[str, ...]:
    """Import the readers' libraries now instead of at the first volume.

    Py-ART is imported lazily (by the reader of each format) because importing it takes about
    2 s (it pulls in SciPy, matplotlib and netCDF4); a long-lived reading process calls this
    when it starts, so the first volume after a start is read as fast as the next one.
    Returns the names of the modules imported.
    """
    import h5py  # noqa: F401
    import netCDF4  # noqa: F401
    import pyart
    import pyart.aux_io  # noqa: F401

    return ("pyart", "pyart.aux_io", "h5py", "netCDF4")


_READERS = {
    "nexrad": _read_nexrad,
    "odim": _read_odim,
    "gamic": _read_gamic,
    "cfradial": _read_cfradial,
    "nexrad_cdm": _read_nexrad_cdm,
    "sigmet": _read_sigmet,
    "uf": _read_uf,
    "mdv": _read_mdv,
    "cinrad": _read_cinrad,
}


def _validate(path: Path, radar: Any, kind: str) -> None:
    """Reject results a reader returned from a damaged or non-radar file."""
    try:
        nsweeps, nrays, ngates = int(radar.nsweeps), int(radar.nrays), int(radar.ngates)
    except (AttributeError, TypeError, ValueError):
        raise RadarReadError(path, f"{kind} reader returned no radar volume") from None
    if nsweeps < 1 or nrays < 1 or ngates < 1:
        raise RadarReadError(path, f"volume has no data ({nsweeps} sweeps, {nrays} rays)")
    try:
        lat = float(np.ravel(radar.latitude["data"])[0])
        lon = float(np.ravel(radar.longitude["data"])[0])
        alt = np.ravel(radar.altitude["data"])
    except (IndexError, KeyError, TypeError, ValueError):
        raise RadarReadError(path, "volume has no site position") from None
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -360 <= lon <= 360):
        raise RadarReadError(path, f"implausible site position lat={lat} lon={lon}")
    if alt.size and not np.isfinite(float(alt[0])):
        raise RadarReadError(path, "site altitude is not a number")
    try:
        name = reflectivity_field(radar)
    except KeyError as exc:
        raise RadarReadError(path, str(exc.args[0])) from None
    data = radar.fields[name]["data"]
    if np.shape(data) != (nrays, ngates):
        raise RadarReadError(
            path, f"reflectivity has shape {np.shape(data)}, expected {(nrays, ngates)}"
        )
    for key in ("azimuth", "elevation"):
        if np.size(getattr(radar, key)["data"]) != nrays:
            raise RadarReadError(path, f"{key} does not match the number of rays")
    ranges = np.asarray(radar.range["data"], dtype=float)
    if ranges.size != ngates or not np.all(np.isfinite(ranges)) or np.any(np.diff(ranges) <= 0):
        raise RadarReadError(path, "gate ranges are missing or not increasing")
