"""CINRAD base data end to end: a real volume (Canberra 2018-12-20, ODIM) converted at test time
to the CINRAD standard format (WSR98D, written by pycwr) and to the old SA format (written here
from the format description), read back through ``radar.io.read_volume`` and run through hail
detection; results compared with the ODIM original.  No CINRAD binary is committed.

Conversion notes (what the formats cannot carry exactly):

* WSR98D: pycwr puts gate ``i`` at ``(i + 1) · resolution`` (it ignores ``StartRange``), so the
  Canberra gates (centres 1250 + 500·k m) land 250 m nearer the radar; values are exact
  (0.5 dB steps, as in the ODIM file).
* SA: 1 km reflectivity gates at 250 + 1000·j m, so every other Canberra gate is kept (at its
  true range) and the gates between are lost; SA files hold no site position, so pycwr places
  the radar at the station named in the file (Z9250, Nanjing, 138.8 m) and the temperature
  levels are shifted by the altitude difference to keep the same heights above the radar.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from radar.cinrad import cinrad_kind
from radar.detect import VolumeResult, detect_volume
from radar.errors import RadarReadError
from radar.io import REFLECTIVITY_CANDIDATES, read_volume, reflectivity_field, sniff_format
from radar.levels import levels_from_values
from tests.unit.radar.radar_paths import canberra_volumes

pytestmark = pytest.mark.slow

H0_M, H20_M = 4300.0, 7600.0  # as in test_radar_real (radar at 1383 m ASL)
CANBERRA_LEVELS = levels_from_values(H0_M, H20_M, source="test")
NANJING_ALT_M = 138.8  # pycwr's station table, Z9250


# --------------------------------------------------------------------------- conversions


def odim_radar() -> Any:
    import pyart

    return pyart.aux_io.read_odim_h5(str(canberra_volumes()[0]))


def ray_times(radar: Any) -> np.ndarray:
    import pyart

    times = pyart.util.datetimes_from_radar(
        radar, only_use_cftime_datetimes=False, only_use_python_datetimes=True
    )
    return np.array([np.datetime64(t.replace(tzinfo=None), "ns") for t in times])


def write_wsr98d(radar: Any, path: Path) -> Path:
    """Py-ART radar → pycwr ``PRD`` → WSR98D standard format (pycwr's writer)."""
    from pycwr.core.NRadar import PRD

    moments = {
        "dBZ": "reflectivity_horizontal",
        "dBT": "total_power_horizontal",
        "V": "velocity_horizontal",
    }
    rng = np.asarray(radar.range["data"], float)
    res = float(rng[1] - rng[0])
    pad = max(int(rng[0] // res) - 1, 0)  # pycwr ranges are res·(1..n): 1250 m → slot at 1000 m
    ngates = radar.ngates + pad
    fields = {}
    for moment, name in moments.items():
        data = np.full((radar.nrays, ngates), np.nan)
        data[:, pad:] = np.ma.filled(radar.fields[name]["data"].astype(float), np.nan)
        fields[moment] = data
    nsweeps = int(radar.nsweeps)
    prd = PRD(
        fields=fields,
        scan_type="ppi",
        time=ray_times(radar),
        range=res * np.arange(1, ngates + 1),
        azimuth=np.asarray(radar.azimuth["data"], float),
        elevation=np.asarray(radar.elevation["data"], float),
        latitude=float(radar.latitude["data"][0]),
        longitude=float(radar.longitude["data"][0]),
        altitude=float(radar.altitude["data"][0]),
        sweep_start_ray_index=np.asarray(radar.sweep_start_ray_index["data"]),
        sweep_end_ray_index=np.asarray(radar.sweep_end_ray_index["data"]),
        fixed_angle=np.asarray(radar.fixed_angle["data"], float),
        bins_per_sweep=np.full(nsweeps, ngates),
        nyquist_velocity=np.full(nsweeps, 26.0),  # not in the ODIM file; unused here
        frequency=2.8,  # S band; not in the ODIM file
        unambiguous_range=np.full(nsweeps, rng[-1]),
        nrays=int(radar.nrays),
        nsweeps=nsweeps,
        sitename="Canberra",
    )
    return Path(prd.to_wsr98d(str(path), site_code="Z0040", site_name="Canberra"))


# SA/SB radial record: 128-byte header, 460 reflectivity gates (1 km), 920 velocity and 920
# spectrum-width gates (250 m), 4 spare bytes = 2432 bytes.
_SA_HEADER = struct.Struct("<14sH12sI14HI5H14sH38s")
_SA_RECORD = 2432
_SA_REF_GATES, _SA_DOP_GATES = 460, 920


def sa_source_gates(radar: Any) -> tuple[np.ndarray, np.ndarray]:
    """For each SA reflectivity gate (250 + 1000·j m, pycwr's convention), the Py-ART gate at
    exactly that range, and which SA gates have one."""
    rng = np.asarray(radar.range["data"], float)
    sa_range = 250.0 + 1000.0 * np.arange(_SA_REF_GATES)
    source = np.minimum(np.searchsorted(rng, sa_range), rng.size - 1)
    return source, np.abs(rng[source] - sa_range) < 1.0


def write_sa(radar: Any, path: Path) -> Path:
    """Py-ART radar → old CINRAD SA base data (every other 500 m gate, at its true range)."""
    assert _SA_HEADER.size == 128
    dbz = np.ma.filled(radar.fields["reflectivity_horizontal"]["data"].astype(float), np.nan)
    source, usable = sa_source_gates(radar)
    times = ray_times(radar)
    epoch = np.datetime64("1969-12-31T00:00:00", "ns")
    out = bytearray()
    nsweeps = int(radar.nsweeps)
    for sweep in range(nsweeps):
        start = int(radar.sweep_start_ray_index["data"][sweep])
        end = int(radar.sweep_end_ray_index["data"][sweep])
        for iray in range(start, end + 1):
            status = 1
            if iray == start:
                status = 3 if sweep == 0 else 0
            elif iray == end:
                status = 4 if sweep == nsweeps - 1 else 2
            since = (times[iray] - epoch) // np.timedelta64(1, "ms")
            julian, msec = divmod(int(since), 86_400_000)
            header = _SA_HEADER.pack(
                b"", 1, b"", msec, julian, 3000,  # reserve, flag=1, reserve, ms, day, 300 km
                round(float(radar.azimuth["data"][iray]) * 8 * 4096 / 180) % 65536,
                iray - start + 1, status,
                round(float(radar.elevation["data"][iray]) * 8 * 4096 / 180),
                sweep + 1, 0, 0, 1000, 250, _SA_REF_GATES, _SA_DOP_GATES, 0,
                0, 100, 100 + _SA_REF_GATES, 100 + _SA_REF_GATES + _SA_DOP_GATES, 2, 11,
                b"", 2600, b"",
            )  # fmt: skip
            ref = np.zeros(_SA_REF_GATES, np.uint8)  # code 0: below threshold
            values = dbz[iray, source[usable]]
            codes = np.where(np.isfinite(values), np.rint((values + 32.0) * 2.0) + 2.0, 0.0)
            ref[usable] = np.clip(codes, 0, 255).astype(np.uint8)
            record = header + ref.tobytes() + bytes(2 * _SA_DOP_GATES + 4)
            assert len(record) == _SA_RECORD
            out += record
    path.write_bytes(bytes(out))
    return path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def odim() -> Any:
    return odim_radar()


@pytest.fixture(scope="module")
def odim_result() -> VolumeResult:
    return detect_volume(canberra_volumes()[0], CANBERRA_LEVELS)


@pytest.fixture(scope="module")
def wsr98d_path(odim: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pycwr")
    # No CINRAD hint in the name: the format must be recognised from the content.
    return write_wsr98d(odim, tmp_path_factory.mktemp("cinrad") / "canberra_060630.vol")


@pytest.fixture(scope="module")
def sa_path(odim: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pycwr")
    # The station number (9250) gives pycwr the site; no Z_RADR prefix, no .bin suffix.
    return write_sa(odim, tmp_path_factory.mktemp("cinrad") / "Z9250_20181220060630.SA")


def summary(result: VolumeResult) -> dict[str, Any]:
    strongest = max(result.cells, key=lambda c: c.max_dbz)
    mesh = [c.mesh_mm for c in result.cells if c.mesh_mm is not None]
    east_hail = [c for c in result.cells if c.hail and c.centroid[0] > result.radar.lon]
    return {
        "cells": len(result.cells),
        "hail_east": len(east_hail),
        "max_dbz": strongest.max_dbz,
        "max_mesh": max(mesh),
    }


# --------------------------------------------------------------------------- WSR98D


def test_wsr98d_is_recognised_from_its_content(wsr98d_path: Path) -> None:
    head = wsr98d_path.read_bytes()[:128]
    assert head[:4] == b"RSTM"
    assert cinrad_kind(head, wsr98d_path.stat().st_size) == "WSR98D"
    assert sniff_format(wsr98d_path) == "cinrad"


def test_wsr98d_reads_back_as_the_odim_volume(wsr98d_path: Path, odim: Any) -> None:
    import pyart

    radar = read_volume(wsr98d_path)
    assert isinstance(radar, pyart.core.Radar)
    assert reflectivity_field(radar) == "reflectivity"
    assert {"total_power", "velocity"} <= set(radar.fields)
    assert radar.nsweeps == odim.nsweeps and radar.nrays == odim.nrays
    np.testing.assert_allclose(radar.fixed_angle["data"], odim.fixed_angle["data"], atol=0.01)
    np.testing.assert_allclose(radar.azimuth["data"], odim.azimuth["data"], atol=0.01)
    assert float(radar.latitude["data"][0]) == pytest.approx(-35.661, abs=1e-4)
    assert float(radar.longitude["data"][0]) == pytest.approx(149.512, abs=1e-4)
    assert float(radar.altitude["data"][0]) == pytest.approx(1383.0)
    assert radar.time["units"] == odim.time["units"]

    # Gate i of the ODIM volume is gate i + 1 here, 250 m nearer the radar; values exact.
    ours = radar.fields["reflectivity"]["data"][:, 1 : 1 + odim.ngates]
    theirs = odim.fields["reflectivity_horizontal"]["data"]
    np.testing.assert_allclose(
        radar.range["data"][1 : 1 + odim.ngates], odim.range["data"] - 250.0, atol=0.01
    )
    assert np.array_equal(np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs))
    assert float(np.ma.max(np.ma.abs(ours - theirs))) <= 0.25
    assert float(ours.max()) == pytest.approx(float(theirs.max())) == pytest.approx(71.5)


def test_wsr98d_reflectivity_only_read(wsr98d_path: Path) -> None:
    radar = read_volume(wsr98d_path, fields=REFLECTIVITY_CANDIDATES)
    assert "velocity" not in radar.fields
    assert reflectivity_field(radar) == "reflectivity"


def test_compressed_wsr98d_reads(wsr98d_path: Path, tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "canberra_060630.vol.gz"
    packed.write_bytes(gzip.compress(wsr98d_path.read_bytes(), compresslevel=1))
    assert sniff_format(packed) == "cinrad"
    radar = read_volume(packed, fields=REFLECTIVITY_CANDIDATES)
    assert radar.nsweeps == 14 and float(radar.fields["reflectivity"]["data"].max()) == 71.5


def test_wsr98d_read_is_lossless_but_for_the_range_convention(
    wsr98d_path: Path, odim_result: VolumeResult
) -> None:
    """Undo the 250 m range shift of the conversion and detection gives the ODIM result."""
    radar = read_volume(wsr98d_path, fields=REFLECTIVITY_CANDIDATES)
    radar.range["data"] = radar.range["data"] + 250.0
    assert summary(detect_volume(radar, CANBERRA_LEVELS)) == summary(odim_result)


def test_wsr98d_hail_cells_agree_with_the_odim_original(
    wsr98d_path: Path, odim_result: VolumeResult
) -> None:
    result = detect_volume(wsr98d_path, CANBERRA_LEVELS)
    ours, theirs = summary(result), summary(odim_result)
    print(f"\nWSR98D {ours}\nODIM   {theirs}")
    assert result.scan_time == odim_result.scan_time
    assert result.radar.lat == pytest.approx(odim_result.radar.lat, abs=1e-4)
    assert result.radar.lon == pytest.approx(odim_result.radar.lon, abs=1e-4)
    assert ours["max_dbz"] == pytest.approx(theirs["max_dbz"], abs=0.5)
    assert ours["max_mesh"] == pytest.approx(theirs["max_mesh"], rel=0.15)
    assert abs(ours["cells"] - theirs["cells"]) <= 2
    assert ours["hail_east"] >= 3 and abs(ours["hail_east"] - theirs["hail_east"]) <= 2


# --------------------------------------------------------------------------- SA


def test_sa_is_recognised_from_its_record_layout(sa_path: Path) -> None:
    data = sa_path.read_bytes()
    assert cinrad_kind(data[:128], len(data)) == "SAB"
    assert sniff_format(sa_path) == "cinrad"
    # A byte short, the layout no longer fits and the name gives no CINRAD hint either.
    cut = sa_path.with_name("Z9250_cut.SA")
    cut.write_bytes(data[:-1])
    with pytest.raises(RadarReadError, match="not a recognised radar format"):
        read_volume(cut)


def test_sa_hail_cells_agree_with_the_odim_original(
    sa_path: Path, odim: Any, odim_result: VolumeResult
) -> None:
    radar = read_volume(sa_path, fields=REFLECTIVITY_CANDIDATES)
    assert reflectivity_field(radar) == "reflectivity" and radar.nsweeps == 14
    assert float(radar.altitude["data"][0]) == pytest.approx(NANJING_ALT_M)
    # Same heights above the radar as the ODIM run.
    shift = NANJING_ALT_M - 1383.0
    result = detect_volume(sa_path, levels_from_values(H0_M + shift, H20_M + shift, "test"))
    ours, theirs = summary(result), summary(odim_result)
    print(f"\nSA   {ours}\nODIM {theirs}")
    assert result.scan_time == odim_result.scan_time
    # Half the gates are gone (1 km instead of 500 m): the 71.5 dBZ peak is on a dropped gate.
    source, usable = sa_source_gates(odim)
    kept = odim.fields["reflectivity_horizontal"]["data"][:, source[usable]]
    assert ours["max_dbz"] == pytest.approx(float(kept.max()), abs=0.25)
    assert float(np.ma.max(radar.fields["reflectivity"]["data"])) == pytest.approx(kept.max())
    assert ours["max_mesh"] == pytest.approx(theirs["max_mesh"], rel=0.2)
    assert abs(ours["cells"] - theirs["cells"]) <= 3
    assert ours["hail_east"] >= 3


def test_sa_without_a_station_in_the_name_is_refused(sa_path: Path, tmp_path: Path) -> None:
    nameless = tmp_path / "volume.bin"
    nameless.write_bytes(sa_path.read_bytes()[: 50 * _SA_RECORD])
    with pytest.raises(RadarReadError) as info:
        read_volume(nameless)
    message = str(info.value)
    assert message.startswith(str(nameless)) and "\n" not in message
    assert "no known CINRAD station number" in message


# --------------------------------------------------------------------------- failures


def test_damaged_cinrad_files_give_one_line_errors(wsr98d_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("pycwr")
    data = wsr98d_path.read_bytes()
    cases = {
        "header_only.vol": data[:200],
        "cut.vol": data[: len(data) // 3],
        "garbage.vol": b"RSTM" + bytes(range(256)) * 40,
        "Z_RADR_I_Z9999_20240615083000_O_DOR_XX_CAP.bin": b"\x07" * 5000,
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(RadarReadError) as info:
            read_volume(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and "\n" not in message, message


def test_missing_pycwr_gives_the_install_hint(monkeypatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "pycwr" or m.startswith("pycwr.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pycwr", None)  # import pycwr → ImportError
    path = tmp_path / "Z_RADR_I_Z9351_20240615083000_O_DOR_CC_CAP.bin"
    path.write_bytes(b"RSTM" + bytes(200))
    with pytest.raises(RadarReadError, match=r"CINRAD support needs pycwr \(make install"):
        read_volume(path)


def test_radar_io_imports_without_pycwr(tmp_path: Path) -> None:
    """``import radar.io`` never imports pycwr, and works where it is not installed."""
    rstm = tmp_path / "x.vol"
    rstm.write_bytes(b"RSTM" + bytes(200))
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "pycwr" or name.startswith("pycwr."):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import radar.io
assert not any(m.startswith("pycwr") for m in sys.modules)
assert radar.io.sniff_format({str(rstm)!r}) == "cinrad"
try:
    radar.io.read_volume({str(rstm)!r})
except radar.io.RadarReadError as exc:
    print(exc)
"""
    env = dict(os.environ, PYART_QUIET="1")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"{rstm}: CINRAD support needs pycwr")


def test_other_formats_are_not_taken_for_cinrad() -> None:
    for path in canberra_volumes():
        assert sniff_format(path) == "odim"
    assert cinrad_kind(b"\x00" * 128, 2432 * 10) is None  # no radial flag
    assert cinrad_kind(b"\x00" * 14 + b"\x01\x00" + b"\x00" * 112, 2432 * 10 + 1) is None
    assert cinrad_kind(b"RSTM" + b"\x00" * 4 + b"\x10\x00\x00\x00" + b"\x00" * 116, None) == "PA"
