"""One blueprint per feature."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from command.office import web as office
    from command.web import alerts, api, consoles, drills, main, ops

    return [main.bp, api.bp, ops.bp, alerts.bp, consoles.bp, drills.bp, office.bp]
