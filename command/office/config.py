"""The deployment's office configuration (``sites.neighbours``), cached per directory."""

from __future__ import annotations

from functools import lru_cache

from sites.neighbours import OfficeConfig, load_office


@lru_cache(maxsize=4)
def _load(path: str | None) -> OfficeConfig:
    return load_office(path)


def office_config() -> OfficeConfig:
    from flask import current_app, has_app_context

    path = None
    if has_app_context():
        configured = current_app.config["HAILOPS"].deployment_dir
        path = str(configured) if configured else None
    return _load(path)


def bulletin_prefix() -> str:
    from flask import current_app

    return current_app.config["HAILOPS"].bulletin_prefix or office_config().bulletin_prefix
