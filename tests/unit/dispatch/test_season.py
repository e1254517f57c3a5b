"""Issue 15, part 4: season statistics kernels against numpy and hand counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.season import (
    ApprovalDecision,
    OperationRow,
    approval_delays,
    hail_days,
    operations_by,
    percentile,
    step_summary,
)


@settings(deadline=None)  # a shared, loaded machine: time is not what is tested
@given(st.lists(st.floats(min_value=0, max_value=1e5), min_size=1, max_size=40),
       st.sampled_from([0, 10, 50, 90, 100]))
def test_percentile_is_numpys_linear(values, p):
    assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-9, abs=1e-9)


def test_percentile_edges():
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_approval_delays_per_authority():
    ds = [ApprovalDecision("atc", "granted", 60), ApprovalDecision("atc", "denied", 600),
          ApprovalDecision("atc", "pending", None), ApprovalDecision("military", "revoked", 30)]
    atc, mil = approval_delays(ds)
    assert (atc.requests, atc.decided, atc.granted, atc.denied, atc.pending) == (3, 2, 1, 1, 1)
    assert atc.median_s == 330 and atc.p90_s == pytest.approx(60 + 0.9 * 540) and atc.max_s == 600
    assert (mil.granted, mil.median_s) == (1, 30)


def test_counts_by_month_in_local_time_and_hail_days():
    bj = timezone(timedelta(hours=8))
    t = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 1 July 01:00 in Beijing
    rows = [OperationRow("a", "lishi", "S1", t, "completed", True, {"x": 2}, {"s": 10.0}),
            OperationRow("b", "lishi", "S2", t - timedelta(days=1), "denied", False)]
    assert operations_by(rows, "month", bj) == {"2026-06": 1, "2026-07": 1}
    assert operations_by(rows, "county") == {"lishi": 2}
    with pytest.raises(ValueError):
        operations_by(rows, "month")
    assert step_summary(rows, ["s", "t"]) == {
        "s": {"n": 1, "mean_s": 10.0, "median_s": 10.0, "p90_s": 10.0},
        "t": {"n": 0, "mean_s": None, "median_s": None, "p90_s": None}}
    assert [d.isoformat() for d in hail_days([t, t + timedelta(hours=1)], bj)] == ["2026-07-01"]
