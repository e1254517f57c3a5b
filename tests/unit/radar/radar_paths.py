"""Where the real data the tests read live: all inside this repository.

``tests/data/`` holds the vendored test data (see its ``PROVENANCE.md``); the drill events'
volumes in ``radar/data/events/`` are used as they are.  Only the unlicensed CINRAD files are
read from outside (``../shared/data/cinrad``), by tests marked ``needs_shared``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TEST_DATA = REPO / "tests" / "data"
EVENTS = REPO / "radar" / "data" / "events"


def vendored_data() -> Path:
    """``<repo>/tests/data``: vendored radar scans and soundings (read-only)."""
    return TEST_DATA


def essen_sounding(suffix: str = ".csv") -> Path:
    return TEST_DATA / "sounding" / f"radiosonde_10410_20140610_1200{suffix}"


def canberra_volumes() -> list[Path]:
    return sorted((EVENTS / "canberra_20181220").glob("*.pvol.h5"))


def feldberg_dir() -> Path:
    return TEST_DATA / "radar" / "feldberg_20080602"


def feldberg_scans() -> list[Path]:
    return sorted(feldberg_dir().glob("*.nc"))


def khtx_volumes() -> list[Path]:
    """The KHTX drill event's Level II volumes (empty until that event is vendored)."""
    return sorted((EVENTS / "khtx_20080411").glob("KHTX*.gz"))


def vendored_real_files() -> list[Path]:
    """Every vendored real data file (radar volumes and soundings), for robustness tests."""
    files = [*canberra_volumes(), *feldberg_scans(), *khtx_volumes()]
    files += sorted(p for p in (TEST_DATA / "sounding").iterdir() if p.is_file())
    return files


def shared_data() -> Path:
    """``../shared/data`` beside the repository, or ``$HAILOPS_SHARED_DATA``: only for the
    unlicensed CINRAD files, read by ``needs_shared`` tests (never copied into the repo)."""
    override = os.environ.get("HAILOPS_SHARED_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


def cinrad_files() -> list[Path]:
    folder = shared_data() / "cinrad"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
