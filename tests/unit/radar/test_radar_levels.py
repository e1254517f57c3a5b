"""Temperature levels from soundings (MetPy), lapse-rate extension and seasonal fallback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from radar.errors import SoundingError
from radar.levels import (
    Sounding,
    levels_from_profile,
    levels_from_sounding,
    levels_from_values,
    read_sounding,
    seasonal_default_levels,
)
from tests.unit.radar.radar_paths import essen_sounding


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_essen_sounding_levels(suffix: str) -> None:
    """DOMAIN.md: the Essen sounding gives H0 ≈ 3764 m and H-20 ≈ 6501 m ASL."""
    levels = levels_from_sounding(essen_sounding(suffix))
    assert levels.h0_m == pytest.approx(3764, abs=30)
    assert levels.h20_m == pytest.approx(6501, abs=30)
    assert levels.source == f"sounding:radiosonde_10410_20140610_1200{suffix}"


def wyoming_text(sounding: Sounding) -> str:
    head = (
        "<HTML><BODY><H2>10410 Essen Observations at 12Z 10 Jun 2014</H2>\n<PRE>\n"
        + "-" * 77
        + "\n"
        + "   PRES   HGHT   TEMP   DWPT   RELH   MIXR   DRCT   SKNT   THTA   THTE   THTV\n"
        + "    hPa     m      C      C      %    g/kg    deg   knot     K      K      K \n"
        + "-" * 77
        + "\n"
    )
    rows = "".join(
        f"{1000 - i:7.1f}{h:7.0f}{t:7.1f}{'':7}{'':7}{'':7}{'':7}{'':7}{'':7}{'':7}{'':7}\n"
        for i, (h, t) in enumerate(zip(sounding.height_m, sounding.temperature_c, strict=True))
    )
    return head + rows + "</PRE><H3>Station information and sounding indices</H3><PRE>\n"


def test_wyoming_text_gives_the_same_levels(tmp_path: Path) -> None:
    profile = read_sounding(essen_sounding())
    path = tmp_path / "10410.txt"
    path.write_text(wyoming_text(profile))
    assert levels_from_sounding(path).h0_m == pytest.approx(3764, abs=30)
    assert levels_from_sounding(path).h20_m == pytest.approx(6501, abs=30)


def test_sounding_stopping_short_is_extended_with_the_stated_lapse_rate() -> None:
    full = read_sounding(essen_sounding())
    keep = full.height_m < 5000
    short = Sounding(full.height_m[keep], full.temperature_c[keep], "short")
    top_h, top_t = short.height_m[-1], short.temperature_c[-1]
    levels = levels_from_profile(short, lapse_rate_k_per_km=6.5)
    assert levels.h0_m == pytest.approx(3764, abs=30)
    assert levels.h20_m == pytest.approx(top_h + (top_t + 20) / 6.5 * 1000)
    assert "extended at 6.5 K/km" in levels.source
    steeper = levels_from_profile(short, lapse_rate_k_per_km=8.0)
    assert steeper.h20_m < levels.h20_m


def test_cold_surface_puts_the_freezing_level_at_the_lowest_level() -> None:
    profile = Sounding(np.array([500.0, 1500.0, 3000.0]), np.array([-2.0, -8.0, -21.0]))
    levels = levels_from_profile(profile)
    assert levels.h0_m == 500.0
    assert 1500 < levels.h20_m < 3000


def test_seasonal_fallback_says_so() -> None:
    levels = seasonal_default_levels()
    assert (levels.h0_m, levels.h20_m) == (4300.0, 7600.0)
    assert levels.source.startswith("seasonal-default")
    july = seasonal_default_levels(date(2025, 7, 1), monthly={7: (4800.0, 8000.0)})
    assert (july.h0_m, july.h20_m) == (4800.0, 8000.0)
    assert "month 7" in july.source


def test_bad_levels_and_bad_soundings(tmp_path: Path) -> None:
    with pytest.raises(SoundingError):
        levels_from_values(5000, 4000)
    with pytest.raises(SoundingError, match="no such file|No such file"):
        read_sounding(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SoundingError, match="height and temperature"):
        read_sounding(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SoundingError, match="empty"):
        read_sounding(empty)
