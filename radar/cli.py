"""``hailops radar detect PATH [--sounding PATH] [--h0 M --h20 M]``: cells as GeoJSON on stdout.

Exit status: 0 success; 2 bad input (missing or unreadable volume or sounding, inconsistent
levels, bad options) with exactly one line on stderr; 1 an unexpected internal error, also
one line.  Without ``--sounding`` or ``--h0/--h20`` the configured seasonal levels are used
(``HAILOPS_SEASONAL_H0_M`` / ``HAILOPS_SEASONAL_H20_M``, defaults 4300 / 7600 m) and
``levels_source`` says so.  Imports no web framework.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence

from radar.errors import RadarError

PROG = "hailops radar detect"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _metres(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Detect hail cells in one radar volume; print a GeoJSON FeatureCollection.",
    )
    parser.add_argument("path", help="radar volume (NEXRAD, ODIM HDF5, CfRadial, Sigmet, UF, ...)")
    parser.add_argument("--sounding", help="sounding file (CSV, University of Wyoming text, HDF5)")
    parser.add_argument("--h0", type=_metres, metavar="METRES_ASL", help="0 degC height")
    parser.add_argument("--h20", type=_metres, metavar="METRES_ASL", help="-20 degC height")
    return parser


def _seasonal_from_env() -> tuple[float, float]:
    from radar.levels import DEFAULT_SEASONAL_H0_M, DEFAULT_SEASONAL_H20_M

    def read(name: str, default: float) -> float:
        raw = os.environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return _metres(raw)
        except ValueError:
            raise _UsageError(f"{name} must be a number of metres, got {raw!r}") from None

    return (
        read("HAILOPS_SEASONAL_H0_M", DEFAULT_SEASONAL_H0_M),
        read("HAILOPS_SEASONAL_H20_M", DEFAULT_SEASONAL_H20_M),
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def detect_main(argv: Sequence[str] | None = None) -> int:
    """Run ``hailops radar detect`` with ``argv`` (the arguments after ``detect``)."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except _UsageError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    logging.getLogger("radar").addHandler(logging.NullHandler())
    try:
        from radar.detect import detect_volume, volume_to_geojson
        from radar.levels import (
            levels_from_sounding,
            levels_from_values,
            seasonal_default_levels,
        )

        if (args.h0 is None) != (args.h20 is None):
            raise _UsageError("--h0 and --h20 must be given together")
        if args.sounding and args.h0 is not None:
            raise _UsageError("give either --sounding or --h0/--h20, not both")
        if not os.path.exists(args.path):
            raise _UsageError(f"{args.path}: no such file")
        if not os.path.isfile(args.path):
            raise _UsageError(f"{args.path}: not a regular file")
        if args.sounding:
            levels = levels_from_sounding(args.sounding)
        elif args.h0 is not None:
            levels = levels_from_values(args.h0, args.h20, source="cli")
        else:
            h0, h20 = _seasonal_from_env()
            levels = seasonal_default_levels(h0_m=h0, h20_m=h20)
        result = detect_volume(args.path, levels)
        text = json.dumps(volume_to_geojson(result), ensure_ascii=False, allow_nan=False)
    except _UsageError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except RadarError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a command-line tool answers in one line
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr
        )
        return 1
    sys.stdout.write(text + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m radar.cli detect ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "detect":
        print(
            "usage: python -m radar.cli detect PATH [--sounding PATH] [--h0 M --h20 M]",
            file=sys.stderr,
        )
        return 2
    return detect_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
