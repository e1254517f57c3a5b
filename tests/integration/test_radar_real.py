"""Real volumes: Canberra 2018-12-20 hail (ODIM), Feldberg single sweeps (CfRadial), Py-ART's
own test files, the ``hailops radar detect`` contract, and robustness on damaged files."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from radar.cli import detect_main
from radar.detect import detect_volume
from radar.errors import DetectionError, RadarError, RadarReadError, SoundingError
from radar.io import REFLECTIVITY_CANDIDATES, read_volume, reflectivity_field
from radar.levels import levels_from_sounding, levels_from_values, read_sounding
from tests.unit.radar.radar_paths import (
    canberra_volumes,
    cinrad_files,
    essen_sounding,
    feldberg_scans,
    shared_data,
    vendored_real_files,
)

pytestmark = pytest.mark.slow

# A summer freezing level for the Canberra case (radar at 1383 m ASL).
CANBERRA_LEVELS = levels_from_values(4300.0, 7600.0, source="test")


@pytest.fixture(scope="module")
def canberra_result():
    return detect_volume(canberra_volumes()[0], CANBERRA_LEVELS)


def test_canberra_severe_hail_east_of_the_radar(canberra_result) -> None:
    result = canberra_result
    assert result.scan_time.isoformat() == "2018-12-20T06:06:30+00:00"
    assert result.radar.alt_m == pytest.approx(1383.0)
    hail = [c for c in result.cells if c.hail]
    assert hail, "the 2018-12-20 volumes hold severe hail"
    severe = [c for c in hail if c.mesh_mm is not None and c.mesh_mm >= 19.0]
    assert len(severe) >= 3
    assert all(c.centroid[0] > result.radar.lon for c in severe)
    strongest = max(result.cells, key=lambda c: c.max_dbz)
    assert strongest.max_dbz == pytest.approx(71.5, abs=0.5)
    assert strongest.top45_km is not None and strongest.top45_km > 10.0


def polar_mesh(path: Path, h0_m: float, h20_m: float, max_ground_range_m: float) -> float:
    """Independent MESH maximum on the polar volume (not using radar.products or radar.grid).

    For every ray and gate of the lowest sweep, take from each sweep the nearest ray in
    azimuth and the gate at the nearest ground distance (Py-ART's gate_x/y/z), and integrate
    W_T(H)·E(Z) over height by the trapezoidal rule.
    """
    import pyart

    radar = pyart.aux_io.read_odim_h5(str(path))
    field = radar.fields["reflectivity_horizontal"]["data"].filled(np.nan)
    gx, gy, gz = radar.gate_x["data"], radar.gate_y["data"], radar.gate_z["data"]
    alt = float(radar.altitude["data"][0])
    order = np.argsort(radar.fixed_angle["data"])
    base = radar.get_slice(int(order[0]))
    base_az = radar.azimuth["data"][base]
    base_ground = np.hypot(gx[base], gy[base])[0]
    keep = base_ground <= max_ground_range_m
    profiles, heights = [], []
    for sweep in order:
        rays = radar.get_slice(int(sweep))
        az = radar.azimuth["data"][rays]
        diff = np.abs((base_az[:, None] - az[None, :] + 180.0) % 360.0 - 180.0)
        nearest_ray = np.arange(rays.start, rays.stop)[np.argmin(diff, axis=1)]
        ground = np.hypot(gx[nearest_ray[0]], gy[nearest_ray[0]])
        gate = np.clip(np.searchsorted(ground, base_ground[keep]), 0, ground.size - 1)
        z = field[nearest_ray][:, gate]
        z[:, base_ground[keep] > ground[-1]] = np.nan
        profiles.append(z)
        heights.append(gz[nearest_ray][:, gate] + alt)
    z = np.nan_to_num(np.array(profiles), nan=-99.0)
    h = np.array(heights)
    weight_z = np.clip((z - 40.0) / 10.0, 0.0, 1.0)
    energy = 5e-6 * 10 ** (0.084 * np.minimum(z, 100.0)) * weight_z
    weight_t = np.clip((h - h0_m) / (h20_m - h0_m), 0.0, 1.0)
    f = weight_t * energy
    shi = 0.1 * np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(h, axis=0), axis=0)
    return float(2.54 * math.sqrt(shi.max()))


def test_canberra_mesh_agrees_with_an_independent_polar_computation(canberra_result) -> None:
    expected = polar_mesh(canberra_volumes()[0], 4300.0, 7600.0, 230e3)
    ours = max(c.mesh_mm for c in canberra_result.cells if c.mesh_mm is not None)
    assert 25.0 < expected < 80.0
    assert ours == pytest.approx(expected, rel=0.25)


def test_second_canberra_volume_and_sounding_levels() -> None:
    levels = levels_from_sounding(essen_sounding())
    result = detect_volume(canberra_volumes()[1], levels)
    assert result.levels.source.startswith("sounding:")
    assert any(c.hail for c in result.cells)


@pytest.mark.parametrize("path", feldberg_scans(), ids=lambda p: p.name[-22:-11])
def test_feldberg_single_sweeps_give_cells_without_hail_products(path: Path) -> None:
    result = detect_volume(path, CANBERRA_LEVELS)
    assert result.cells
    assert result.unavailable_reason and "1 distinct elevation" in result.unavailable_reason
    assert all(c.mesh_mm is None and c.unavailable_reason for c in result.cells)
    assert max(c.max_dbz for c in result.cells) >= 50.0


def pyart_test_files() -> list[Path]:
    import pyart.testing

    data = Path(pyart.testing.__file__).parent / "data"
    names = [
        "example_nexrad_archive_msg1.bz2",
        "example_nexrad_archive_msg31.bz2",
        "example_nexrad_archive_msg31_compressed.ar2v",
        "example_sigmet_ppi.sigmet",
        "example_sigmet_rhi.sigmet",
        "example_uf_ppi.uf",
        "example_cfradial_ppi.nc",
        "example_cfradial_rhi.nc",
        "example_mdv_ppi.mdv",
    ]
    return [data / n for n in names]


@pytest.mark.parametrize("path", pyart_test_files(), ids=lambda p: p.name)
def test_pyart_test_files_are_read(path: Path) -> None:
    radar = read_volume(path)
    assert radar.nsweeps >= 1 and reflectivity_field(radar)
    if "rhi" in path.name:
        with pytest.raises(DetectionError, match="no PPI sweep"):
            detect_volume(radar, CANBERRA_LEVELS)
    else:
        result = detect_volume(radar, CANBERRA_LEVELS)
        assert result.composite_dbz.ndim == 2


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = detect_main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_contract_on_canberra() -> None:
    code, out, err = run_cli(str(canberra_volumes()[0]), "--sounding", str(essen_sounding()))
    assert code == 0, err
    fc = json.loads(out)
    props = fc["properties"]
    assert fc["type"] == "FeatureCollection"
    assert set(props["radar"]) >= {"lat", "lon", "alt_m"}
    assert props["scan_time"] == "2018-12-20T06:06:30Z"
    assert props["h0_m"] == pytest.approx(3764, abs=30)
    assert props["h20_m"] == pytest.approx(6501, abs=30)
    assert props["levels_source"].startswith("sounding:")
    types = {
        "id": str, "centroid": list, "area_km2": float, "max_dbz": float, "hail": bool,
        "criteria": list,
    }  # fmt: skip
    optional = ("top45_km", "vil_kgm2", "vild_gm3", "shi", "posh_pct", "mesh_mm", "poh_pct")
    for feature in fc["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        p = feature["properties"]
        for key, kind in types.items():
            assert isinstance(p[key], kind), key
        for key in optional:
            assert p[key] is None or isinstance(p[key], (int, float)), key
    assert any(f["properties"]["hail"] for f in fc["features"])


def test_cli_without_levels_uses_the_seasonal_default(monkeypatch) -> None:
    monkeypatch.delenv("HAILOPS_SEASONAL_H0_M", raising=False)
    monkeypatch.delenv("HAILOPS_SEASONAL_H20_M", raising=False)
    code, out, _ = run_cli(str(feldberg_scans()[0]))
    assert code == 0
    props = json.loads(out)["properties"]
    assert props["levels_source"].startswith("seasonal-default")
    assert (props["h0_m"], props["h20_m"]) == (4300.0, 7600.0)
    code, out, _ = run_cli(str(feldberg_scans()[0]), "--h0", "3000", "--h20", "6000")
    assert code == 0 and json.loads(out)["properties"]["levels_source"] == "cli"


@pytest.mark.parametrize(
    "argv",
    [
        ["/nonexistent/volume.h5"],
        ["{feldberg}", "--h0", "3000"],
        ["{feldberg}", "--h0", "6000", "--h20", "3000"],
        ["{feldberg}", "--h0", "abc", "--h20", "3000"],
        ["{feldberg}", "--sounding", "/nonexistent.csv"],
        ["{sounding}"],
        [],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv: list[str]) -> None:
    argv = [a.format(feldberg=feldberg_scans()[0], sounding=essen_sounding()) for a in argv]
    code, out, err = run_cli(*argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("hailops radar detect: error:")


def damaged_variants(data: bytes) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(20181220)
    variants = [("empty", b"")]
    for fraction in (0.001, 0.05, 0.3, 0.7, 0.999):
        variants.append((f"cut{fraction}", data[: max(1, int(len(data) * fraction))]))
    for k, count in enumerate((1, 10, 200)):
        flipped = np.frombuffer(data, dtype=np.uint8).copy()
        where = rng.integers(0, flipped.size, count)
        flipped[where] ^= 0xFF
        variants.append((f"flip{k}", flipped.tobytes()))
    header = bytearray(data)
    for i in range(16, min(len(header), 2048), 61):
        header[i] ^= 0x5A
    variants.append(("header", bytes(header)))
    return variants


def real_files() -> list:
    """Vendored files, plus the unlicensed CINRAD files where ``../shared`` has them."""
    files: list = [pytest.param(p, id=p.name) for p in vendored_real_files()]
    files += [pytest.param(p, id=p.name, marks=pytest.mark.needs_shared) for p in cinrad_files()]
    if not cinrad_files():  # reported as not run (with the reason) in a fresh clone
        files.append(pytest.param(None, id="cinrad", marks=pytest.mark.needs_shared))
    return files


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", real_files())
def test_damaged_files_give_a_result_or_a_clean_error(path: Path, tmp_path: Path) -> None:
    """Issue 3: truncated and byte-flipped files never crash or hang detection."""
    if path is None:
        pytest.fail(f"HAILOPS_REQUIRE_SHARED=1 but {shared_data() / 'cinrad'} has no files")
    data = path.read_bytes()
    for name, variant in damaged_variants(data):
        damaged = tmp_path / f"{name}{''.join(path.suffixes)}"
        damaged.write_bytes(variant)
        try:
            detect_volume(damaged, CANBERRA_LEVELS)
        except RadarError as exc:
            assert str(damaged) in str(exc) and "\n" not in str(exc)
        if path.parent.name == "sounding":
            try:
                read_sounding(damaged)
            except SoundingError as exc:
                assert "\n" not in str(exc)


@pytest.mark.timeout(60)
def test_cli_on_a_damaged_file_exits_2(tmp_path: Path) -> None:
    damaged = tmp_path / "cut.pvol.h5"
    damaged.write_bytes(canberra_volumes()[0].read_bytes()[:500_000])
    code, out, err = run_cli(str(damaged))
    assert code == 2 and out == "" and str(damaged) in err and err.count("\n") == 1


def test_read_errors_name_the_file_and_reason(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a radar volume\n")
    with pytest.raises(RadarReadError) as info:
        read_volume(text)
    message = str(info.value)
    assert message.startswith(str(text)) and "not a recognised radar format" in message
    # A truncated CINRAD standard-format header: a clean one-line error naming the file.
    with pytest.raises(RadarReadError, match="cinrad|CINRAD") as info:
        cinrad = tmp_path / "Z_RADR_I_Z9351_20240615083000_O_DOR_CC_CAP.bin"
        cinrad.write_bytes(b"RSTM" + bytes(200))
        read_volume(cinrad)
    assert str(info.value).startswith(str(cinrad)) and "\n" not in str(info.value)


def test_odim_falls_back_to_xradar_when_pyart_refuses(monkeypatch) -> None:
    import pyart

    def refuse(*args, **kwargs):
        raise ValueError("unsupported ODIM variant")

    monkeypatch.setattr(pyart.aux_io, "read_odim_h5", refuse)
    radar = read_volume(canberra_volumes()[0], fields=REFLECTIVITY_CANDIDATES)
    assert isinstance(radar, pyart.core.Radar)
    assert radar.nsweeps == 14 and reflectivity_field(radar) == "DBZH"


@pytest.mark.timeout(0)  # the reader guard needs SIGALRM, which pytest-timeout would hold
def test_a_reader_that_hangs_is_stopped(monkeypatch) -> None:
    import time

    from radar import io as radar_io

    monkeypatch.setitem(radar_io._READERS, "cfradial", lambda path, fields: time.sleep(5))
    started = time.monotonic()
    with pytest.raises(RadarReadError, match="timed out"):
        read_volume(feldberg_scans()[0], timeout_s=0.3)
    assert time.monotonic() - started < 2.0


@pytest.mark.timeout(120)
def test_cli_module_runs_without_the_web_framework() -> None:
    """`python -m radar.cli detect` works in a fresh interpreter and never imports Flask."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; import radar.cli as cli; rc = cli.main(['detect', sys.argv[1]]);"
        "assert not any(m == 'flask' or m.startswith('flask_') for m in sys.modules), 'flask';"
        "sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(feldberg_scans()[0])],
        capture_output=True,
        text=True,
        timeout=110,
        env={**os.environ, "PYART_QUIET": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "FeatureCollection"
