"""Exceptions of the ``dispatch`` package.

The core knows no HTTP codes.  The shell maps them to its JSON error envelope
``{code, message, details}``: :class:`IllegalTransition` → 409, :class:`PermissionDenied` →
403, :class:`ValidationFailed` → 422 (``details`` = :attr:`ValidationFailed.field_errors`),
:class:`AmmunitionError` and :class:`ClearanceViolation` → 409 (the request is well formed
but the state of the world refuses it).
"""

from __future__ import annotations

from collections.abc import Mapping


class DispatchError(Exception):
    """Base of every error raised by the ``dispatch`` package."""


class IllegalTransition(DispatchError):
    """The action is not allowed from the operation's current state (or not yet / no more)."""

    def __init__(self, message: str, *, state: str = "", action: str = "") -> None:
        super().__init__(message)
        self.state = state
        self.action = action


class PermissionDenied(DispatchError):
    """The actor's role or county does not allow this action on this operation."""


class ValidationFailed(DispatchError):
    """The input is malformed; ``field_errors`` maps a field name to what is wrong with it."""

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors: dict[str, str] = dict(field_errors)
        detail = "; ".join(f"{name}: {problem}" for name, problem in self.field_errors.items())
        super().__init__(f"invalid input: {detail}")


class AmmunitionError(DispatchError):
    """A ledger movement would make a stock negative (or names an unknown quantity)."""


class ClearanceViolation(DispatchError):
    """An order would lie outside the airspace actually cleared (time, sector or altitude)."""
