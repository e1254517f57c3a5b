"""One volume's update of the tracks: first guess, overlap, assignment, merges and splits."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from radar.model import HailCell
from radar.tracking.field import ReflectivityGrid, _field_motion, _field_motions
from radar.tracking.geometry import (
    _cached_projection,
    _outlines_xy,
    _overlap_matrix,
    grid_motions,
    translate_all,
)
from radar.tracking.model import (
    Motion,
    Track,
    TrackerConfig,
    TrackerState,
    TrackingError,
    TrackPoint,
)
from radar.tracking.motion import (
    _Ambient,
    _child_motion,
    _field_reference,
    _first_guess,
    _fitted_count,
    _LazyMotion,
    _new_cell_motion,
    _steering,
    _track_motion,
    compute_trend,
    fit_motions,
    usable_history,
)

_FORBIDDEN = 1.0e9  # cost of a forbidden pair in the assignment matrices


# --------------------------------------------------------------------------- the update


def update_tracks(
    state: TrackerState,
    cells: Iterable[HailCell | TrackPoint],
    scan_time: datetime,
    config: TrackerConfig | None = None,
    field: ReflectivityGrid | None = None,
    prev_field: ReflectivityGrid | None = None,
) -> TrackerState:
    """Add one volume's cells to the tracks and return the new state (``state`` is unchanged).

    ``cells`` are the cells of the volume at ``scan_time`` (timezone-aware UTC, later than
    ``state.last_scan_time``).  ``field``/``prev_field`` are the composite reflectivity of this
    and the previous volume on the same grid; when both are given the first-guess motion comes
    from phase correlation.  See the module docstring for the method.
    """
    config = config or TrackerConfig()
    if scan_time.tzinfo is None or scan_time.utcoffset() is None:
        raise TrackingError("scan_time must be timezone-aware (UTC)")
    if state.last_scan_time is not None and scan_time <= state.last_scan_time:
        raise TrackingError(
            f"volume {scan_time.isoformat()} is not after the last tracked volume "
            f"{state.last_scan_time.isoformat()}"
        )
    points = sorted(
        (c if isinstance(c, TrackPoint) else TrackPoint.from_cell(c) for c in cells),
        key=lambda p: (-p.area_km2, p.centroid[0], p.centroid[1], p.cell_id),
    )
    origin = state.origin
    if origin is None and points:
        lon = float(np.mean([p.centroid[0] for p in points]))
        lat = float(np.mean([p.centroid[1] for p in points]))
        origin = (round(lon, 2), round(lat, 2))
    previous = list(state.tracks)
    active = [i for i, t in enumerate(previous) if t.active]
    dt_s = (
        (scan_time - state.last_scan_time).total_seconds()
        if state.last_scan_time is not None
        else None
    )
    if active and dt_s is not None and dt_s > config.max_gap_s:
        for i in active:
            previous[i] = replace(previous[i], ended_at=scan_time, end_reason="gap")
        active = []
    if origin is None:  # nothing ever seen
        return replace(state, last_scan_time=scan_time)

    projection = _cached_projection(origin[0], origin[1])
    fields_ok = (
        field is not None
        and prev_field is not None
        and dt_s is not None
        and field.same_grid(prev_field)
    )
    global_motion = _LazyMotion(
        (lambda: _field_motion(prev_field, field, dt_s, config))  # type: ignore[arg-type]
        if fields_ok
        else None
    )
    steering = _steering([previous[i] for i in active])
    next_id = state.next_id

    new_xy, new_polys = _outlines_xy(points, projection)
    new_area = np.array([max(p.area_km2, 1e-6) for p in points])

    # match[k] = index into `points` for active track k (or -1)
    match = np.full(len(active), -1, dtype=int)
    guesses: list[Motion] = []
    phases: list[tuple[float, float] | None] = []
    if active and points:
        assert dt_s is not None
        old = [previous[i] for i in active]
        local: list[tuple[float, float] | None] = [None] * len(old)
        settled = [_established(t, config) for t in old]
        if fields_ok:
            assert prev_field is not None and field is not None
            young = [k for k, e in enumerate(settled) if not e]
            for k, found in zip(
                young,
                _field_motions(
                    prev_field,
                    field,
                    dt_s,
                    config,
                    [old[k].last.centroid for k in young],
                    [math.sqrt(max(old[k].last.area_km2, 0.0) / math.pi) * 1000.0 for k in young],
                ),
                strict=True,
            ):
                local[k] = found
        for k, i in enumerate(active):
            if settled[k]:
                guesses.append(previous[i].motion)
                phases.append(None)
                continue
            guess, phase = _first_guess(
                previous[i], config, steering, global_motion, fields_ok, local[k]
            )
            guesses.append(guess)
            phases.append(phase)
        last_xy, old_polys = _outlines_xy([t.last for t in old], projection)
        shift = (
            grid_motions(
                projection,
                [t.last.centroid[0] for t in old],
                [t.last.centroid[1] for t in old],
                [g.u_mps for g in guesses],
                [g.v_mps for g in guesses],
            )
            * dt_s
        )
        pred_xy = last_xy + shift
        pred_polys = translate_all(old_polys, shift)
        touch_frac, mutual = _overlap_matrix(pred_polys, new_polys)
        old_area = np.array([max(t.last.area_km2, 1e-6) for t in old])

        # 1. overlap first: pairs whose mutual overlap I / sqrt(A_pred A_new) reaches the
        #    threshold, one to one by maximum total mutual overlap.  Unassigned pairs cost 0
        #    (not "forbidden") so a big cell is never traded for two small nested ones.
        ok = mutual >= config.overlap_threshold
        touch = touch_frac >= config.touch_threshold
        if ok.any():
            for rows, cols in _components(ok):
                if rows.size == 1 and cols.size == 1:  # the common case: one candidate
                    match[rows[0]] = cols[0]
                    continue
                sub = ok[np.ix_(rows, cols)]
                r_idx, c_idx = linear_sum_assignment(
                    np.where(sub, -mutual[np.ix_(rows, cols)], 0.0)
                )
                for r, c in zip(r_idx, c_idx, strict=True):
                    if sub[r, c]:
                        match[rows[r]] = cols[c]
        # 2. Hungarian on distance and size for the rest, except tracks touching an
        #    already matched cell (merge candidates) and cells touching an already matched
        #    track (split candidates)
        matched_t = match >= 0
        matched_c = np.zeros(len(points), dtype=bool)
        matched_c[match[matched_t]] = True
        free_t = np.flatnonzero(~matched_t & ~touch[:, matched_c].any(axis=1))
        free_c = np.flatnonzero(~matched_c & ~touch[matched_t, :].any(axis=0))
        if free_t.size and free_c.size:
            _assign_by_distance(
                match,
                free_t,
                free_c,
                last_xy,
                pred_xy,
                new_xy,
                old_area,
                new_area,
                config.max_speed_mps * dt_s,
                config,
            )
        matched_t = match >= 0
        matched_c = np.zeros(len(points), dtype=bool)
        matched_c[match[matched_t]] = True
        # 3. merges: an unmatched track touching matched cells joins the one it overlaps
        #    most; the track with the larger last area keeps the id
        merging: dict[int, list[int]] = {}
        for k in map(int, np.flatnonzero(~matched_t)):
            candidates = touch[k] & matched_c
            if candidates.any():
                j = int(np.argmax(np.where(candidates, touch_frac[k], -1.0)))
                merging.setdefault(j, []).append(k)
        merged_into: dict[int, int] = {}  # track k -> track k' it merged into
        owner = {int(c): k for k, c in enumerate(match) if c >= 0}
        for j, others in sorted(merging.items()):
            group = [owner[j], *others]
            keeper = min(group, key=lambda k: (-old_area[k], old[k].first_time, old[k].id))
            for k in group:
                if k != keeper:
                    merged_into[k] = keeper
                    match[k] = -1
            match[keeper] = j
        # 4. splits: an unmatched cell touching matched tracks split from the one it overlaps
        #    most; the larger cell carries the parent's id on
        matched_t = match >= 0
        splitting: dict[int, list[int]] = {}
        for j in map(int, np.flatnonzero(~matched_c)):
            candidates = touch[:, j] & matched_t
            if candidates.any():
                k = int(np.argmax(np.where(candidates, touch_frac[:, j], -1.0)))
                splitting.setdefault(k, []).append(j)
        split_parent: dict[int, int] = {}  # cell j -> track k it split from
        for k, kids in sorted(splitting.items()):
            group = [int(match[k]), *kids]
            keep_cell = min(group, key=lambda j: (-new_area[j], j))
            match[k] = keep_cell
            for j in group:
                if j != keep_cell:
                    split_parent[j] = k
    else:
        old = [previous[i] for i in active]
        merged_into = {}
        split_parent = {}
    # tracks that keep their id through a merge or a split: their centroid jumps here, so
    # their motion fit restarts at this volume
    event_keepers = set(merged_into.values()) | set(split_parent.values())
    ambient = _Ambient(
        global_motion if fields_ok else None,
        steering if _fitted_count(old) >= config.steering_min_tracks else None,
        config,
    )

    # ---- build the new track list
    result: dict[str, Track] = {t.id: t for t in previous}
    children_of: dict[str, list[str]] = {}
    matched = [k for k in range(len(active)) if match[k] >= 0]
    since_of = {
        k: scan_time if k in event_keepers else previous[active[k]].motion_since for k in matched
    }
    extended = {k: (*previous[active[k]].observations, points[int(match[k])]) for k in matched}
    fits = dict(
        zip(
            matched,
            fit_motions(
                [usable_history(extended[k], since_of[k]) for k in matched], projection, config
            ),
            strict=True,
        )
    )
    for k, i in enumerate(active):
        track = previous[i]
        if match[k] >= 0:
            obs = extended[k]
            motion = _track_motion(
                fits[k],
                guesses[k],
                partial(_field_reference, phases[k], ambient, config),
                config,
            )
            result[track.id] = replace(
                track,
                observations=obs,
                motion=motion,
                trend=compute_trend(obs, config),
                motion_since=since_of[k],
            )
        elif k in merged_into:
            result[track.id] = replace(
                track,
                ended_at=scan_time,
                end_reason="merged",
                merged_into=old[merged_into[k]].id,
            )
        else:
            result[track.id] = replace(track, ended_at=scan_time, end_reason="lost")
    matched_cells = {int(c) for c in match if c >= 0}
    for j, point in enumerate(points):
        if j in matched_cells:
            continue
        track_id = f"{config.id_prefix}{next_id:0{config.id_width}d}"
        next_id += 1
        parent: str | None = None
        if j in split_parent:
            k = split_parent[j]
            parent = old[k].id
            motion = _child_motion(
                point,
                old[k],
                dt_s,
                config,
                steering,
                ambient,
                prev_field if fields_ok else None,
                field if fields_ok else None,
            )
            children_of.setdefault(parent, []).append(track_id)
        else:
            motion = _new_cell_motion(
                point,
                dt_s,
                config,
                steering,
                global_motion,
                prev_field if fields_ok else None,
                field if fields_ok else None,
            )
        result[track_id] = Track(
            id=track_id,
            observations=(point,),
            motion=motion,
            trend=compute_trend((point,), config),
            parent_id=parent,
        )
    for parent, child_ids in children_of.items():
        result[parent] = replace(result[parent], children=(*result[parent].children, *child_ids))

    horizon = scan_time - timedelta(seconds=config.retain_ended_s)
    tracks = tuple(
        sorted(
            (t for t in result.values() if t.ended_at is None or t.ended_at >= horizon),
            key=lambda t: t.id,
        )
    )
    return TrackerState(tracks=tracks, next_id=next_id, last_scan_time=scan_time, origin=origin)


class Tracker:
    """Convenience wrapper that keeps the state and the previous field between volumes."""

    def __init__(
        self,
        config: TrackerConfig | None = None,
        state: TrackerState | None = None,
        prev_field: ReflectivityGrid | None = None,
    ) -> None:
        """``state``/``prev_field``: resume after a restart (the field of the last volume)."""
        self.config = config or TrackerConfig()
        self.state = state or TrackerState()
        self._prev_field = prev_field

    def update(
        self,
        cells: Iterable[HailCell | TrackPoint],
        scan_time: datetime,
        field: ReflectivityGrid | None = None,
    ) -> TrackerState:
        self.state = update_tracks(
            self.state, cells, scan_time, self.config, field=field, prev_field=self._prev_field
        )
        self._prev_field = field
        return self.state


def _components(pairs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components (rows, cols) of a boolean bipartite adjacency matrix.

    An assignment problem whose only admissible pairs are ``pairs`` splits into
    independent problems on these components: solving each on its own gives the same
    optimum as the whole matrix, at a fraction of the cost when there are hundreds of cells.
    """
    n_rows, n_cols = pairs.shape
    r, c = np.nonzero(pairs)
    graph = coo_matrix((np.ones(r.size), (r, n_rows + c)), shape=(n_rows + n_cols, n_rows + n_cols))
    _, labels = connected_components(graph, directed=False)
    used = np.unique(labels[r])
    row_labels, col_labels = labels[:n_rows], labels[n_rows:]
    order_r = np.argsort(row_labels, kind="stable")
    order_c = np.argsort(col_labels, kind="stable")
    sorted_r, sorted_c = row_labels[order_r], col_labels[order_c]
    r0 = np.searchsorted(sorted_r, used, "left").tolist()
    r1 = np.searchsorted(sorted_r, used, "right").tolist()
    c0 = np.searchsorted(sorted_c, used, "left").tolist()
    c1 = np.searchsorted(sorted_c, used, "right").tolist()
    return [(order_r[a:b], order_c[c:d]) for a, b, c, d in zip(r0, r1, c0, c1, strict=True)]


