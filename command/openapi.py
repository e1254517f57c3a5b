"""The OpenAPI 3.1 document of the JSON API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from command.operations import ACTIONS
from command.web.paging import openapi_params

_ERR = {"$ref": "#/components/schemas/Error"}
_TIME = {"type": "string", "format": "date-time"}
_WINDOW = {"type": "array", "items": _TIME, "minItems": 2, "maxItems": 2,
           "description": "[start, end], ISO 8601 with offset"}
_SECTORS = {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                       "minItems": 2, "maxItems": 2},
            "description": "[[start_deg, end_deg], ...] clockwise, may wrap through north"}

ACTION_BODIES: dict[str, dict[str, Any]] = {
    "authorize": {"type": "object"},
    "request-clearance": {"type": "object", "properties": {
        "sectors": _SECTORS, "floor_m": {"type": "number"}, "ceiling_m": {"type": "number"},
        "window": _WINDOW, "purpose": {"type": "string"}}},
    "grant": {"type": "object", "properties": {"window": _WINDOW, "sectors": _SECTORS,
                                               "ceiling_m": {"type": "number"}},
              "description": "grant as requested, or narrower"},
    "deny": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
    "revoke": {"type": "object", "properties": {"reason": {"type": "string"}}},
    "order": {"type": "object"},
    "acknowledge": {"type": "object"},
    "start-firing": {"type": "object", "properties": {"azimuth_deg": {"type": "number"},
                                                      "elevation_deg": {"type": "number"}}},
    "report": {"type": "object", "required": ["started_at", "ended_at", "rounds"], "properties": {
        "started_at": _TIME, "ended_at": _TIME,
        "rounds": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "observation": {"type": "string", "enum": ["hail", "rain", "none"]},
        "bursts": {"type": "array", "items": {"type": "object", "properties": {
            "at": _TIME, "azimuth_deg": {"type": "number"}, "elevation_deg": {"type": "number"},
            "ammo_type": {"type": "string"}, "rounds": {"type": "integer"},
            "altitude_m": {"type": "number"}}}},
        "remarks": {"type": "string"}}},
    "written-report": {"type": "object"},
    "cancel": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
    "recall": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
    "amend": {"type": "object", "properties": {
        "fit": {"type": "boolean", "description": "apply the server's amendment into the cleared airspace"},
        "azimuth_deg": {"type": "number"}, "elevation_deg": {"type": "number"},
        "max_altitude_m": {"type": "number"}}},
}
WHO = {"authorize": "commander", "request-clearance": "commander", "grant": "atc, military",
       "deny": "atc, military", "revoke": "atc, military", "order": "commander",
       "acknowledge": "county_operator of the site's county", "start-firing": "county_operator",
       "report": "county_operator", "written-report": "county_operator",
       "cancel": "commander", "recall": "commander", "amend": "commander"}


def _responses(ok: str = "OK", extra: tuple[int, ...] = (403, 422)) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": ok}, "401": {"description": "login or token required",
                                                               "content": {"application/json": {"schema": _ERR}}}}
    for code in extra:
        out[str(code)] = {"description": {403: "role or county not allowed",
                                          404: "not found", 409: "illegal transition / conflict",
                                          422: "validation failed (field-level details)"}[code],
                          "content": {"application/json": {"schema": _ERR}}}
    return out


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/healthz": {"get": {"summary": "Database, scheduler and radar-feed status (no login)",
                             "security": [], "responses": {"200": {"description": "OK"}}}},
        "/api/me": {"get": {"summary": "The authenticated user", "responses": _responses()}},
        "/api/counties": {"get": {"summary": "County outlines (GeoJSON)", "responses": _responses()}},
        "/api/sites": {"get": {"summary": "Operation sites (county operators: their county)",
                               "responses": _responses()}},
        "/api/sites/{code}": {"get": {"summary": "One site with ammunition stock",
                                      "responses": _responses(extra=(404,))}},
        "/api/sites/export": {"get": {"summary": "Registry as GeoJSON or CSV (?format=csv)",
                                      "responses": _responses(extra=(403,))}},
        "/api/sites/import": {"post": {"summary": "Import a registry (GeoJSON or CSV), all or nothing",
                                       "responses": _responses()}},
        "/api/sites/{code}/readiness": {"patch": {"summary": "Set readiness", "requestBody": {
            "content": {"application/json": {"schema": {"type": "object", "required": ["readiness"],
                                                        "properties": {"readiness": {"type": "string", "enum": [
                                                            "ready", "standby", "offline", "firing",
                                                            "out_of_ammunition"]}}}}}},
            "responses": _responses()}},
        "/api/sites/{code}/restock": {"post": {"summary": "Add ammunition to a site's ledger",
                                               "responses": _responses()}},
        "/api/member-units": {"get": {"summary": "Member units and liaisons", "responses": _responses()}},
        "/api/live/state": {"get": {"summary": "Latest volume (cells, tracks, overlays) and event seq",
                                    "responses": _responses()}},
        "/api/volumes": {"get": {"summary": "Volumes in scan-time order, paged (default: the last two hours)",
                                 "parameters": openapi_params(
                                     limit_default=200, limit_max=1000,
                                     times={"since": "scan time from (default: two hours ago)",
                                            "until": "scan time up to"}),
                                 "responses": _responses()}},
        "/api/volumes/{id}": {"get": {"summary": "One volume", "responses": _responses(extra=(404,))}},
        "/api/cells/{id}/review": {"post": {"summary": "Forecaster confirms or dismisses a cell",
                                            "responses": _responses()}},
        "/api/recommendations": {"get": {"summary": "Site-to-cell recommendations for the latest volume",
                                         "responses": _responses()}},
        "/api/operations": {
            "get": {"summary": "Operations visible to the user, newest first, paged (default: open "
                               "ones and those created in the last 7 days)",
                    "parameters": openapi_params(
                        limit_default=100, limit_max=500,
                        times={"since": "created from (replaces the default range)",
                               "until": "created up to"},
                        extra=[{"name": "state", "in": "query", "required": False,
                                "schema": {"type": "string"}, "description": "states, comma-separated"},
                               {"name": "open", "in": "query", "required": False,
                                "schema": {"type": "boolean"}, "description": "only open operations"}]),
                    "responses": _responses()},
            "post": {"summary": "Propose an operation (Idempotency-Key header honoured)",
                     "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                     "requestBody": {"content": {"application/json": {"schema": {
                         "type": "object", "required": ["cell_id", "site_code", "window",
                                                        "azimuth_deg", "elevation_deg",
                                                        "quantity", "max_altitude_m"],
                         "properties": {"cell_id": {"type": "string"}, "site_code": {"type": "string"},
                                        "window": _WINDOW, "azimuth_deg": {"type": "number"},
                                        "elevation_deg": {"type": "number"},
                                        "quantity": {"type": "object", "additionalProperties": {"type": "integer"}},
                                        "max_altitude_m": {"type": "number"}}}}}},
                     "responses": {"201": {"description": "created"}, **_responses()}}},
        "/api/operations/{id}": {"get": {"summary": "One operation with clocks and clearance",
                                         "responses": _responses(extra=(404,))}},
        "/api/operations/{id}/clearance-request": {"get": {
            "summary": "The airspace application (QX/T 422-2018 items; ?format=text)",
            "responses": _responses(extra=(403, 404))}},
        "/api/standing-agreements": {
            "get": {"summary": "Active standing agreements", "responses": _responses()},
            "post": {"summary": "Pre-agree sectors, ceiling and hours for a site (atc/military)",
                     "responses": {"201": {"description": "created"}, **_responses()}}},
        "/api/standing-agreements/{id}": {"delete": {"summary": "Withdraw an agreement",
                                                     "responses": _responses(extra=(403, 404))}},
        "/api/cells/latest": {"get": {"summary": "Cells of the latest live volume with record ids, "
                                                 "review state, track motion and arrivals",
                                      "responses": _responses()}},
        "/api/cells/arrivals": {"get": {"summary": "Predicted arrival of cells (?cells=a,b) in counties and sites",
                                        "responses": _responses()}},
        "/api/cells/{id}/cap.xml": {"get": {"summary": "A hail warning as CAP 1.2 XML (?counties=a,b)",
                                            "responses": _responses(extra=(404, 422))}},
        "/api/cells/{id}/warning": {"post": {"summary": "Issue a hail warning for counties (forecaster)",
                                             "responses": _responses(extra=(403, 404, 422))}},
        "/api/warnings": {"get": {"summary": "Warnings issued, newest first, paged",
                                  "parameters": openapi_params(limit_default=200, limit_max=500, extra=[
                                      {"name": "hours", "in": "query", "required": False,
                                       "schema": {"type": "integer", "minimum": 1, "maximum": 168,
                                                  "default": 24}}]),
                                  "responses": _responses()}},
        "/api/airspace": {"get": {"summary": "Airport and no-fire areas (GeoJSON)", "responses": _responses()}},
        "/api/member/overview": {"get": {"summary": "Read-only overview for member units",
                                         "responses": _responses()}},
        "/api/live/seq": {"get": {"summary": "Last live event sequence number", "responses": _responses()}},
        "/api/drills": {
            "get": {"summary": "Drills (latest first)", "responses": _responses()},
            "post": {"summary": "Start a drill (admin): event, speed, relocate_to, auto_approve, script",
                     "responses": {"201": {"description": "started"}, **_responses()}}},
        "/api/drills/{id}/{action}": {"post": {"summary": "pause | resume | stop (admin)",
                                               "responses": _responses(extra=(403, 404, 409))}},
        "/api/drills/{id}/state": {"get": {"summary": "A drill's latest volume and operations",
                                           "responses": _responses(extra=(404,))}},
        "/api/drills/{id}/report": {"get": {"summary": "Drill report (?format=json|html|pdf; id may be latest)",
                                            "responses": _responses(extra=(404,))}},
    }
    for action in ACTIONS:
        paths[f"/api/operations/{{id}}/{action}"] = {"post": {
            "summary": f"{action} ({WHO[action]})",
            "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": {"content": {"application/json": {"schema": ACTION_BODIES[action]}}},
            "responses": _responses(extra=(403, 404, 409, 422))}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "hailops API", "version": "0.1.0",
                 "description": "Hail suppression operations command system. Authenticate with a "
                                "session cookie (browsers; send X-CSRFToken on writes) or "
                                "`Authorization: Bearer <token>` (`hailops users token NAME`)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "parameters": {"IdempotencyKey": {"name": "Idempotency-Key", "in": "header",
                                              "required": False, "schema": {"type": "string"},
                                              "description": "retries with the same key apply once"}},
            "schemas": {"Error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "details": {"description": "field -> problem, or a list of problems"}}}},
        },
    }
