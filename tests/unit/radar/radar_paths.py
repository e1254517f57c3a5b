"""Where the shared real data live, relative to this repository (``../shared/data``)."""

from __future__ import annotations

from pathlib import Path


def shared_data() -> Path:
    """``<repo>/../shared/data``: real radar volumes and soundings (read-only)."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def essen_sounding(suffix: str = ".csv") -> Path:
    return shared_data() / "sounding" / f"radiosonde_10410_20140610_1200{suffix}"


def canberra_volumes() -> list[Path]:
    return sorted((shared_data() / "radar" / "canberra_20181220").glob("*.pvol.h5"))


def feldberg_scans() -> list[Path]:
    return sorted((shared_data() / "radar" / "feldberg_20080602").glob("*.nc"))
