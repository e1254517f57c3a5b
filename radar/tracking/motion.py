"""Motion and trends of tracks: history fits, first guesses, field motion, trends."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from radar.tracking.field import ReflectivityGrid, _field_motion
from radar.tracking.geometry import LocalProjection, true_motions
from radar.tracking.model import (
    DECAYING,
    GROWING,
    STEADY,
    UNKNOWN,
    Motion,
    Track,
    TrackerConfig,
    TrackPoint,
    Trend,
)

# --------------------------------------------------------------------------- motion and trends


def fit_motion(
    observations: Sequence[TrackPoint], projection: LocalProjection, config: TrackerConfig
) -> Motion | None:
    """Weighted least-squares motion of a centroid history (``None`` for fewer than 2 points).

    Uses the last ``history_max_points`` centroids with weights ``w_i = exp(-age_i / tau)``
    (``tau = history_tau_s``), fits ``x(t) = x0 + u t`` and ``y(t) = y0 + v t`` in the local
    projection and converts (u, v) to true east/north on the ellipsoid.  With weights
    normalised to mean 1, ``s² = Σ w r² / (n - 2)`` (r: position residuals, both axes summed)
    and ``scatter = sqrt(s² / Σ w (t - t̄)²)``, floored at ``scatter_floor_mps``; for two
    points the scatter is ``scatter_prior_mps``.  ``residual_m = sqrt(Σ w r² / Σ w)``.
    """
    return fit_motions([observations], projection, config)[0]


def fit_motions(
    histories: Sequence[Sequence[TrackPoint]], projection: LocalProjection, config: TrackerConfig
) -> list[Motion | None]:
    """:func:`fit_motion` of many tracks: one projection call for every centroid and one for
    every conversion to true motion."""
    pts_of = [list(h[-config.history_max_points :]) for h in histories]
    lon = [p.centroid[0] for pts in pts_of if len(pts) >= 2 for p in pts]
    lat = [p.centroid[1] for pts in pts_of if len(pts) >= 2 for p in pts]
    out: list[Motion | None] = [None] * len(histories)
    if not lon:
        return out
    xs, ys = projection.to_xy(lon, lat)
    # tracks grouped by history length: each group is fitted row-wise in one set of array
    # operations (sums along rows of at most ``history_max_points`` < 8 values are plain
    # left-to-right sums, so every track gets the same numbers as fitted alone)
    groups: dict[int, list[tuple[int, int]]] = {}
    start = 0
    for i, pts in enumerate(pts_of):
        if len(pts) >= 2:
            groups.setdefault(len(pts), []).append((i, start))
            start += len(pts)
    fitted: list[tuple[int, float, float, float, float, float, float, int]] = []
    for n, members in sorted(groups.items()):
        idx = np.array([s0 for _, s0 in members])[:, None] + np.arange(n)[None, :]
        x, y = xs[idx], ys[idx]
        t = np.array(
            [
                [(p.scan_time - pts_of[i][-1].scan_time).total_seconds() for p in pts_of[i]]
                for i, _ in members
            ]
        )
        w = np.exp(t / config.history_tau_s)  # t <= 0, so older points weigh less
        w = w * (n / w.sum(axis=1, keepdims=True))
        tm = np.sum(w * t, axis=1, keepdims=True) / n
        stt = np.sum(w * (t - tm) ** 2, axis=1, keepdims=True)
        mx = np.sum(w * x, axis=1, keepdims=True) / n
        my = np.sum(w * y, axis=1, keepdims=True) / n
        ok = stt[:, 0] > 0.0
        safe = np.where(stt > 0.0, stt, 1.0)
        u_grid = np.sum(w * (t - tm) * (x - mx), axis=1, keepdims=True) / safe
        v_grid = np.sum(w * (t - tm) * (y - my), axis=1, keepdims=True) / safe
        rx = x - (mx + u_grid * (t - tm))
        ry = y - (my + v_grid * (t - tm))
        sq = np.sum(w * (rx**2 + ry**2), axis=1)
        x_end = (mx + u_grid * (0.0 - tm))[:, 0]
        y_end = (my + v_grid * (0.0 - tm))[:, 0]
        for row, (i, _) in enumerate(members):
            if not ok[row]:
                continue
            sq_i = float(sq[row])
            residual = math.sqrt(sq_i / n)
            if n > 2:
                scatter = max(
                    config.scatter_floor_mps, math.sqrt(sq_i / (n - 2) / float(stt[row, 0]))
                )
            else:
                scatter = config.scatter_prior_mps
            fitted.append(
                (
                    i,
                    float(x_end[row]),
                    float(y_end[row]),
                    float(u_grid[row, 0]),
                    float(v_grid[row, 0]),
                    scatter,
                    residual,
                    n,
                )
            )
    fitted.sort()
    if not fitted:
        return out
    uv = true_motions(projection, [(f[1], f[2]) for f in fitted], [(f[3], f[4]) for f in fitted])
    for (i, *_, scatter, residual, n), (u, v) in zip(fitted, uv.tolist(), strict=True):
        out[i] = Motion(u, v, scatter, residual, "fit", n)
    return out


def _slope_per_h(times_s: Sequence[float], values: Sequence[float]) -> float:
    n = len(times_s)
    if n < 8:  # plain floats: the same operations in the same order as numpy, far quicker
        t = [float(a) / 3600.0 for a in times_s]
        y = [float(b) for b in values]
        t_mean = sum(t) / n
        y_mean = sum(y) / n
        tc = [a - t_mean for a in t]
        num = sum(a * (b - y_mean) for a, b in zip(tc, y, strict=True))
        return float(num / sum(a * a for a in tc))
    ta = np.asarray(times_s, float) / 3600.0
    ya = np.asarray(values, float)
    tca = ta - ta.mean()
    return float(np.sum(tca * (ya - ya.mean())) / np.sum(tca**2))


def compute_trend(observations: Sequence[TrackPoint], config: TrackerConfig) -> Trend:
    """Trends of MESH, 45 dBZ top, VIL and max reflectivity (see :class:`Trend`)."""
    if not observations:
        return Trend()
    t_last = observations[-1].scan_time
    window = [
        p for p in observations if (t_last - p.scan_time).total_seconds() <= config.trend_window_s
    ]

    ages = [(p.scan_time - t_last).total_seconds() for p in window]

    def one(attr: str, threshold: float) -> tuple[str, float | None]:
        values = [getattr(p, attr) for p in window]
        times = [a for a, v in zip(ages, values, strict=True) if v is not None]
        if len(times) < 2:
            return UNKNOWN, None
        rate = _slope_per_h(times, [v for v in values if v is not None])
        if rate >= threshold:
            return GROWING, rate
        if rate <= -threshold:
            return DECAYING, rate
        return STEADY, rate

    mesh, mesh_rate = one("mesh_mm", config.mesh_trend_mm_per_h)
    top, top_rate = one("top45_km", config.top45_trend_km_per_h)
    vil, vil_rate = one("vil_kgm2", config.vil_trend_kgm2_per_h)
    dbz, dbz_rate = one("max_dbz", config.max_dbz_trend_per_h)
    votes = [s for s in (mesh, top, vil) if s != UNKNOWN] or ([dbz] if dbz != UNKNOWN else [])
    if not votes:
        overall = UNKNOWN
    else:
        score = votes.count(GROWING) - votes.count(DECAYING)
        overall = GROWING if score > 0 else DECAYING if score < 0 else STEADY
    return Trend(overall, mesh, top, vil, dbz, mesh_rate, top_rate, vil_rate, dbz_rate)


class _LazyMotion:
    """Whole-field motion, computed on first use only (it is the most expensive FFT)."""

    def __init__(self, compute: Callable[[], tuple[float, float] | None] | None) -> None:
        self._compute = compute
        self._done = compute is None
        self._value: tuple[float, float] | None = None

    def __call__(self) -> tuple[float, float] | None:
        if not self._done:
            assert self._compute is not None
            self._value = self._compute()
            self._done = True
        return self._value


def _steering(tracks: Sequence[Track]) -> Motion | None:
    """Median fitted motion of established tracks: the first guess for tracks without history."""
    fitted = [t.motion for t in tracks if t.motion.source == "fit"]
    if not fitted:
        return None
    u = float(np.median([m.u_mps for m in fitted]))
    v = float(np.median([m.v_mps for m in fitted]))
    scatter = float(np.std([math.hypot(m.u_mps - u, m.v_mps - v) for m in fitted]))
    return Motion(u, v, max(scatter, 0.0), 0.0, "steering", 0)


def _fitted_count(tracks: Sequence[Track]) -> int:
    return sum(1 for t in tracks if t.motion.source == "fit")


def _first_guess(
    track: Track,
    config: TrackerConfig,
    steering: Motion | None,
    global_motion: _LazyMotion,
    fields: bool,
    local: tuple[float, float] | None,
) -> tuple[Motion, tuple[float, float] | None]:
    """First-guess motion of an active track (see step 1 of the module docstring).

    ``local`` is the phase-correlation motion in a box around the track (computed for all
    tracks at once, :func:`radar.tracking.field._field_motions`) when ``fields`` are given.
    Also returns the phase-correlation (field) motion used, the reference against which
    young fits are checked.
    """
    history = track.motion if track.motion.source == "fit" else None
    phase = None
    if fields:
        phase = local
        if phase is None:
            phase = global_motion()
    if phase is not None:
        if (
            history is not None
            and math.hypot(phase[0] - history.u_mps, phase[1] - history.v_mps)
            > config.max_guess_disagreement_mps
        ):
            return history, phase
        motion = Motion(phase[0], phase[1], config.scatter_prior_mps, 0.0, "phase-correlation", 0)
        return motion, phase
    if history is not None:
        return history, None
    if track.motion.source in ("parent", "phase-correlation") and track.motion.speed_mps > 0:
        return track.motion, None
    if steering is not None:
        return steering, None
    return Motion(source="none", scatter_mps=config.scatter_prior_mps), None


class _Ambient:
    """The ambient (whole-field) motion, computed on first use: whole-field phase
    correlation when both fields are given, else the steering flow when at least
    ``steering_min_tracks`` tracks have fits, else ``None``."""

    def __init__(
        self, global_motion: _LazyMotion | None, steering: Motion | None, config: TrackerConfig
    ) -> None:
        self._global = global_motion
        self._steering = steering
        self._config = config

    def __call__(self) -> Motion | None:
        whole = self._global() if self._global is not None else None
        if whole is not None:
            prior = self._config.scatter_prior_mps
            return Motion(whole[0], whole[1], prior, 0.0, "phase-correlation", 0)
        if self._steering is not None:
            prior = max(self._steering.scatter_mps, self._config.scatter_prior_mps)
            return replace(self._steering, scatter_mps=prior)
        return None


def _field_reference(
    local: tuple[float, float] | None, ambient: _Ambient, config: TrackerConfig
) -> Motion | None:
    """The field motion at a track, as TINT corrects a local shift: the local phase
    correlation when it agrees with the ambient motion within ``max_field_deviation_mps``
    (or when there is no ambient motion), else the ambient motion."""
    flow = ambient()
    if local is not None and (
        flow is None
        or math.hypot(local[0] - flow.u_mps, local[1] - flow.v_mps)
        <= config.max_field_deviation_mps
    ):
        return Motion(local[0], local[1], config.scatter_prior_mps, 0.0, "phase-correlation", 0)
    return flow


def _track_motion(
    fit: Motion | None,
    guess: Motion,
    reference: Motion | None | Callable[[], Motion | None],
    config: TrackerConfig,
) -> Motion:
    """Motion of a matched track: ``fit``, the fit of its own centroids since its last split
    or merge (:func:`usable_history`).

    Without a fit (a single centroid since the last split or merge) the first guess is
    used.  A fit from fewer than ``established_points`` centroids that differs from the
    field motion by more than ``max_field_deviation_mps`` is a gross outlier (a centroid
    jump from a split, a merge or a fragment growing on one flank, not motion): the field
    motion replaces it, as TINT replaces a local shift that disagrees with the ambient flow.
    ``reference`` may be a callable: the field motion is then computed only when needed.
    """
    if fit is None or fit.n_points >= config.established_points:
        return guess if fit is None else fit
    field = reference() if callable(reference) else reference
    if (
        field is not None
        and math.hypot(fit.u_mps - field.u_mps, fit.v_mps - field.v_mps)
        > config.max_field_deviation_mps
    ):
        return replace(field, n_points=fit.n_points)
    return fit


def usable_history(
    observations: Sequence[TrackPoint], since: datetime | None
) -> Sequence[TrackPoint]:
    """The observations whose centroids enter the motion fit (those from ``since`` on)."""
    return observations if since is None else [p for p in observations if p.scan_time >= since]


def _child_motion(
    point: TrackPoint,
    parent: Track,
    dt_s: float | None,
    config: TrackerConfig,
    steering: Motion | None,
    ambient: _Ambient,
    prev_field: ReflectivityGrid | None,
    field: ReflectivityGrid | None,
) -> Motion:
    """Motion of a track split off ``parent``: the field's motion at the child (local phase
    correlation checked against the ambient motion, see :func:`_field_reference`), else the
    parent's motion *before* the split (its fit up to the previous volume, not the fit
    through the split's centroid jump), else steering, else none.  The child's own
    positions take over from its second volume (checked against the field while young)."""
    local = None
    if prev_field is not None and field is not None and dt_s:
        radius = math.sqrt(max(point.area_km2, 0.0) / math.pi) * 1000.0
        local = _field_motion(prev_field, field, dt_s, config, point.centroid, radius)
    reference = _field_reference(local, ambient, config)
    if reference is not None:
        return replace(reference, n_points=1)
    before = parent.motion
    if before.source != "none" and (before.speed_mps > 0 or before.source == "fit"):
        return replace(
            before,
            source="parent",
            n_points=1,
            scatter_mps=max(before.scatter_mps, config.scatter_prior_mps),
        )
    if steering is not None:
        return replace(
            steering, n_points=1, scatter_mps=max(steering.scatter_mps, config.scatter_prior_mps)
        )
    return Motion(scatter_mps=config.scatter_prior_mps, source="none", n_points=1)


def _new_cell_motion(
    point: TrackPoint,
    dt_s: float | None,
    config: TrackerConfig,
    steering: Motion | None,
    global_motion: _LazyMotion,
    prev_field: ReflectivityGrid | None,
    field: ReflectivityGrid | None,
) -> Motion:
    """Motion of a brand-new track: local phase correlation, else steering, else global."""
    if prev_field is not None and field is not None and dt_s:
        radius = math.sqrt(max(point.area_km2, 0.0) / math.pi) * 1000.0
        # the cell is at its *current* position: correlate a box around it
        phase = _field_motion(prev_field, field, dt_s, config, point.centroid, radius)
        if phase is not None:
            return Motion(phase[0], phase[1], config.scatter_prior_mps, 0.0, "phase-correlation", 1)
    if steering is not None:
        return replace(
            steering, n_points=1, scatter_mps=max(steering.scatter_mps, config.scatter_prior_mps)
        )
    whole = global_motion()
    if whole is not None:
        return Motion(
            whole[0],
            whole[1],
            config.scatter_prior_mps,
            0.0,
            "phase-correlation",
            1,
        )
    return Motion(scatter_mps=config.scatter_prior_mps, source="none", n_points=1)
