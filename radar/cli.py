"""``hailops radar detect PATH [--sounding PATH] [--h0 M --h20 M]``: cells as GeoJSON on stdout.

Exit status: 0 success (an incomplete volume — sweeps missing, stream cut short — is
processed as far as it is valid, flagged in the collection's ``complete``/``sweeps_expected``/
``sweeps_read`` and named in one ``warning:`` line on stderr); 2 bad input (missing or unreadable volume or sounding, inconsistent
levels, bad options) with exactly one line on stderr; 1 an unexpected internal error, also
one line.  Without ``--sounding`` or ``--h0/--h20`` the configured seasonal levels are used
(``HAILOPS_SEASONAL_H0_M`` / ``HAILOPS_SEASONAL_H20_M``, defaults 4300 / 7600 m) and
``levels_source`` says so.  Imports no web framework.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from radar.cliutil import ArgParser, UsageError, add_level_options, resolve_levels, run_command

PROG = "hailops radar detect"


def _parser() -> argparse.ArgumentParser:
    parser = ArgParser(
        prog=PROG,
        description="Detect hail cells in one radar volume; print a GeoJSON FeatureCollection.",
    )
    parser.add_argument("path", help="radar volume (NEXRAD, ODIM HDF5, CfRadial, Sigmet, UF, ...)")
    add_level_options(parser)
    return parser


def _detect(args: argparse.Namespace) -> str:
    from radar.detect import detect_volume, volume_to_geojson

    levels = resolve_levels(args)  # the level options are checked before the file
    if not os.path.exists(args.path):
        raise UsageError(f"{args.path}: no such file")
    if not os.path.isfile(args.path):
        raise UsageError(f"{args.path}: not a regular file")
    result = detect_volume(args.path, levels)
    if not result.complete:
        # Still a result (exit 0): processed as far as the volume is valid, and said so.
        print(
            f"{PROG}: warning: {args.path}: incomplete volume ({result.sweeps_read} of "
            f"{result.sweeps_expected if result.sweeps_expected is not None else '?'} sweeps): "
            f"{' '.join(str(result.incomplete_reason).split())}",
            file=sys.stderr,
        )
    return json.dumps(volume_to_geojson(result), ensure_ascii=False, allow_nan=False)


def detect_main(argv: Sequence[str] | None = None) -> int:
    """Run ``hailops radar detect`` with ``argv`` (the arguments after ``detect``)."""
    return run_command(PROG, _parser(), argv, _detect)


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
