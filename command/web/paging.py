"""Bounded, paged lists: ``?limit=`` (clamped), an opaque keyset ``?cursor=`` and ISO time
bounds.  A list endpoint returns at most ``limit`` items and ``next_cursor`` (``null`` on the
last page); following the cursors visits every item once, in order, however large the table.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import request

from command.errors import Unprocessable

F = TypeVar("F", bound=Callable[..., Any])


def limit_arg(default: int, maximum: int) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Unprocessable("invalid limit", {"limit": f"whole number 1..{maximum}"}) from None
    if value < 1:
        raise Unprocessable("invalid limit", {"limit": f"whole number 1..{maximum}"})
    return min(value, maximum)


def time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(f"invalid {name}", {name: "ISO 8601 time with a UTC offset"}) from None
    if value.tzinfo is None:
        raise Unprocessable(f"invalid {name}", {name: "ISO 8601 time with a UTC offset"})
    return value


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def cursor_arg(kinds: tuple[type, ...]) -> list[Any] | None:
    """The decoded keyset position ``?cursor=`` (``None`` for the first page); each element is
    checked against ``kinds`` (``datetime`` elements travel as ISO strings)."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    bad = Unprocessable("invalid cursor", {"cursor": "pass back next_cursor unchanged"})
    try:
        key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(key, list) or len(key) != len(kinds):
        raise bad
    out: list[Any] = []
    for value, kind in zip(key, kinds, strict=True):
        if kind is datetime:
            if not isinstance(value, str):
                raise bad
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise bad from None
            if value.tzinfo is None:
                raise bad
        elif not isinstance(value, kind) or isinstance(value, bool):
            raise bad
        out.append(value)
    return out


def page(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Split a ``limit + 1`` fetch into the page and the cursor of the next one."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(
        [v.isoformat() if isinstance(v, datetime) else v for v in key(rows[-1])]
    )


def documented_query(params: list[dict[str, Any]]) -> Callable[[F], F]:
    """Attach a list view's query parameters to it, for the generated OpenAPI document."""

    def mark(view: F) -> F:
        view.__hailops_query__ = params  # type: ignore[attr-defined]
        return view

    return mark


def openapi_params(
    *,
    limit_default: int,
    limit_max: int,
    times: dict[str, str] | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """OpenAPI query parameters of a paged list."""
    params: list[dict[str, Any]] = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": limit_max,
                "default": limit_default,
            },
            "description": f"page size (default {limit_default}, larger values are clamped to {limit_max})",
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "next_cursor of the previous page (opaque)",
        },
    ]
    for name, text in (times or {}).items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "string", "format": "date-time"},
                "description": text,
            }
        )
    return params + list(extra or [])
