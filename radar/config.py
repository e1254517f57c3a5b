"""Thresholds and grid settings of hail detection: one frozen, documented object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectionConfig:
    """Every threshold of :func:`radar.detect.detect_volume`; regional values are configuration.

    ======================  =========  ============================================================
    field                   default    meaning
    ======================  =========  ============================================================
    grid_resolution_m       1000       spacing of the 2-D product grid (azimuthal equidistant
                                       around the radar)
    max_range_km            230        products and cells out to this ground range (WSR-88D HDA
                                       range; beyond it the lowest beam is too high for hail)
    cell_dbz                40         a cell is a contiguous region of composite ≥ this (TITAN)
    split_dbz               50         touching cells are split when a region holds several
                                       cores ≥ this (TITAN second threshold)
    min_area_km2            10         smallest cell kept; also smallest piece after a split
    min_core_area_km2       2          smallest core that may seed a split
    min_elevations          3          distinct elevations needed for vertical products (echo
                                       tops, VIL, SHI, MESH, POSH, POH); fewer → reflectivity
                                       cells only, hail products ``None`` with a reason
    product_min_dbz         40         vertical products are computed only in columns whose
                                       composite reaches min(this, cell_dbz); SHI/MESH/POSH are
                                       exactly 0 below 40 dBZ (W(Z) = 0)
    vil_cap_dbz             None       cap reflectivity before VIL (WSR-88D uses 56); None = no cap
    poh_method              "knmi"     "knmi" (Holleman 2001) or "meteoswiss" (cubic)
    mesh_mm                 19         criterion ``mesh>=19mm`` (severe hail, Witt 1998)
    posh_pct                50         criterion ``posh>=50%`` (POSH displayed in 10 % steps)
    waldvogel_dh_km         1.4        criterion ``top45-h0>=1.4km`` (Waldvogel et al. 1979)
    vil_kgm2                30         criterion ``vil>=30`` (Chinese regional practice)
    vild_gm3                3.5        criterion ``vild>=3.5`` (Amburn & Wolf 1997)
    composite_dbz           55         criterion ``composite>=55dBZ`` (Chinese regional practice)
    top45_km                None       criterion ``top45>=7.5km`` when set (Chinese practice,
                                       km above sea level)
    min_criteria            2          ``hail`` is true when at least this many criteria fire
                                       (and the ≥ 45 dBZ echo reaches above H0, see
                                       :func:`radar.cells.verdict_of`)
    shi_method              between_   SHI vertical integration: "between_beams" (E linear
                            beams      between beam centres) or "layers" (each sample held
                                       over half-way to its neighbours)
    read_timeout_s          60         wall-clock guard on reading one file (main thread only)
    ======================  =========  ============================================================

    A criterion set to ``None`` is switched off.
    """

    grid_resolution_m: float = 1000.0
    max_range_km: float = 230.0
    cell_dbz: float = 40.0
    split_dbz: float = 50.0
    min_area_km2: float = 10.0
    min_core_area_km2: float = 2.0
    min_elevations: int = 3
    product_min_dbz: float = 40.0
    vil_cap_dbz: float | None = None
    poh_method: str = "knmi"
    mesh_mm: float | None = 19.0
    posh_pct: float | None = 50.0
    waldvogel_dh_km: float | None = 1.4
    vil_kgm2: float | None = 30.0
    vild_gm3: float | None = 3.5
    composite_dbz: float | None = 55.0
    top45_km: float | None = None
    min_criteria: int = 2
    shi_method: str = "between_beams"
    read_timeout_s: float | None = 60.0

    def __post_init__(self) -> None:
        if self.grid_resolution_m <= 0 or self.max_range_km <= 0:
            raise ValueError("grid_resolution_m and max_range_km must be positive")
        if self.split_dbz < self.cell_dbz:
            raise ValueError("split_dbz must not be below cell_dbz")
        if self.min_elevations < 2:
            raise ValueError("vertical products need at least 2 elevations")
        if self.poh_method not in ("knmi", "meteoswiss"):
            raise ValueError("poh_method must be 'knmi' or 'meteoswiss'")
        if self.shi_method not in ("between_beams", "layers"):
            raise ValueError("shi_method must be 'between_beams' or 'layers'")
        if self.min_criteria < 1:
            raise ValueError("min_criteria must be at least 1")


#: The documented defaults (a frozen object, safe to share).
DEFAULT_CONFIG = DetectionConfig()
