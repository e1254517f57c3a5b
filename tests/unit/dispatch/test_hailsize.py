"""Issue 15, part 3: size classes of ground hail reports feed verification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.hailsize import SizeClass, size_class_of, to_hail_report


@pytest.mark.parametrize("d,cls", [(0, "graupel"), (4.9, "graupel"), (5, "small"), (19.9, "medium"),
                                   (20, "large"), (49.9, "large"), (50, "giant"), (120, "giant")])
def test_class_boundaries(d, cls):
    assert size_class_of(d) == SizeClass(cls)
    low, high = SizeClass(cls).range_mm
    assert low <= SizeClass(cls).representative_mm and (high is None or SizeClass(cls).representative_mm < high)


def test_report_carries_the_representative_size_and_refuses_unknown_classes():
    t = datetime(2026, 7, 1, tzinfo=UTC)
    assert to_hail_report("7", t, 37.5, 111.1, "large").size_mm == 35.0
    with pytest.raises(ValueError):
        to_hail_report("7", t, 37.5, 111.1, "enormous")
    with pytest.raises(ValueError):
        size_class_of(-1)
