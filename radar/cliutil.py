"""What the core command-line tools share: argument errors as exceptions, the level options
and their rules, and one way of answering (exit 0 with the document on stdout; exit 2 with
one line on stderr for bad input; exit 1 with one line for an internal error)."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from radar.errors import RadarError
from radar.model import TemperatureLevels


class UsageError(Exception):
    """Bad input given to a command (exit 2)."""


class ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def metres(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def add_level_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sounding", help="sounding file (CSV, University of Wyoming text, HDF5)")
    parser.add_argument("--h0", type=metres, metavar="METRES_ASL", help="0 degC height")
    parser.add_argument("--h20", type=metres, metavar="METRES_ASL", help="-20 degC height")


def seasonal_from_env() -> tuple[float, float]:
    from radar.levels import DEFAULT_SEASONAL_H0_M, DEFAULT_SEASONAL_H20_M

    def read(name: str, default: float) -> float:
        raw = os.environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return metres(raw)
        except ValueError:
            raise UsageError(f"{name} must be a number of metres, got {raw!r}") from None

    return (
        read("HAILOPS_SEASONAL_H0_M", DEFAULT_SEASONAL_H0_M),
        read("HAILOPS_SEASONAL_H20_M", DEFAULT_SEASONAL_H20_M),
    )


def resolve_levels(args: Any) -> TemperatureLevels:
    """A sounding, or --h0/--h20 together, or the configured seasonal default."""
    from radar.levels import levels_from_sounding, levels_from_values, seasonal_default_levels

    if (args.h0 is None) != (args.h20 is None):
        raise UsageError("--h0 and --h20 must be given together")
    if args.sounding and args.h0 is not None:
        raise UsageError("give either --sounding or --h0/--h20, not both")
    if args.sounding:
        return levels_from_sounding(args.sounding)
    if args.h0 is not None:
        return levels_from_values(args.h0, args.h20, source="cli")
    h0, h20 = seasonal_from_env()
    return seasonal_default_levels(h0_m=h0, h20_m=h20)


def run_command(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    body: Callable[[argparse.Namespace], str],
    bad_input: tuple[type[BaseException], ...] = (),
) -> int:
    """Parse ``argv``, run ``body`` and answer as every core command does."""
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(f"{prog}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    logging.getLogger("radar").addHandler(logging.NullHandler())
    bad: tuple[type[BaseException], ...] = (UsageError, RadarError, *bad_input)
    try:
        text = body(args)
    except bad as exc:
        print(f"{prog}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a command-line tool answers in one line
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(str(exc))}", file=sys.stderr
        )
        return 1
    sys.stdout.write(text + "\n")
    return 0
