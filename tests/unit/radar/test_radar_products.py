"""Hail and convection kernels against hand calculations (Witt 1998 and friends)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radar import products


def energy_by_hand(dbz: float) -> float:
    weight = 0.0 if dbz <= 40 else (1.0 if dbz >= 50 else (dbz - 40) / 10)
    return 5e-6 * 10 ** (0.084 * dbz) * weight


@pytest.mark.parametrize("dbz", [-10.0, 39.9, 40.0, 45.0, 49.0, 50.0, 60.0, 71.5])
def test_kinetic_energy_matches_witt_formula(dbz: float) -> None:
    assert products.hail_kinetic_energy(dbz) == pytest.approx(energy_by_hand(dbz), rel=1e-12)


def test_no_echo_contributes_no_energy() -> None:
    assert products.hail_kinetic_energy([np.nan, -np.inf]).tolist() == [0.0, 0.0]


def test_temperature_weight_is_piecewise_linear() -> None:
    w = products.temperature_weight([3000, 4000, 5500, 7000, 9000], 4000.0, 7000.0)
    assert w.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_integrated_temperature_weight_is_exact() -> None:
    # ∫ W_T from 3 km to 10 km with H0 = 4 km, H-20 = 7 km: (7-4)/2 + (10-7) = 4.5 km.
    integral = products.integrated_temperature_weight
    assert integral(3000.0, 10000.0, 4000.0, 7000.0) == pytest.approx(4500.0)
    assert integral(4000.0, 5500.0, 4000.0, 7000.0) == pytest.approx(375.0)


def uniform_column(bottom_m: float, top_m: float, dbz: float = 60.0):
    """Samples every 100 m at 50, 150, ... m: each represents exactly [k*100, (k+1)*100]."""
    heights = np.arange(50.0, 14000.0, 100.0)
    values = np.where((heights > bottom_m) & (heights < top_m), dbz, -np.inf)
    return values, heights


def test_shi_of_uniform_60dbz_column_equals_the_analytic_integral() -> None:
    """Issue 3: SHI = 0.1 · E(60) · ∫ W_T dH for a uniform core between known heights."""
    h0, h20, bottom, top = 4000.0, 7000.0, 2000.0, 10000.0
    dbz, heights = uniform_column(bottom, top)
    analytic = 0.1 * energy_by_hand(60.0) * ((h20 - h0) / 2 + (top - h20))
    shi = products.severe_hail_index(dbz, heights, h0, h20)
    assert shi == pytest.approx(analytic, rel=1e-9)
    assert products.mesh_witt(shi) == pytest.approx(2.54 * math.sqrt(analytic))
    assert products.mesh_mh2019_75(shi) == pytest.approx(15.096 * analytic**0.206)
    assert products.mesh_mh2019_95(shi) == pytest.approx(22.157 * analytic**0.212)


def test_shi_ignores_echo_below_the_freezing_level() -> None:
    dbz, heights = uniform_column(0.0, 3900.0, 70.0)
    assert products.severe_hail_index(dbz, heights, 4000.0, 7000.0) == 0.0


def test_shi_works_column_wise() -> None:
    a, h = uniform_column(2000.0, 10000.0)
    b, _ = uniform_column(2000.0, 6000.0)
    stacked = products.severe_hail_index(np.stack([a, b], 1), np.stack([h, h], 1), 4000.0, 7000.0)
    assert stacked[0] > stacked[1] > 0
    # The top (6000 m) lies half-way between two samples, where W_T still rises: E falling
    # linearly across that gap while W_T rises leaves a second-order difference (< 0.1 %).
    assert stacked[1] == pytest.approx(
        0.1 * energy_by_hand(60.0) * (2000.0**2 / (2 * 3000.0)), rel=1e-3
    )


def test_warning_threshold_uses_radar_level_and_floor() -> None:
    assert products.warning_threshold(3.0) == pytest.approx(57.5 * 3.0 - 121)
    assert products.warning_threshold(0.5) == 20.0  # would be negative without the floor


def test_posh_stays_high_when_freezing_level_is_below_2_1_km_asl() -> None:
    """Issue 3 pitfall: H0 = 1.8 km ASL over a 1383 m radar; a deep 60 dBZ core is severe."""
    radar_alt, h0, h20 = 1383.0, 1800.0, 4800.0
    dbz, heights = uniform_column(radar_alt, 10000.0)
    shi = products.severe_hail_index(dbz, heights, h0, h20)
    wt = products.warning_threshold((h0 - radar_alt) / 1000.0)
    assert wt == 20.0
    posh = products.probability_of_severe_hail(shi, wt)
    assert posh == pytest.approx(min(100.0, 29 * math.log(shi / 20.0) + 50))
    assert posh >= 90.0
    # The published pitfall (H0 ASL, no floor) gives a negative threshold: no valid POSH.
    assert 57.5 * h0 / 1000 - 121 < 0


def test_posh_formula_clipping_and_display_steps() -> None:
    assert products.probability_of_severe_hail(100.0, 50.0) == pytest.approx(29 * math.log(2) + 50)
    assert products.probability_of_severe_hail([0.0, 1.0, 1e9], 50.0).tolist() == [0.0, 0.0, 100.0]
    shown = products.round_posh([0.0, 4.9, 5.0, 44.0, 45.0, 99.0])
    assert shown.tolist() == [0, 0, 10, 40, 50, 100]


def test_vil_of_two_samples_by_hand() -> None:
    # Z = 50 and 40 dBZ, 1000 m apart: 3.44e-6 * ((1e5 + 1e4) / 2) ** (4/7) * 1000.
    vil = products.vertically_integrated_liquid([50.0, 40.0], [2000.0, 3000.0])
    assert vil == pytest.approx(3.44e-6 * ((1e5 + 1e4) / 2) ** (4 / 7) * 1000.0)


def test_vil_uniform_column_and_cap() -> None:
    dbz, heights = uniform_column(2000.0, 10000.0)
    inside = np.isfinite(dbz)
    vil = products.vertically_integrated_liquid(dbz[inside], heights[inside])
    assert vil == pytest.approx(
        3.44e-6 * (1e6) ** (4 / 7) * (heights[inside][-1] - heights[inside][0])
    )
    capped = products.vertically_integrated_liquid(dbz[inside], heights[inside], cap_dbz=56.0)
    assert capped == pytest.approx(vil * 10 ** ((56 - 60) / 10 * 4 / 7))


def test_vil_density() -> None:
    assert products.vil_density(40.0, 10000.0) == pytest.approx(4.0)
    assert np.isnan(products.vil_density(40.0, np.nan))


def test_echo_tops_interpolate_to_the_sample_above() -> None:
    dbz = np.array([60.0, 55.0, 44.0, 30.0])
    heights = np.array([1000.0, 3000.0, 5000.0, 7000.0])
    assert products.echo_top(dbz, heights, 45.0) == pytest.approx(3000 + 10 / 11 * 2000)
    assert products.echo_top(dbz, heights, 50.0) == pytest.approx(3000 + 5 / 11 * 2000)
    assert products.echo_top(dbz, heights, 18.0) == pytest.approx(7000.0)
    assert np.isnan(products.echo_top(dbz, heights, 65.0))


def test_echo_top_without_a_measured_value_above_uses_the_beam_height() -> None:
    dbz = np.array([55.0, 50.0, -np.inf])
    assert products.echo_top(dbz, np.array([1000.0, 2000.0, 3000.0]), 45.0) == pytest.approx(2000.0)


def test_waldvogel_and_probability_of_hail() -> None:
    dh = products.waldvogel_delta_h_km(5400.0, 4000.0)
    assert dh == pytest.approx(1.4)
    assert products.probability_of_hail_pct(dh) == pytest.approx((0.319 + 0.133 * 1.4) * 100)
    assert products.probability_of_hail_pct([-5.0, 10.0, np.nan]).tolist() == [0.0, 100.0, 0.0]
    cubic = -1.20231 + 1.00184 * 3 - 0.17018 * 9 + 0.01086 * 27
    assert products.probability_of_hail_pct(3.0, "meteoswiss") == pytest.approx(cubic * 100)
    with pytest.raises(ValueError):
        products.probability_of_hail_pct(3.0, "other")
