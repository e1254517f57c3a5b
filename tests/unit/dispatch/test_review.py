"""What a new scan of a reviewed storm inherits (issue 11, dispatch.review): the review
belongs to the storm; a dismissed storm goes back to review only when it crosses into hail,
or into severe hail, since it was dismissed."""

from __future__ import annotations

import pytest

from dispatch.review import (
    SEVERE_HAIL_MM,
    CarriedReview,
    Reopen,
    Review,
    StormReview,
    carried_review,
)

CONFIRMED = StormReview(Review.CONFIRMED, hail=True, mesh_mm=40.0)


@pytest.mark.parametrize(
    ("review", "hail", "mesh", "expected"),
    [
        # Nobody decided: still to review, whatever the scan.
        (StormReview(), True, 60.0, CarriedReview(Review.NEW)),
        # Confirmed stays confirmed, also when the storm weakens to no hail.
        (CONFIRMED, True, 50.0, CarriedReview(Review.CONFIRMED)),
        (CONFIRMED, False, 2.0, CarriedReview(Review.CONFIRMED)),
        # Dismissed without hail; still no hail: stays dismissed.
        (StormReview(Review.DISMISSED, False, 8.0), False, 12.0, CarriedReview(Review.DISMISSED)),
        # Dismissed without hail; now a hail verdict: back to review.
        (
            StormReview(Review.DISMISSED, False, 8.0),
            True,
            12.0,
            CarriedReview(Review.NEW, Reopen.HAIL),
        ),
        # Dismissed as a weak hail storm; still weak hail: stays dismissed.
        (StormReview(Review.DISMISSED, True, 12.0), True, 15.0, CarriedReview(Review.DISMISSED)),
        # Dismissed as a weak hail storm; MESH now severe: back to review.
        (
            StormReview(Review.DISMISSED, True, 12.0),
            True,
            SEVERE_HAIL_MM,
            CarriedReview(Review.NEW, Reopen.SEVERE),
        ),
        # Dismissed when already severe: it was judged as such, stays dismissed.
        (StormReview(Review.DISMISSED, True, 30.0), True, 45.0, CarriedReview(Review.DISMISSED)),
        # A decision stored before what the storm was is known reopens on hail (safe side).
        (
            StormReview(Review.DISMISSED, None, None),
            True,
            5.0,
            CarriedReview(Review.NEW, Reopen.HAIL),
        ),
    ],
)
def test_carried_review(
    review: StormReview, hail: bool, mesh: float, expected: CarriedReview
) -> None:
    assert carried_review(review, hail, mesh) == expected


def test_the_severe_threshold_is_a_parameter() -> None:
    dismissed = StormReview(Review.DISMISSED, True, 12.0)
    assert carried_review(dismissed, True, 22.0, severe_mm=25.0).state is Review.DISMISSED
    assert carried_review(dismissed, True, 26.0, severe_mm=25.0).reopened is Reopen.SEVERE
