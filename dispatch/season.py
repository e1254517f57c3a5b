"""Season statistics of hail-suppression operations: pure computations over plain rows
(no database, no web), used by the season page, its CSV/XLSX export and the bulletins.

Percentiles use linear interpolation between closest ranks (Hyndman & Fan 1996, definition
7 — numpy's default): for sorted values ``x_0 … x_{n-1}``, ``p`` in [0, 100],
``h = (n - 1)·p/100``, ``Q = x_⌊h⌋ + (h - ⌊h⌋)(x_⌊h⌋+1 - x_⌊h⌋)``.  The median is
``Q(50)``; an empty sample has no percentile (``None``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) by linear interpolation (module docstring)."""
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    h = (len(xs) - 1) * p / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@dataclass(frozen=True)
class ApprovalDecision:
    """One authority's answer to one airspace request."""

    authority: str  # "atc" | "military"
    state: str  # "granted" | "denied" | "revoked" | "pending"
    delay_s: float | None  # request → decision; None while pending
    month: int | None = None


@dataclass(frozen=True)
class ApprovalSummary:
    authority: str
    requests: int
    decided: int
    granted: int
    denied: int
    pending: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None

    def as_dict(self) -> dict[str, object]:
        return {"authority": self.authority, "requests": self.requests, "decided": self.decided,
                "granted": self.granted, "denied": self.denied, "pending": self.pending,
                "median_s": self.median_s, "p90_s": self.p90_s, "max_s": self.max_s}


def approval_delays(decisions: Iterable[ApprovalDecision],
                    authorities: Sequence[str] = ("atc", "military")) -> list[ApprovalSummary]:
    """Per authority: how many requests, grants, denials, pending, and the median, 90th
    percentile and maximum delay from request to decision (decided requests only; a
    revocation counts as granted first — its delay is the grant's)."""
    by: dict[str, list[ApprovalDecision]] = defaultdict(list)
    for d in decisions:
        by[d.authority].append(d)
    out = []
    for a in list(authorities) + sorted(set(by) - set(authorities)):
        rows = by.get(a, [])
        delays = [d.delay_s for d in rows if d.delay_s is not None and d.state != "pending"]
        out.append(ApprovalSummary(
            authority=a, requests=len(rows), decided=len(delays),
            granted=sum(d.state in ("granted", "revoked") for d in rows),
            denied=sum(d.state == "denied" for d in rows),
            pending=sum(d.state == "pending" for d in rows),
            median_s=percentile(delays, 50), p90_s=percentile(delays, 90),
            max_s=max(delays) if delays else None))
    return out


@dataclass(frozen=True)
class OperationRow:
    """One operation as the season statistics need it."""

    id: str
    county: str
    site: str
    created_at: datetime
    state: str
    fired: bool
    rounds: Mapping[str, int] = field(default_factory=dict)
    steps_s: Mapping[str, float] = field(default_factory=dict)  # response-time steps


def month_key(t: datetime, tz: tzinfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m")


def operations_by(rows: Iterable[OperationRow], key: str, tz: tzinfo | None = None) -> dict[str, int]:
    """Count operations per ``county``, ``site`` or ``month`` (local ``tz``), sorted by key."""
    c: Counter[str] = Counter()
    for r in rows:
        if key == "month":
            if tz is None:
                raise ValueError("month needs a time zone")
            c[month_key(r.created_at, tz)] += 1
        elif key in ("county", "site"):
            c[getattr(r, key)] += 1
        else:
            raise ValueError(f"unknown key {key}")
    return dict(sorted(c.items()))


def rounds_by_type(rows: Iterable[OperationRow]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for r in rows:
        for t, n in r.rounds.items():
            c[t] += int(n)
    return dict(sorted(c.items()))


def step_summary(rows: Iterable[OperationRow], steps: Sequence[str]) -> dict[str, dict[str, float | int | None]]:
    """Per response-time step: count, mean, median and 90th percentile (seconds)."""
    rows = list(rows)
    out: dict[str, dict[str, float | int | None]] = {}
    for s in steps:
        vals = [float(r.steps_s[s]) for r in rows if s in r.steps_s]
        out[s] = {"n": len(vals), "mean_s": (sum(vals) / len(vals)) if vals else None,
                  "median_s": percentile(vals, 50), "p90_s": percentile(vals, 90)}
    return out


def hail_days(times: Iterable[datetime], tz: tzinfo) -> list[date]:
    """The distinct local dates on which hail was observed (radar hail cells or ground
    reports), sorted."""
    return sorted({t.astimezone(tz).date() for t in times})
