"""Issue 14: robust input and completeness — compressed files of every format, a Sigmet or
NEXRAD volume cut short, per-sweep ODIM gate spacings, sounding height units.

Damaged copies are made at test time in ``tmp_path`` from Py-ART's own test files and the
vendored Canberra volume; nothing is downloaded."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import shutil
import struct
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from radar.cli import detect_main
from radar.detect import detect_volume, volume_to_geojson
from radar.errors import SoundingError
from radar.io import read_volume
from radar.levels import levels_from_sounding, levels_from_values

REPO = Path(__file__).resolve().parents[3]
CANBERRA = REPO / "radar" / "data" / "events" / "canberra_20181220" / "40_20181220_060630.pvol.h5"
LEVELS = levels_from_values(4300.0, 7600.0, source="test")


def pyart_file(name: str) -> Path:
    import pyart

    return Path(pyart.__file__).parent / "testing" / "data" / name


PLAIN = {
    "uf": "example_uf_ppi.uf",
    "cfradial": "example_cfradial_ppi.nc",
    "sigmet": "example_sigmet_ppi.sigmet",
    "mdv": "example_mdv_ppi.mdv",
}


@pytest.mark.parametrize("kind", sorted(PLAIN))
@pytest.mark.parametrize("compress", ["gz", "bz2"])
def test_gzip_and_bzip2_files_of_every_format_are_read(kind: str, compress: str, tmp_path: Path) -> None:
    """Finding 7: a gzip-compressed UF/CfRadial/Sigmet file was "not a recognised format"."""
    source = pyart_file(PLAIN[kind])
    packed = tmp_path / f"{source.name}.{compress}"
    opener = gzip.open if compress == "gz" else bz2.open
    with opener(packed, "wb") as out:
        out.write(source.read_bytes())
    plain = read_volume(source)
    radar = read_volume(packed)
    assert radar.nsweeps == plain.nsweeps and radar.nrays == plain.nrays
    assert radar.hailops_format == plain.hailops_format
    assert radar.hailops_incomplete is None


def test_a_gzip_compressed_odim_volume_gives_the_same_cells(tmp_path: Path) -> None:
    packed = tmp_path / "40_20181220_060630.pvol.h5.gz"
    with gzip.open(packed, "wb", compresslevel=1) as out:
        out.write(CANBERRA.read_bytes())
    a, b = detect_volume(CANBERRA, LEVELS), detect_volume(packed, LEVELS)
    assert [c.max_dbz for c in a.cells] == [c.max_dbz for c in b.cells]
    assert b.complete and b.sweeps_read == 14 and b.sweeps_expected is None


def test_a_nexrad_volume_cut_short_is_processed_as_far_as_valid_and_flagged(tmp_path: Path) -> None:
    """Finding 4: a NEXRAD volume cut to 70 % read 5 of 11 sweeps silently.  Its VCP (message
    5) says how many cuts it should hold; the partial last sweep is dropped."""
    source = pyart_file("example_nexrad_archive_msg31.bz2")
    data = source.read_bytes()
    cut = tmp_path / "cut.bz2"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    whole = read_volume(source)
    assert whole.hailops_sweeps_expected == whole.nsweeps == 16
    assert whole.hailops_incomplete is None
    radar = read_volume(cut)
    assert 0 < radar.nsweeps < 16 and radar.hailops_sweeps_expected == 16
    assert f"{radar.nsweeps} of 16 sweeps read" in radar.hailops_incomplete
    last = int(radar.sweep_end_ray_index["data"][-1]) - int(radar.sweep_start_ray_index["data"][-1])
    assert last + 1 >= 360  # the partial last sweep is gone
    result = detect_volume(radar, LEVELS)
    fc = volume_to_geojson(result)
    props = fc["properties"]
    assert props["complete"] is False
    assert props["sweeps_expected"] == 16 and props["sweeps_read"] == radar.nsweeps
    assert all("sweeps_missing" in f["properties"]["sampling"] for f in fc["features"])


def test_the_cli_writes_a_warning_line_for_an_incomplete_volume(tmp_path: Path) -> None:
    data = pyart_file("example_nexrad_archive_msg31.bz2").read_bytes()
    cut = tmp_path / "cut.bz2"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = detect_main([str(cut), "--h0", "4300", "--h20", "7600"])
    assert code == 0
    assert json.loads(out.getvalue())["properties"]["complete"] is False
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and "incomplete volume" in lines[0]
    assert "of 16 sweeps" in lines[0]
    # A complete volume: no warning at all.
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = detect_main([str(pyart_file("example_nexrad_archive_msg31.bz2")), "--h0", "4300",
                            "--h20", "7600"])
    assert code == 0 and err.getvalue() == ""
    props = json.loads(out.getvalue())["properties"]
    assert props["complete"] is True and props["sweeps_expected"] == props["sweeps_read"] == 16


#: Byte offset of ``task_scan_info.number_sweeps`` in a Sigmet raw file: record 1 (product
#: header) is 6144 bytes; the ingest header's structure header (12), ingest configuration
#: (480), then task configuration: structure header (12), scheduling (120), DSP (320),
#: calibration (320), range (160), and in the scan info mode/resolution/spare (6).
SIGMET_NUMBER_SWEEPS = 6144 + 12 + 480 + 12 + 120 + 320 + 320 + 160 + 6


def test_a_sigmet_volume_missing_sweeps_is_flagged(tmp_path: Path) -> None:
    """Finding 4: a damaged Sigmet file read 3 of 10 sweeps and exited 0 without warning.
    Here the ingest header promises 3 sweeps and the data hold 1."""
    data = bytearray(pyart_file("example_sigmet_ppi.sigmet").read_bytes())
    assert struct.unpack_from("<h", data, SIGMET_NUMBER_SWEEPS) == (1,)
    struct.pack_into("<h", data, SIGMET_NUMBER_SWEEPS, 3)
    damaged = tmp_path / "damaged.sigmet"
    damaged.write_bytes(bytes(data))
    radar = read_volume(damaged)
    assert radar.nsweeps == 1 and radar.hailops_sweeps_expected == 3
    result = detect_volume(radar, LEVELS)
    assert not result.complete and result.sweeps_read == 1 and result.sweeps_expected == 3
    assert "1 of 3 sweeps read" in result.incomplete_reason


@pytest.mark.slow
def test_an_odim_volume_with_two_gate_spacings_keeps_all_its_data(tmp_path: Path) -> None:
    """Finding 7: an ODIM volume whose two lowest sweeps have 250 m gates (the others 500 m)
    lost two thirds of their data (0 cells instead of 3).  Same echoes, halved gates: the
    same cells as the original."""
    import h5py

    copy = tmp_path / "twogates.pvol.h5"
    shutil.copy(CANBERRA, copy)
    with h5py.File(copy, "r+") as h5:
        for group in ("dataset1", "dataset2"):
            where = h5[group]["where"]
            arrays = [
                name
                for name in _dataset_names(h5[group])
                if name.endswith("data") and h5[group][name].ndim == 2
            ]
            for name in arrays:
                values = h5[group][name][()]
                attrs = dict(h5[group][name].attrs)
                del h5[group][name]
                new = h5[group].create_dataset(name, data=np.repeat(values, 2, axis=1))
                new.attrs.update(attrs)
            where.attrs["rscale"] = float(where.attrs["rscale"]) / 2
            where.attrs["nbins"] = int(where.attrs["nbins"]) * 2
    original, split = detect_volume(CANBERRA, LEVELS), detect_volume(copy, LEVELS)
    assert len(original.cells) >= 3
    # Half-gates move gate centres by 125 m, so a pixel's pooled peak may differ by a step.
    assert len(split.cells) == len(original.cells)
    assert sorted(c.verdict for c in split.cells) == sorted(c.verdict for c in original.cells)
    for a, b in zip(original.cells, split.cells, strict=True):
        assert abs(a.max_dbz - b.max_dbz) <= 1.0
    radar = read_volume(copy)
    assert np.diff(radar.hailops_sweep_ranges[0][:2])[0] == pytest.approx(250.0)
    assert np.diff(radar.hailops_sweep_ranges[5][:2])[0] == pytest.approx(500.0)


def _dataset_names(group) -> list[str]:
    import h5py

    names: list[str] = []
    group.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def _sounding(tmp_path: Path, heights: list[float]) -> Path:
    temps = [25.0, 15.0, 5.0, -5.0, -15.0, -25.0, -40.0]
    path = tmp_path / "sounding.csv"
    path.write_text("HGHT,TEMP\n" + "".join(f"{h},{t}\n" for h, t in zip(heights, temps, strict=True)))
    return path


def test_a_sounding_with_heights_in_km_is_detected_and_converted(tmp_path: Path) -> None:
    """Finding 7: heights in km were taken as metres (H0 = 3.8 m)."""
    metres = [200.0, 1700.0, 3200.0, 4700.0, 6200.0, 7700.0, 10000.0]
    a = levels_from_sounding(_sounding(tmp_path, metres))
    b = levels_from_sounding(_sounding(tmp_path, [h / 1000 for h in metres]))
    assert a.h0_m == pytest.approx(3950.0, abs=1) and b.h0_m == pytest.approx(a.h0_m)
    assert b.h20_m == pytest.approx(a.h20_m)
    assert "km" in b.source


def test_a_sounding_whose_height_unit_cannot_be_told_is_refused(tmp_path: Path) -> None:
    decametres = [20.0, 170.0, 320.0, 470.0, 620.0, 770.0, 1000.0]
    with pytest.raises(SoundingError, match="height unit"):
        levels_from_sounding(_sounding(tmp_path, decametres))


def test_radar_track_carries_verdicts_sampling_and_completeness(capsys) -> None:
    """``hailops radar track`` keeps its fields and adds, per observation, the cell's
    ``verdict`` and ``sampling`` and, per volume, the completeness fields."""
    from radar.cli_track import track_main
    from tests.unit.radar.radar_paths import feldberg_scans

    paths = [str(p) for p in feldberg_scans()[-3:]]
    assert track_main(paths) == 0
    doc = json.loads(capsys.readouterr().out)
    assert all({"complete", "sweeps_expected", "sweeps_read"} <= set(v) for v in doc["volumes"])
    assert all(v["sweeps_read"] == 1 for v in doc["volumes"])  # single-sweep scans
    cells = [c for t in doc["tracks"] for c in t["cells"]]
    assert cells and all(c["sampling"] == ["too_few_elevations"] for c in cells)
    # One sweep cannot tell hail: strong cells are "cannot tell", never "hail".
    assert all(c["verdict"] == ("cannot_tell" if c["max_dbz"] >= 45 else "no_hail") for c in cells)
    assert all(c["hail"] is False for c in cells)
