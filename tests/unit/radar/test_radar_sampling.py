"""Issue 14: hail science a forecaster can trust — split cuts, sampling flags, the
three-valued verdict and the 0 °C criterion, on synthetic Py-ART volumes with hand answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radar.config import DetectionConfig
from radar.detect import detect_volume, volume_to_geojson
from radar.levels import levels_from_values
from tests.unit.radar.radar_factories import Storm, make_storm_radar

#: The WSR-88D VCP 212 elevation set (the operational set of the findings).
VCP212 = (0.5, 0.9, 1.3, 1.8, 2.4, 3.1, 4.0, 5.1, 6.4, 8.0, 10.0, 12.0, 14.0, 16.7, 19.5)
LEVELS = levels_from_values(4300.0, 7600.0)
E60 = 5e-6 * 10 ** (0.084 * 60)


def _sweep_slice(radar, sweep: int) -> slice:
    start = int(radar.sweep_start_ray_index["data"][sweep])
    end = int(radar.sweep_end_ray_index["data"][sweep])
    return slice(start, end + 1)


def test_an_echo_only_in_the_doppler_cut_makes_no_hail_cell() -> None:
    """Finding 1: a NEXRAD split cut (surveillance then Doppler at 0.5°) where only the
    Doppler cut holds a 71.5 dBZ echo (the surveillance cut has 45.5): reflectivity comes
    from the surveillance cut, never a maximum over the cuts."""
    elevations = (0.5, 0.5, 1.5, 1.5, 2.4, 3.4, 4.3, 6.0, 9.9, 14.6, 19.5)
    radar = make_storm_radar(
        [Storm(40.0, 10.0, 6.0, 45.5, top_m=5000.0)], elevations=elevations,
        max_range_m=60_000.0,
    )  # fmt: skip
    data = radar.fields["reflectivity"]["data"]
    doppler = _sweep_slice(radar, 1)
    echo = ~np.ma.getmaskarray(data[doppler])
    block = np.ma.getdata(data[doppler]).copy()
    block[echo] = 71.5
    data[doppler] = np.ma.masked_array(block, mask=~echo)
    result = detect_volume(radar, LEVELS, DetectionConfig(max_range_km=60.0))
    (cell,) = result.cells
    assert cell.max_dbz == 45.5
    assert cell.verdict == "no_hail" and cell.hail is False
    assert result.grids.n_elevations == 9
    # The rule is "first scanned": put the strong cut first and it is the one used.
    swapped = make_storm_radar(
        [Storm(40.0, 10.0, 6.0, 45.5, top_m=5000.0)], elevations=elevations,
        max_range_m=60_000.0,
    )  # fmt: skip
    swapped.fields["reflectivity"]["data"][_sweep_slice(swapped, 0)] = data[doppler]
    assert detect_volume(swapped, LEVELS, DetectionConfig(max_range_km=60.0)).cells[0].max_dbz == 71.5


def test_a_storm_over_the_radar_is_cannot_tell_in_the_cone_of_silence() -> None:
    """Finding 2: a deep 60 dBZ storm directly above the radar is not seen above 3.5 km by
    the operational elevations; it must not read as a safe 0.6 mm cell."""
    radar = make_storm_radar(
        [Storm(0.0, 0.0, 8.0, 60.0, top_m=13000.0)], elevations=VCP212, max_range_m=30_000.0
    )
    result = detect_volume(radar, LEVELS, DetectionConfig(max_range_km=30.0))
    (cell,) = result.cells
    assert "cone_of_silence" in cell.sampling
    assert cell.verdict == "cannot_tell" and cell.hail is False
    assert "cone of silence" in cell.verdict_reason
    props = volume_to_geojson(result)["features"][0]["properties"]
    assert props["verdict"] == "cannot_tell" and props["sampling"] == list(cell.sampling)
    assert props["hail"] is False


def test_the_same_storm_far_enough_away_is_seen_whole() -> None:
    radar = make_storm_radar(
        [Storm(60.0, 0.0, 6.0, 60.0, top_m=12000.0)], elevations=VCP212, max_range_m=70_000.0
    )
    (cell,) = detect_volume(radar, LEVELS, DetectionConfig(max_range_km=70.0)).cells
    assert cell.sampling == ()
    assert cell.verdict == "hail" and cell.hail is True


def test_a_distant_cell_whose_lowest_beam_is_above_the_freezing_level_is_flagged() -> None:
    """Finding 2: at 215 km the 0.5° beam is near 4.6 km; with H0 at 3.8 km only the storm's
    upper part is seen, and a weak-looking echo cannot be called safe."""
    radar = make_storm_radar(
        [Storm(215.0, 0.0, 7.0, 50.0, top_m=5200.0)], elevations=VCP212,
        max_range_m=225_000.0, gate_spacing_m=1000.0, rays_per_sweep=360,
    )  # fmt: skip
    levels = levels_from_values(3800.0, 7000.0)
    (cell,) = detect_volume(radar, levels, DetectionConfig(max_range_km=225.0)).cells
    assert "lowest_beam_above_h0" in cell.sampling
    assert cell.verdict == "cannot_tell"


def test_too_few_elevations_make_strong_cells_cannot_tell() -> None:
    """Finding 3: a three-sweep volume gives no vertical products; its 58 dBZ cell is a
    threat to review, not ``no hail``."""
    radar = make_storm_radar([Storm(-20.0, 10.0, 6.0, 58.0)], elevations=(0.5, 1.5))
    result = detect_volume(radar, LEVELS, DetectionConfig(max_range_km=80.0))
    (cell,) = result.cells
    assert cell.verdict == "cannot_tell" and cell.hail is False
    assert cell.sampling == ("too_few_elevations",)
    weak = make_storm_radar([Storm(-20.0, 10.0, 6.0, 42.0)], elevations=(0.5, 1.5))
    assert detect_volume(weak, LEVELS, DetectionConfig(max_range_km=80.0)).cells[0].verdict == "no_hail"


def test_a_storm_below_the_freezing_level_gets_no_hail_verdict() -> None:
    """Finding 5: 58 dBZ from the ground to 3.5 km under a 4.3 km 0 °C level.  VIL density
    and composite ≥ 55 dBZ fire, but no 45 dBZ echo reaches the 0 °C level."""
    radar = make_storm_radar(
        [Storm(40.0, 0.0, 7.0, 58.0, top_m=3500.0)], elevations=VCP212, max_range_m=60_000.0
    )
    (cell,) = detect_volume(radar, LEVELS, DetectionConfig(max_range_km=60.0)).cells
    assert len(cell.criteria) >= 2  # the old rule would have called it hail
    assert cell.mesh_mm < 1.0  # only the gap above the top beam in echo reaches above H0
    assert cell.verdict == "no_hail" and cell.hail is False
    assert "below the 0 C level" in cell.verdict_reason


def test_shi_does_not_extend_above_the_highest_beam() -> None:
    """Finding 7 (MESH): the vertical integral runs between beam centres.  A column whose
    highest beam is still in the 60 dBZ echo ends there; the old per-layer rule added half
    a beam spacing of echo above the highest beam."""
    from radar import products

    heights = np.array([1000.0, 3000.0, 5000.0, 7000.0, 9000.0])
    dbz = np.full(5, 60.0)
    shi = products.severe_hail_index(dbz, heights, 4300.0, 7600.0)
    hand = 0.1 * E60 * ((7600.0 - 4300.0) / 2 + (9000.0 - 7600.0))
    assert shi == pytest.approx(hand, rel=1e-9)
    assert products.mesh_witt(shi) == pytest.approx(2.54 * math.sqrt(hand))
