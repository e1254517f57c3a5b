"""Issue 13: schemathesis against the generated OpenAPI document, as a commander and as a
county operator: every operation gets schema-valid and schema-violating requests, some with
real path parameters (an existing site, operation, cell, drill); none may answer 5xx.

Bounded (a few examples per operation) so it runs in about a minute; the figures are written
to test-artifacts/schemathesis_<role>.json."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.web.test_operations_flow import _token

pytestmark = [pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXAMPLES_PER_MODE = 4


def _world(app, client_token: str) -> dict[str, str]:
    """An operation, a drill and a cell to aim the path parameters at."""
    from command.drill import create_drill, resolve_event
    from command.extensions import get_db

    now = datetime.now(UTC)
    resp = app.test_client().post(
        "/api/operations",
        headers={"Authorization": f"Bearer {client_token}"},
        json={
            "cell_id": "C1",
            "site_code": "LS-01",
            "window": [now.isoformat(), (now + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": 4},
            "max_altitude_m": 6000.0,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    with app.app_context(), get_db().session() as s:
        drill = create_drill(s, resolve_event(s, "canberra_20181220"), speed=1, started_by="test")
        s.commit()
        drill_id = drill.id
    return {
        "op_id": resp.get_json()["id"],
        "code": "LS-01",
        "drill_id": drill_id,
        "key": "cma",
        "username": "member",
        "agreement_id": "SA-none",
    }


def _fuzz(operation, mode, known, auth, stats, failures, examples=EXAMPLES_PER_MODE) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    counter = {"n": 0}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        counter["n"] += 1
        if counter["n"] % 2 and case.path_parameters:
            # Every other case aims at things that exist, to get past the 404s.
            case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
        stats["requests"] += 1
        if "media_types" in stats and case.media_type:
            stats["media_types"][case.media_type] = stats["media_types"].get(case.media_type, 0) + 1
        try:
            response = case.call(headers=auth)
            status, text = response.status_code, response.text
        except Exception as exc:  # noqa: BLE001 - TESTING propagates what would be a 500
            status, text = 500, repr(exc)
        stats["by_status"][str(status)] = stats["by_status"].get(str(status), 0) + 1
        if status >= 500:
            stats["5xx"] += 1
            failures.append(
                f"{case.method} {case.formatted_path} {case.path_parameters} "
                f"{case.body!r:.300} -> {status} {text[:300]}"
            )

    # Unsatisfiable: nothing in this operation can be made schema-violating (no parameters).
    with contextlib.suppress(Unsatisfiable):
        run()


@pytest.mark.parametrize("username", ["commander", "county_operator"])
def test_no_operation_answers_5xx(app, users, seeded, username):
    import schemathesis
    from schemathesis import GenerationMode

    token = _token(app, username)
    known = _world(app, _token(app, "commander"))
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    stats = {"operations": 0, "requests": 0, "5xx": 0, "by_status": {}}
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        stats["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, known, auth, stats, failures)

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"schemathesis_{username}.json").write_text(json.dumps(stats, indent=1))
    print(f"schemathesis as {username}: {stats}")
    assert stats["operations"] >= 40 and stats["requests"] >= stats["operations"] * 4
    assert failures == [], "\n".join(failures[:20])


UPLOADS = {("POST", "/api/sites/import"), ("POST", "/api/office/ground-reports")}


def test_uploads_as_published_answer_no_5xx(app, users, seeded):
    """Issue 13: the site import (multipart, CSV or GeoJSON) and the ground report (JSON or a
    multipart form with a photo) are published with their request bodies, so schemathesis
    sends each media type; as an admin (who may import), none may answer 5xx."""
    import schemathesis
    from schemathesis import GenerationMode

    auth = {"Authorization": f"Bearer {_token(app, 'admin')}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    stats = {"operations": 0, "requests": 0, "5xx": 0, "by_status": {}, "media_types": {}}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in UPLOADS:
            continue
        stats["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, {}, auth, stats, failures, examples=12)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis_uploads.json").write_text(json.dumps(stats, indent=1))
    print(f"schemathesis uploads as admin: {stats}")
    assert stats["operations"] == len(UPLOADS)
    assert {"multipart/form-data", "text/csv", "application/geo+json"} <= set(stats["media_types"])
    assert failures == [], "\n".join(failures[:20])