def _assign_by_distance(
    match: np.ndarray,
    free_t: np.ndarray,
    free_c: np.ndarray,
    last_xy: np.ndarray,
    pred_xy: np.ndarray,
    new_xy: np.ndarray,
    old_area: np.ndarray,
    new_area: np.ndarray,
    reach: float,
    config: TrackerConfig,
) -> None:
    """Step 3 of the method: Hungarian assignment of the free tracks and cells on distance
    and size; pairs farther apart than ``reach`` are forbidden.

    Candidates come from a k-d tree of the new centroids (only pairs within ``reach``), and
    each connected group of candidate pairs is solved on its own (:func:`_components`).
    """
    tree = cKDTree(new_xy[free_c])
    near = tree.query_ball_point(last_xy[free_t], r=reach)
    rows = np.repeat(np.arange(free_t.size), [len(n) for n in near])
    if rows.size == 0:
        return
    cols = np.fromiter((j for n in near for j in n), dtype=int, count=rows.size)
    allowed = np.zeros((free_t.size, free_c.size), dtype=bool)
    allowed[rows, cols] = True
    for comp_rows, comp_cols in _components(allowed):
        t_idx, c_idx = free_t[comp_rows], free_c[comp_cols]
        if comp_rows.size == 1 and comp_cols.size == 1:  # one candidate: allowed by the tree,
            jump = math.hypot(*(new_xy[c_idx[0]] - last_xy[t_idx[0]]))  # check as below
            if jump <= reach:
                match[t_idx[0]] = c_idx[0]
            continue
        jump = np.hypot(
            new_xy[c_idx][None, :, 0] - last_xy[t_idx][:, None, 0],
            new_xy[c_idx][None, :, 1] - last_xy[t_idx][:, None, 1],
        )
        miss = np.hypot(
            new_xy[c_idx][None, :, 0] - pred_xy[t_idx][:, None, 0],
            new_xy[c_idx][None, :, 1] - pred_xy[t_idx][:, None, 1],
        )
        a_old = old_area[t_idx][:, None]
        a_new = new_area[c_idx][None, :]
        cost = config.distance_weight * miss / reach + config.size_weight * np.abs(
            a_new - a_old
        ) / np.maximum(a_new, a_old)
        cost = np.where(jump <= reach, cost, _FORBIDDEN)
        r_idx, k_idx = linear_sum_assignment(cost)
        for r, c in zip(r_idx, k_idx, strict=True):
            if cost[r, c] < _FORBIDDEN:
                match[t_idx[r]] = c_idx[c]


def _established(track: Track, config: TrackerConfig) -> bool:
    """Whether the track's fitted motion rests on at least ``established_points`` centroids
    since its last split or merge: its history is then its first guess (TITAN), and the
    phase correlation around it (the most expensive step) is not needed."""
    motion = track.motion
    return (
        motion.source == "fit"
        and motion.n_points >= config.established_points
        and len(usable_history(track.observations, track.motion_since)) >= config.established_points
    )
