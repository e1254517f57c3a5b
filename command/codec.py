"""A JSON codec for the core's frozen dataclasses (operations with their history, clearance
requests and decisions, reports), driven by their type hints.

Dataclass values carry their class name (``"__type__"``) so unions such as
``Grant | Denial | Revocation`` decode to the right class.  Datetimes are ISO 8601 with
offset; enums by value; tuples as lists.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from datetime import datetime, time
from functools import cache
from typing import Any

JSON = Any


def encode(value: Any) -> JSON:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__type__": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name.startswith("_"):
                continue
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime cannot be encoded")
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    module = sys.modules[cls.__module__]
    return typing.get_type_hints(cls, vars(module))


def decode(tp: Any, data: JSON) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if isinstance(data, dict) and "__type__" in data:
            for option in options:
                if (
                    isinstance(option, type)
                    and dataclasses.is_dataclass(option)
                    and (option.__name__ == data["__type__"])
                ):
                    return decode(option, data)
        return decode(options[0], data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {tp.__name__}")
        hints = _hints(tp)
        kwargs = {
            f.name: decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.init and f.name in data
        }
        return tp(**kwargs)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin in (list, typing.List):  # noqa: UP006
        return [decode(args[0], v) for v in data]
    if origin in (frozenset, set):
        return origin(decode(args[0], v) for v in data)
    if origin is dict or origin is typing.Mapping or tp is dict:
        vt = args[1] if args else Any
        return {k: decode(vt, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is time:
        return time.fromisoformat(data)
    if tp is float:
        return float(data)
    if tp in (int, str, bool):
        return tp(data)
    if tp is type(None):
        return None
    return data
