"""Cell identification: threshold, minimum area, splitting at the higher threshold, criteria."""

from __future__ import annotations

import numpy as np

from radar.cells import hail_criteria, label_cells
from radar.config import DetectionConfig


def cone(
    shape: tuple[int, int], centre: tuple[float, float], peak: float, slope: float
) -> np.ndarray:
    rows, cols = np.indices(shape)
    return peak - slope * np.hypot(rows - centre[0], cols - centre[1])


def two_touching_storms() -> np.ndarray:
    """Two 60 dBZ cones 10 px apart: their 40 dBZ areas touch, their 50 dBZ cores do not."""
    shape = (40, 50)
    return np.maximum(cone(shape, (20, 20), 60, 3), cone(shape, (20, 30), 60, 3))


def test_touching_cells_are_split_at_the_higher_threshold() -> None:
    labels, n = label_cells(two_touching_storms(), 1000.0, cell_dbz=40, split_dbz=50)
    assert n == 2
    # Each piece holds one of the two peaks, and the pieces together cover the 40 dBZ area.
    assert labels[20, 20] != labels[20, 30]
    assert np.count_nonzero(labels) == np.count_nonzero(two_touching_storms() >= 40)


def test_no_split_without_separate_cores() -> None:
    labels, n = label_cells(two_touching_storms(), 1000.0, cell_dbz=40, split_dbz=58)
    assert n == 1


def test_minimum_area() -> None:
    grid = np.full((30, 30), np.nan)
    grid[2:5, 2:5] = 45.0  # 9 km²
    grid[10:12, 10:15] = 45.0  # 10 km²
    labels, n = label_cells(grid, 1000.0, min_area_km2=10.0)
    assert n == 1
    assert labels[10, 10] == 1 and labels[3, 3] == 0
    # At 500 m resolution the same pixels are a quarter of the area.
    assert label_cells(grid, 500.0, min_area_km2=2.5)[1] == 1


def test_a_split_is_refused_when_a_piece_would_be_too_small() -> None:
    grid = cone((40, 40), (20, 20), 60, 2.0)
    grid[20, 31] = grid[20, 32] = 55.0  # a 2 px "core" near the edge
    grid[20, 30] = 45.0
    labels, n = label_cells(grid, 1000.0, min_area_km2=10.0, min_core_area_km2=2.0)
    assert n == 1


def test_criteria_names_and_switches() -> None:
    config = DetectionConfig()
    fired = hail_criteria(
        max_dbz=62.0, top45_km=8.0, vil_kgm2=45.0, vild_gm3=4.0, posh_pct=70.0, mesh_mm=30.0,
        h0_m=4000.0, config=config,
    )  # fmt: skip
    assert fired == (
        "mesh>=19mm", "posh>=50%", "top45-h0>=1.4km", "vil>=30", "vild>=3.5", "composite>=55dBZ",
    )  # fmt: skip
    chinese = DetectionConfig(top45_km=7.5, vil_kgm2=None)
    fired = hail_criteria(
        max_dbz=50.0, top45_km=8.0, vil_kgm2=45.0, vild_gm3=None, posh_pct=None, mesh_mm=None,
        h0_m=7000.0, config=chinese,
    )  # fmt: skip
    assert fired == ("top45>=7.5km",)
