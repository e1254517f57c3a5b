"""The OpenAPI 3.1 document of the JSON API, served at ``/api/openapi.json``.

Generated from the application itself: every ``/api`` rule of the URL map with its path
parameters (typed by their converters), and, for write routes, the pydantic body model the
route validates with (``command.web.schemas.validated``).  Routes added later appear without
anyone editing this file; a summary comes from the view's docstring when none is listed here.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from command.operations import ACTIONS

_ERR = {"$ref": "#/components/schemas/Error"}
WHO = {
    "authorize": "commander",
    "request-clearance": "commander",
    "grant": "atc, military",
    "deny": "atc, military",
    "revoke": "atc, military",
    "order": "commander",
    "acknowledge": "county_operator of the site's county",
    "start-firing": "county_operator",
    "report": "county_operator",
    "written-report": "county_operator",
    "cancel": "commander",
    "recall": "commander",
    "amend": "commander",
}
DRILL_ACTIONS = ("pause", "resume", "stop")

# (path with "{}" for each parameter, method) -> summary, where a docstring says less.
SUMMARIES: dict[tuple[str, str], str] = {
    ("/api/airspace", "get"): "Airport and no-fire areas (GeoJSON)",
    ("/api/cells/arrivals", "get"): "Predicted arrival of cells (?cells=a,b) in counties and sites",
    (
        "/api/cells/latest",
        "get",
    ): "Cells of the latest live volume with record ids, review state, track motion and arrivals",
    ("/api/cells/{}/cap.xml", "get"): "A hail warning as CAP 1.2 XML (?counties=a,b)",
    ("/api/cells/{}/review", "post"): "Forecaster confirms or dismisses a cell",
    ("/api/cells/{}/warning", "post"): "Issue a hail warning for counties (forecaster)",
    ("/api/counties", "get"): "County outlines (GeoJSON)",
    ("/api/drills", "get"): "Drills (latest first)",
    (
        "/api/drills",
        "post",
    ): "Start a drill (admin): event, speed, relocate_to, auto_approve, script",
    ("/api/drills/{}/report", "get"): "Drill report (?format=json|html|pdf; id may be latest)",
    ("/api/drills/{}/state", "get"): "A drill's latest volume and operations",
    ("/api/live/seq", "get"): "Last live event sequence number",
    ("/api/live/state", "get"): "Latest volume (cells, tracks, overlays) and event seq",
    ("/api/me", "get"): "The authenticated user",
    ("/api/member-units", "get"): "Member units and liaisons",
    ("/api/member/overview", "get"): "Read-only overview for member units",
    (
        "/api/operations",
        "get",
    ): "Operations visible to the user, newest first, paged (default: open ones and those created in the last 7 days)",
    ("/api/operations", "post"): "Propose an operation (Idempotency-Key header honoured)",
    ("/api/operations/{}", "get"): "One operation with clocks and clearance",
    (
        "/api/operations/{}/clearance-request",
        "get",
    ): "The airspace application (QX/T 422-2018 items; ?format=text)",
    ("/api/recommendations", "get"): "Site-to-cell recommendations for the latest volume",
    ("/api/sites", "get"): "Operation sites (county operators: their county)",
    ("/api/sites/export", "get"): "Registry as GeoJSON or CSV (?format=csv)",
    ("/api/sites/import", "post"): "Import a registry (GeoJSON or CSV), all or nothing",
    ("/api/sites/{code}", "get"): "One site with ammunition stock",
    ("/api/sites/{code}/readiness", "patch"): "Set readiness",
    ("/api/sites/{code}/restock", "post"): "Add ammunition to a site's ledger",
    ("/api/standing-agreements", "get"): "Active standing agreements",
    (
        "/api/standing-agreements",
        "post",
    ): "Pre-agree sectors, ceiling and hours for a site (atc/military)",
    ("/api/standing-agreements/{}", "delete"): "Withdraw an agreement",
    ("/api/volumes", "get"): "Volumes in scan-time order, paged (default: the last two hours)",
    ("/api/volumes/{}", "get"): "One volume",
    ("/api/warnings", "get"): "Warnings issued, newest first, paged",
    ("/healthz", "get"): "Database, scheduler and radar-feed status (no login)",
}
ERROR_TEXT = {
    400: "malformed request",
    401: "login or token required",
    403: "role or county not allowed",
    404: "not found",
    409: "illegal transition / conflict",
    413: "request body too large",
    422: "validation failed: every field problem in details",
    429: "too many requests",
}
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "IntegerConverter": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "FloatConverter": {"type": "number", "minimum": 0},
    "PathConverter": {"type": "string", "minLength": 1},
    "UUIDConverter": {"type": "string", "format": "uuid"},
}
_SEGMENT = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_.:-]+$"}


def _path_and_params(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for name, converter in rule._converters.items():  # noqa: SLF001
        schema = dict(_CONVERTER_SCHEMAS.get(type(converter).__name__, _SEGMENT))
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>", r"{\1}", rule.rule)
    return path, params


def _summary(view: Any, path: str, method: str) -> str:
    key = (re.sub(r"\{[^}]+\}", "{}", path), method)
    if key in SUMMARIES:
        return SUMMARIES[key]
    doc = (view.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split()) or view.__name__.replace("_", " ")


def _responses(method: str, has_params: bool, has_body: bool, public: bool) -> dict[str, Any]:
    ok = "201" if method == "post" else "200"
    out: dict[str, Any] = {ok: {"description": "OK"}}
    if method == "post":
        out["200"] = {"description": "OK (or an idempotent replay)"}
    codes = [400, 413, 422] if has_body else []
    if not public:
        codes = [401, 403, 429, *codes]
    if has_params or method != "get":
        codes += [404, 409]
    for code in sorted(set(codes)):
        out[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": _ERR}},
        }
    return out


def _operations(app: Flask) -> list[tuple[str, str, Any, list[dict[str, Any]], Any]]:
    """(path, method, view, path parameters, body model or None) for every API operation;
    a route whose body depends on an ``action`` parameter is one operation per action."""
    from command.web.schemas import action_body

    out: list[tuple[str, str, Any, list[dict[str, Any]], Any]] = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule == "/healthz"):
            continue
        view = app.view_functions[rule.endpoint]
        path, params = _path_and_params(rule)
        model = getattr(view, "__hailops_body__", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            if rule.endpoint == "ops.operation_action":
                for action in ACTIONS:
                    out.append(
                        (
                            path.replace("{action}", action),
                            m,
                            view,
                            [p for p in params if p["name"] != "action"],
                            action_body(action),
                        )
                    )
                continue
            if rule.endpoint == "drills.control":
                params = [
                    p
                    if p["name"] != "action"
                    else p | {"schema": {"type": "string", "enum": list(DRILL_ACTIONS)}}
                    for p in params
                ]
            out.append(
                (path, m, view, params, model if isinstance(model, type) or model is None else None)
            )
    return sorted(out, key=lambda o: (o[0], o[1]))


def _form_content(
    model: Any, files: dict[str, str], ref: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    """The multipart form of a model: its fields as form fields (strings on the wire, read
    as the model's types) plus the file uploads."""
    fields = schemas.get(model.__name__, {})
    props = {
        name: {"type": "string", "format": "binary", "description": text}
        for name, text in files.items()
    }
    return {
        "schema": {
            "type": "object",
            "required": list(fields.get("required", [])),
            "properties": {**fields.get("properties", {}), **props},
        },
        "encoding": {name: {"contentType": "application/octet-stream"} for name in files},
    }


def document(app: Flask | None = None) -> dict[str, Any]:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ops = _operations(app)
    models = sorted({o[4] for o in ops if o[4] is not None}, key=lambda m: m.__name__)
    _, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, Any] = {}
    for path, method, view, params, model in ops:
        public = path in ("/healthz", "/api/openapi.json")
        op: dict[str, Any] = {
            "operationId": f"{view.__name__}_{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path)}".strip(
                "_"
            ),
            "summary": _summary(view, path, method),
            "responses": _responses(method, bool(params), model is not None, public),
        }
        if "/operations/" in path and method == "post" and path.count("/") == 4:
            action = path.rsplit("/", 1)[1]
            op["summary"] = f"{action} ({WHO.get(action, 'see the role rules')})"
        query = getattr(view, "__hailops_query__", None) if method == "get" else None
        if params or query:
            op["parameters"] = list(params) + list(query or [])
        if getattr(view, "__hailops_replayable__", False):
            op.setdefault("parameters", []).append(
                {"$ref": "#/components/parameters/IdempotencyKey"}
            )
        upload = getattr(view, "__hailops_request_body__", None)
        if model is not None:
            ref = {"$ref": f"#/components/schemas/{model.__name__}"}
            content: dict[str, Any] = {"application/json": {"schema": ref}}
            files = getattr(view, "__hailops_form_files__", None)
            if files:
                content["multipart/form-data"] = _form_content(model, files, ref, schemas)
            op["requestBody"] = {"required": False, "content": content}
        elif upload is not None:
            op["requestBody"] = {"required": True, "content": upload}
        elif method in ("post", "put", "patch"):
            # A route that checks its body itself: published as "some JSON object".
            op["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        if public:
            op["security"] = []
        paths.setdefault(path, {})[method] = op
    schemas["Error"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"description": "field (dotted path) -> problem, or a list of problems"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hailops API",
            "version": "0.2.0",
            "description": "Hail suppression operations command system. Authenticate with a "
            "session cookie (browsers; send X-CSRFToken on writes) or "
            "`Authorization: Bearer <token>` (`hailops users token NAME`). "
            "Generated from the routes and their pydantic body models.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "retries with the same key apply once",
                }
            },
            "schemas": schemas,
        },
    }
