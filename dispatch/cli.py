"""``hailops dispatch recommend CELLS.geojson [--at ISO_TIME]``: recommendations as JSON.

Input: the FeatureCollection written by ``hailops radar detect`` (collection properties
``scan_time``, ``h0_m``, ``h20_m``, ``levels_source``; per feature ``id``, ``centroid``,
``area_km2``, ``max_dbz``, ``mesh_mm``, ``posh_pct``, ``hail``, ...).  A feature may also carry
its motion, ``speed_mps`` and ``direction_deg`` (where it moves to, degrees clockwise from
north), or a ``nowcast`` list ``[{"lead_min": 10, "centroid": [lon, lat]}, ...]`` as in
``hailops radar track``; a cell with neither is taken as stationary.  Without ``h0_m``/
``h20_m`` the configured seasonal levels are used and the output's ``seeding_layer_m.source``
says so.

``--at`` is the start of the operation window (default: the collection's ``scan_time``, so a
file always gives the same answer).  Sites, no-fire areas and populated (county) areas come
from the deployment (``--deployment DIR``, default the packaged Lüliang deployment).

Exit status: 0 success; 2 bad input or options, with exactly one line on stderr; 1 an
unexpected internal error, also one line.  Imports no web framework.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dispatch.recommend import CellPath, RecommendConfig, recommend, recommendations_to_json
from radar.cliutil import ArgParser, UsageError, run_command
from radar.detect import geojson_to_cells
from radar.errors import RadarError
from radar.levels import levels_from_values, seasonal_default_levels
from radar.model import HailCell
from sites.deployment import load_deployment
from sites.errors import SitesError

PROG = "hailops dispatch recommend"


def _parser() -> argparse.ArgumentParser:
    parser = ArgParser(
        prog=PROG,
        description="Recommend sites, windows, aim and ammunition for the hail cells of a file.",
    )
    parser.add_argument("cells", help="GeoJSON FeatureCollection from `hailops radar detect`")
    parser.add_argument("--at", help="ISO 8601 time the window starts (default: scan_time)")
    parser.add_argument(
        "--window-min", type=float, default=40.0, help="operation window in minutes (40)"
    )
    parser.add_argument("--deployment", help="deployment directory (default: Lüliang)")
    return parser


def _parse_time(text: str, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _paths(fc: Mapping[str, Any], cells: Sequence[HailCell]) -> dict[str, CellPath]:
    """Per cell id, its path from ``nowcast`` or ``speed_mps``/``direction_deg`` if present."""
    by_id = {cell.id: cell for cell in cells}
    paths: dict[str, CellPath] = {}
    for n, feature in enumerate(fc.get("features") or [], 1):
        props = feature.get("properties") or {}
        cell = by_id.get(str(props.get("id")))
        if cell is None:
            continue
        where = f"feature {n} ({cell.id})"
        nowcast = props.get("nowcast")
        if nowcast:
            if not isinstance(nowcast, list):
                raise UsageError(f"{where}: nowcast must be a list")
            times, positions = [cell.scan_time], [cell.centroid]
            for step in nowcast:
                try:
                    lead = _number(step["lead_min"], f"{where}: nowcast lead_min")
                    lon = _number(step["centroid"][0], f"{where}: nowcast centroid")
                    lat = _number(step["centroid"][1], f"{where}: nowcast centroid")
                except (KeyError, IndexError, TypeError):
                    raise UsageError(
                        f"{where}: nowcast steps need lead_min and centroid [lon, lat]"
                    ) from None
                times.append(cell.scan_time + timedelta(minutes=lead))
                positions.append((lon, lat))
            paths[cell.id] = CellPath(cell.id, tuple(times), tuple(positions))
        elif props.get("speed_mps") is not None or props.get("direction_deg") is not None:
            speed = _number(props.get("speed_mps"), f"{where}: speed_mps")
            direction = _number(props.get("direction_deg"), f"{where}: direction_deg")
            if speed < 0:
                raise UsageError(f"{where}: speed_mps must be >= 0")
            paths[cell.id] = CellPath.from_motion(cell, speed, direction)
    return paths


def _run(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.cells)
    try:
        fc = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(fc, dict):
        raise UsageError(f"{path}: not a GeoJSON FeatureCollection")
    try:
        cells = geojson_to_cells(fc)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    props = fc.get("properties") or {}
    scan_time = _parse_time(str(props.get("scan_time")), "scan_time")
    at = _parse_time(args.at, "--at") if args.at else scan_time
    if not (args.window_min > 0 and math.isfinite(args.window_min)):
        raise UsageError("--window-min must be a positive number of minutes")
    try:
        if props.get("h0_m") is not None and props.get("h20_m") is not None:
            levels = levels_from_values(
                _number(props["h0_m"], "h0_m"),
                _number(props["h20_m"], "h20_m"),
                source=str(props.get("levels_source") or "input file"),
            )
        else:
            levels = seasonal_default_levels(at)
    except RadarError as exc:
        raise UsageError(f"{path}: {exc}") from None
    try:
        deployment = load_deployment(args.deployment)
    except SitesError as exc:
        raise UsageError(f"deployment: {exc}") from None
    result = recommend(
        cells,
        deployment.sites,
        levels,
        at,
        paths=_paths(fc, cells),
        no_fire_areas=deployment.no_fire_geometries(),
        threat_areas=[county.geometry for county in deployment.counties],
        config=RecommendConfig(window_min=args.window_min),
    )
    return recommendations_to_json(result)


def recommend_main(argv: Sequence[str] | None = None) -> int:
    """Run ``hailops dispatch recommend`` with ``argv`` (the arguments after ``recommend``)."""
    return run_command(PROG, _parser(), argv,
                       lambda args: json.dumps(_run(args), ensure_ascii=False, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dispatch.cli recommend ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "recommend":
        print(
            "usage: python -m dispatch.cli recommend CELLS.geojson [--at ISO_TIME]", file=sys.stderr
        )
        return 2
    return recommend_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
