"""Issue 12: ``make lint`` enforces ruff format and mypy strict on the shell and the core —
no file of ``radar/`` or ``command/`` on the format ratchet, no mypy relaxation for them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("radar", "command")
#: mypy options that switch a strict check off (the value that relaxes it).
RELAXING = {
    "ignore_errors": True,
    "strict": False,
    "disallow_untyped_defs": False,
    "disallow_incomplete_defs": False,
    "disallow_untyped_calls": False,
    "disallow_untyped_decorators": False,
    "disallow_subclassing_any": False,
    "disallow_any_generics": False,
    "warn_return_any": False,
    "warn_unused_ignores": False,
    "check_untyped_defs": False,
    "no_implicit_reexport": False,
    "strict_equality": False,
}


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _relaxations(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in RELAXING and v == RELAXING[k]}


def test_make_lint_checks_format_and_types_of_radar_and_command() -> None:
    lint = (REPO / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1]
    lint = lint.split("\n\n", 1)[0]
    assert "ruff format --check ." in lint
    mypy_line = next(line for line in lint.splitlines() if "mypy" in line)
    assert all(package in mypy_line.split() for package in PACKAGES)


def test_no_radar_or_command_file_is_on_the_format_ratchet() -> None:
    ruff = _pyproject()["tool"]["ruff"]
    excluded = ruff.get("format", {}).get("exclude", []) + ruff.get("extend-exclude", [])
    on_ratchet = [
        p
        for p in excluded
        if p.split("/")[0] in PACKAGES and not p.startswith("command/migrations/versions")
    ]
    assert on_ratchet == []


def test_mypy_is_strict_on_radar_and_command_without_exemptions() -> None:
    mypy = _pyproject()["tool"]["mypy"]
    assert _relaxations(mypy) == {}, "a global relaxation reaches radar and command"
    overrides = mypy.get("overrides", [])
    strict = set()
    for override in overrides:
        modules = override["module"]
        modules = [modules] if isinstance(modules, str) else modules
        ours = [m for m in modules if m.split(".")[0] in PACKAGES]
        if override.get("strict"):
            strict.update(ours)
        assert not ours or _relaxations(override) == {}, (ours, _relaxations(override))
    assert {"radar.*", "command.*"} <= strict
