"""Cell tracking: link the hail cells of successive radar volumes into tracks.

The tracker follows TITAN (Dixon & Wiener 1993, J. Atmos. Oceanic Technol. 10, 785-797) with
the first-guess motion of TINT (phase correlation of successive reflectivity fields):

1. *First guess.*  Each active track gets a first-guess velocity: the weighted fit of its
   history when that rests on at least ``established_points`` centroids since its last
   split or merge (TITAN's forecast; such tracks need no phase correlation, which keeps
   hundreds of cells affordable); otherwise phase correlation of the previous and current
   composite reflectivity in a box around the track (when both fields are given; the boxes
   of all tracks are correlated in one FFT call), else the weighted fit of a shorter
   history, else the median motion of the other tracks ("steering"), else zero.  Each
   track's last outline is moved by that guess.
2. *Overlap.*  Predicted outlines are intersected with the new outlines.  A pair *matches* by
   overlap when ``I / sqrt(A_pred · A_new) >= overlap_threshold`` (I: intersection area);
   such pairs are matched one to one by maximum total overlap (Hungarian method), so a
   large cell stays with the large track even when small cells lie inside its outline.
   A pair *touches* when ``I / min(A_pred, A_new) >= touch_threshold``.
3. *Assignment.*  The remaining tracks and cells (except tracks touching an already matched
   cell and cells touching an already matched track: merge and split candidates) are
   matched with
   :func:`scipy.optimize.linear_sum_assignment` on the cost
   ``distance_weight * |c_new - c_pred| / (max_speed * dt) + size_weight * |dA| / max(A)``;
   pairs whose centroid displacement from the last observation exceeds ``max_speed * dt``
   are forbidden.  Candidates come from a k-d tree of the new centroids (``scipy``'s
   ``cKDTree``), and each connected group of candidate pairs is solved on its own, which
   gives the same optimum as one matrix of all tracks and cells.
4. *Merges and splits.*  An unmatched track that touches a matched cell merged into it; an
   unmatched cell that touches a matched track split from it.  The larger participant (last
   area of the tracks for a merge, area of the cells for a split) keeps the track id; the
   others end with ``merged_into`` (merge) or start a new track with ``parent_id`` (split).
5. *Motion after splits and merges.*  The track that keeps its id through a split or a merge
   jumps to the centroid of one fragment, so its motion fit restarts there
   (``Track.motion_since``).  A child starts with the field's motion at its position, not
   its parent's: the local phase correlation around it when that agrees with the ambient
   motion (whole-field phase correlation, else the median of at least
   ``steering_min_tracks`` fitted tracks) within ``max_field_deviation_mps``, else the
   ambient motion — TINT's correction of a local shift against the ambient flow — and only
   without either the parent's motion before the split.  From its second volume a track
   moves with the fit of its own centroids; while that fit has fewer than
   ``established_points`` centroids, one further than ``max_field_deviation_mps`` from the
   field motion is a gross outlier (a centroid jump, not motion) and the field motion is
   used instead.

Motion is a weighted least-squares line through the centroid history in a local azimuthal
equidistant projection; speed and the direction the cell moves *toward* (degrees clockwise
from true north) are then measured on the ellipsoid, so they stay exact far from the
projection origin.  Everything here is pure: the state is an immutable value with
``to_dict``/``from_dict`` in plain JSON types, and track ids come from a counter in the state,
so a restarted process continues with the same ids.
"""

from radar.tracking.field import ReflectivityGrid, phase_correlation_shift
from radar.tracking.geometry import (
    LocalProjection,
    direction_toward_deg,
    grid_motion,
    projection_near,
    translate_all,
    true_motion,
)
from radar.tracking.model import (
    DECAYING,
    GROWING,
    STATE_VERSION,
    STEADY,
    UNKNOWN,
    Motion,
    Track,
    TrackerConfig,
    TrackerState,
    TrackingError,
    TrackPoint,
    Trend,
)
from radar.tracking.motion import compute_trend, fit_motion
from radar.tracking.update import Tracker, update_tracks

__all__ = [
    "DECAYING",
    "GROWING",
    "STATE_VERSION",
    "STEADY",
    "UNKNOWN",
    "LocalProjection",
    "Motion",
    "ReflectivityGrid",
    "Track",
    "Tracker",
    "TrackerConfig",
    "TrackerState",
    "TrackingError",
    "TrackPoint",
    "Trend",
    "compute_trend",
    "direction_toward_deg",
    "fit_motion",
    "grid_motion",
    "phase_correlation_shift",
    "projection_near",
    "translate_all",
    "true_motion",
    "update_tracks",
]
