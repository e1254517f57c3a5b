"""The shell of hailops: web app, sockets, auth, scheduler wiring and the CLI.

``create_app`` is imported lazily so that ``hailops radar detect`` and other core commands
run without importing Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from command.app import create_app as _create_app

    return _create_app(config)
