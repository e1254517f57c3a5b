"""Tracking for hundreds of cells (issue 16): the indexed, vectorised and lazy paths give the
same answers as the straightforward algorithm they replace (kept in ``bench/reference``).

Timing is measured by ``bench/bench_tracking.py``, not here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from scipy.optimize import linear_sum_assignment

from bench import bench_tracking as scene
from bench.reference import nowcast_v1, tracking_v1
from radar import nowcast, tracking
from radar.tracking.update import _components

T0 = datetime(2024, 6, 20, 9, 0, tzinfo=UTC)


def _run(track_mod, now_mod, volumes, hail_every=1, fields=True):
    tracker = track_mod.Tracker()
    for k, positions in enumerate(volumes):
        t = T0 + timedelta(seconds=scene.SCAN_S * k)
        field = scene.build_field(positions, track_mod.ReflectivityGrid) if fields else None
        state = tracker.update(scene.build_cells(positions, t, hail_every), t, field=field)
    return state, now_mod.nowcast_tracks(state.tracks)


@pytest.fixture(scope="module")
def crowded():
    """120 cells over four volumes, with fields: the current and the reference results."""
    volumes = scene.scenario(120, 4)
    return _run(tracking, nowcast, volumes, 3), _run(tracking_v1, nowcast_v1, volumes, 3)


def test_crowded_tracks_and_nowcasts_match_the_reference(crowded) -> None:
    """Issue 16: k-d tree candidates, batched phase correlation and fits change no result."""
    (state, nowcasts), (ref_state, ref_nowcasts) = crowded
    assert [t.id for t in state.tracks] == [t.id for t in ref_state.tracks]
    for a, b in zip(state.tracks, ref_state.tracks, strict=True):
        assert [p.cell_id for p in a.observations] == [p.cell_id for p in b.observations]
        assert (a.parent_id, a.merged_into) == (b.parent_id, b.merged_into)
        assert a.motion.u_mps == pytest.approx(b.motion.u_mps, abs=1e-6)
        assert a.motion.v_mps == pytest.approx(b.motion.v_mps, abs=1e-6)
        assert a.trend.to_dict() == b.trend.to_dict()
    assert [n.track_id for n in nowcasts] == [n.track_id for n in ref_nowcasts]
    for a, b in zip(nowcasts, ref_nowcasts, strict=True):
        for sa, sb in zip(a.to_dict()["steps"], b.to_dict()["steps"], strict=True):
            assert sa["centroid"] == pytest.approx(sb["centroid"], abs=1e-7)
            assert sa["radius_m"] == pytest.approx(sb["radius_m"], rel=1e-12)
            ring_a = np.array(sa["polygon"]["coordinates"][0])
            ring_b = np.array(sb["polygon"]["coordinates"][0])
            assert ring_a.shape == ring_b.shape
            assert np.abs(ring_a - ring_b).max() < 1e-7


def test_translated_outlines_match_the_reference(crowded) -> None:
    """Issue 16: the translated outlines (projected back only when asked) are unchanged."""
    (_, nowcasts), (_, ref_nowcasts) = crowded
    for a, b in list(zip(nowcasts, ref_nowcasts, strict=True))[:10]:
        for sa, sb in zip(a.steps, b.steps, strict=True):
            assert len(sa.outline) == len(sb.outline) > 4
            assert np.abs(np.array(sa.outline) - np.array(sb.outline)).max() < 1e-7
            assert np.abs(np.array(sa.polygon) - np.array(sb.polygon)).max() < 1e-7


def test_only_threat_nowcasts_are_computed_until_asked(crowded) -> None:
    """Issue 16: hail (and growing) tracks are nowcast at once, the rest on first use."""
    (state, _), _ = crowded
    fresh = nowcast.nowcast_tracks(state.tracks)
    hail = {t.id for t in state.active_tracks if t.last.hail}
    assert hail and len(hail) < len(fresh)
    assert all(n.computed == (n.track_id in hail) for n in fresh)
    lazy = next(n for n in fresh if n.track_id not in hail)
    single = nowcast.nowcast_track(state.track(lazy.track_id), projection=lazy._projection)
    assert lazy.to_dict() == single.to_dict()
    assert all(n.computed for n in fresh)  # one use computes its whole batch


def test_arrival_times_match_the_reference(crowded) -> None:
    """Issue 16: arrivals in the projection with indexed targets = sampling in lon/lat."""
    (_, nowcasts), (_, ref_nowcasts) = crowded
    targets = dict(scene.TARGETS)
    targets["point"] = shapely.Point(scene.ORIGIN)
    targets["ring"] = (
        shapely.Point(scene.ORIGIN).buffer(0.6).difference(shapely.Point(scene.ORIGIN).buffer(0.4))
    )
    hits = 0
    for a, b in zip(nowcasts, ref_nowcasts, strict=True):
        for buffered in (False, True):
            got = nowcast.arrival_times(a, targets, buffered=buffered)
            want = nowcast_v1.arrival_times(b, targets, buffered=buffered)
            assert got.keys() == want.keys()
            for name in want:
                if want[name] is None:
                    assert got[name] is None, name
                else:
                    hits += 1
                    assert abs((got[name] - want[name]).total_seconds()) <= 1.0, name
    assert hits > 50


@pytest.mark.parametrize("seed", range(20))
def test_components_give_the_same_optimum_as_one_matrix(seed: int) -> None:
    """Issue 16: assignment solved per connected group of candidate pairs = whole matrix."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(5, 40, size=2)
    allowed = rng.random((n, m)) < 0.08
    cost = rng.random((n, m))
    big = 1e9
    rows, cols = linear_sum_assignment(np.where(allowed, cost, big))
    whole = [(r, c) for r, c in zip(rows, cols, strict=True) if allowed[r, c]]
    parts = []
    for comp_rows, comp_cols in _components(allowed):
        sub = np.where(
            allowed[np.ix_(comp_rows, comp_cols)], cost[np.ix_(comp_rows, comp_cols)], big
        )
        r_idx, c_idx = linear_sum_assignment(sub)
        parts += [
            (comp_rows[r], comp_cols[c])
            for r, c in zip(r_idx, c_idx, strict=True)
            if allowed[comp_rows[r], comp_cols[c]]
        ]
    assert len(parts) == len(whole)
    assert math.isclose(
        sum(cost[r, c] for r, c in parts), sum(cost[r, c] for r, c in whole), rel_tol=1e-9
    )
