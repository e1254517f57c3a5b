"""The forecaster's review of a storm, and what a new scan of that storm inherits.

A storm is a track of the tracker: the same thunderstorm seen in successive volumes.  The duty
forecaster confirms it as a hail storm or dismisses it (DOMAIN §2, "An operation, step by
step", 1: a cell meeting hail criteria is flagged and confirmed).  The decision belongs to the
storm, not to one scan: each new volume's cell of a reviewed storm carries the storm's state
until the forecaster changes it (issue 11).

One exception, so a dismissal never hides a storm that has become something else: a
**dismissed** storm goes back to review when a new scan crosses into a category it was not in
when it was dismissed —

* ``hail``: the scan has a hail verdict and the storm had none when dismissed (it was a
  "no hail" or "cannot tell" storm then);
* ``severe``: the scan's MESH reaches severe hail (:data:`SEVERE_HAIL_MM`, 19 mm — "severe"
  hail in Witt et al. 1998) and the storm's MESH was below that when dismissed.

A confirmed storm stays confirmed when it weakens (a forecaster decides when it is over), and
a dismissed storm that only stays what it was stays dismissed.  Pure functions over frozen
values; the shell stores the review on the storm and audits every change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: MESH of severe hail (mm): Witt et al. (1998) call hail of 19 mm (0.75 in) and above severe.
SEVERE_HAIL_MM = 19.0


class Review(enum.StrEnum):
    """A storm's review state (the labels come from the vocabulary, kind ``review``)."""

    NEW = "new"  # to review
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class Reopen(enum.StrEnum):
    """Why a dismissed storm went back to review."""

    HAIL = "hail"  # a hail verdict where it had none when dismissed
    SEVERE = "severe"  # MESH reached severe hail, below it when dismissed


@dataclass(frozen=True)
class StormReview:
    """A storm's review and what the storm was when it was decided (``hail`` verdict and
    ``mesh_mm`` of the scan the forecaster looked at; ``None`` before any decision)."""

    state: Review = Review.NEW
    hail: bool | None = None
    mesh_mm: float | None = None


@dataclass(frozen=True)
class CarriedReview:
    """The review a new scan of the storm carries, and why it reopened (``None``: it did not)."""

    state: Review
    reopened: Reopen | None = None


def carried_review(
    review: StormReview, hail: bool, mesh_mm: float | None, severe_mm: float = SEVERE_HAIL_MM
) -> CarriedReview:
    """The state a new scan (its ``hail`` verdict and ``mesh_mm``) of a storm inherits from
    the storm's ``review`` (module docstring: a dismissed storm reopens when it crosses into
    hail, or into severe hail, since it was dismissed)."""
    if review.state is not Review.DISMISSED:
        return CarriedReview(review.state)
    if hail and not review.hail:
        return CarriedReview(Review.NEW, Reopen.HAIL)
    mesh = mesh_mm or 0.0
    if mesh >= severe_mm and (review.mesh_mm or 0.0) < severe_mm:
        return CarriedReview(Review.NEW, Reopen.SEVERE)
    return CarriedReview(Review.DISMISSED)
