"""Server-rendered SVG bar charts: geometry computed here, drawn by the ``_chart.html``
macro with autoescaping (no HTML built from strings, no client library)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

PALETTE = ("#c0392b", "#7f8c8d", "#2980b9", "#27ae60")


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k not below ``value`` (axis top)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if m * 10**exp >= value:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> dict[str, Any]:
    """Grouped vertical bars: one group per category, one bar per series."""
    left, right, top, bottom = 56, 12, 28, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    vmax = nice_max(max(values) if values else 0.0)
    n_cat = max(1, len(categories))
    n_ser = max(1, len(series))
    group_w = plot_w / n_cat
    bar_w = max(2.0, group_w * 0.8 / n_ser)
    bars = []
    for si, (name, vs) in enumerate(series.items()):
        for ci, v in enumerate(vs):
            if v is None:
                continue
            h = plot_h * float(v) / vmax
            x = left + ci * group_w + group_w * 0.1 + si * bar_w
            bars.append(
                {
                    "x": round(x, 1),
                    "y": round(top + plot_h - h, 1),
                    "w": round(bar_w - 1, 1),
                    "h": round(h, 1),
                    "colour": PALETTE[si % len(PALETTE)],
                    "label": f"{name} · {categories[ci]}: {v:g}{unit}",
                }
            )
    ticks = [
        {"y": round(top + plot_h - plot_h * k / 4, 1), "label": f"{vmax * k / 4:g}"}
        for k in range(5)
    ]
    cats = [
        {"x": round(left + (i + 0.5) * group_w, 1), "label": c} for i, c in enumerate(categories)
    ]
    legend = [
        {"x": left + 8 + i * 140, "colour": PALETTE[i % len(PALETTE)], "name": n}
        for i, n in enumerate(series)
    ]
    return {
        "title": title,
        "width": width,
        "height": height,
        "bars": bars,
        "ticks": ticks,
        "categories": cats,
        "legend": legend,
        "left": left,
        "top": top,
        "plot_w": plot_w,
        "plot_h": plot_h,
        "unit": unit,
        "base_y": top + plot_h,
    }
