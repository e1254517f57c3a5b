"""Season scale (issue 16): list endpoints are bounded and paged, no endpoint issues one query
per row (N+1), and the queries screens make are served by indexes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from command.models import AuditRecord, CellRecord, OperationRecord, RadarVolume
from tests.web.test_operations_flow import _propose, api  # noqa: F401  (fixture)


@contextmanager
def counted(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    from command.extensions import get_db

    with app.app_context():
        engine = get_db().engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add_volumes(session: Any, n: int, *, start: datetime, cells: int = 3,
                 drill_id: str | None = None) -> list[int]:
    ids = []
    for i in range(n):
        scan = start + timedelta(minutes=6 * i)
        vol = RadarVolume(sha256=f"{i:064d}", filename=f"v{i}.h5", status="processed",
                          scan_time=scan, radar={"lat": 0, "lon": 0, "alt_m": 0, "name": "T"},
                          levels={"h0_m": 4000, "h20_m": 7000, "source": "test"}, products={},
                          tracks=[], drill_id=drill_id)
        session.add(vol)
        session.flush()
        for k in range(cells):
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
                       "properties": {"id": f"C{i}-{k}", "mesh_mm": 10.0 + k, "hail": k == 0}}
            session.add(CellRecord(volume_id=vol.id, cell_id=f"C{i}-{k}", track_id=f"T{k}",
                                   scan_time=scan, feature=feature, hail=k == 0,
                                   drill_id=drill_id))
        ids.append(vol.id)
    session.commit()
    return ids


def _get(client: Any, headers: dict[str, str], path: str) -> Any:
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.fixture
def forecaster(app: Any, users: Any) -> tuple[Any, dict[str, str]]:
    from tests.web.test_operations_flow import _token

    return app.test_client(), {"Authorization": f"Bearer {_token(app, 'forecaster')}"}


def test_volumes_list_makes_the_same_few_queries_for_3_or_30_volumes(app, forecaster, db_session):
    """Issue 16: /api/volumes loaded each volume's cells separately (one query per volume)."""
    client, headers = forecaster
    now = datetime.now(UTC)
    _add_volumes(db_session, 3, start=now - timedelta(minutes=60))
    with counted(app) as few:
        assert len(_get(client, headers, "/api/volumes")["volumes"]) == 3
    _add_volumes(db_session, 27, start=now - timedelta(minutes=59))
    with counted(app) as many:
        body = _get(client, headers, "/api/volumes")
    assert len(body["volumes"]) == 30 and all(v["cells"] == 3 for v in body["volumes"])
    assert len(many) == len(few), many


def test_volumes_are_paged_in_scan_time_order_within_bounds(app, forecaster, db_session):
    client, headers = forecaster
    now = datetime.now(UTC)
    ids = _add_volumes(db_session, 7, start=now - timedelta(minutes=60))
    _add_volumes(db_session, 2, start=now - timedelta(hours=5))  # outside the default 2 h
    seen, cursor, pages = [], None, 0
    while True:
        body = _get(client, headers, "/api/volumes?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert len(body["volumes"]) <= 3
        seen += [v["id"] for v in body["volumes"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3
    older = _get(client, headers, "/api/volumes?since="
                 + (now - timedelta(hours=6)).isoformat().replace("+", "%2B")
                 + "&until=" + (now - timedelta(hours=4)).isoformat().replace("+", "%2B"))
    assert len(older["volumes"]) == 2 and older["next_cursor"] is None


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=x", "limit"),
                                          ("cursor=!!", "cursor"), ("cursor=WzFd", "cursor"),
                                          ("since=yesterday", "since")])
def test_bad_paging_arguments_are_clear_errors(app, forecaster, query, field):
    client, headers = forecaster
    resp = client.get(f"/api/volumes?{query}", headers=headers)
    assert resp.status_code == 422
    assert field in resp.get_json()["details"]


def test_a_huge_limit_is_clamped(app, forecaster, db_session):
    from command.web.api import VOLUMES_LIMIT_MAX

    client, headers = forecaster
    _add_volumes(db_session, 3, start=datetime.now(UTC) - timedelta(minutes=30), cells=0)
    body = _get(client, headers, f"/api/volumes?limit={VOLUMES_LIMIT_MAX * 100}")
    assert len(body["volumes"]) == 3


def _clone_operations(db_session: Any, template_id: str, specs: list[tuple[str, str, datetime]]) -> None:
    """Copies of a proposed operation: (id, state, created_at) each."""
    tpl = db_session.get(OperationRecord, template_id)
    for op_id, state, created in specs:
        data = deepcopy(tpl.data)
        data["id"], data["state"] = op_id, state
        db_session.add(OperationRecord(id=op_id, cell_id=tpl.cell_id, site_code=tpl.site_code,
                                       county=tpl.county, state=state, data=data,
                                       created_at=created, updated_at=created))
    db_session.commit()


def test_operations_are_paged_newest_first_and_history_is_not_returned_by_default(
        app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    first = _propose(api, now)["id"]
    _clone_operations(db_session, first, [(f"OP-R{i:02d}", "completed", now - timedelta(hours=i + 1))
                                          for i in range(9)])
    _clone_operations(db_session, first, [("OP-OLD-DONE", "completed", now - timedelta(days=40)),
                                          ("OP-OLD-OPEN", "proposed", now - timedelta(days=40))])
    seen, cursor = [], None
    with counted(app) as statements:
        while True:
            body = api("commander", "GET", "/api/operations?limit=4"
                       + (f"&cursor={cursor}" if cursor else "")).get_json()
            assert len(body["operations"]) <= 4
            seen += [o["id"] for o in body["operations"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
    # Newest first, each once; the 40-day-old completed operation is history, the open one stays.
    assert seen == [first] + [f"OP-R{i:02d}" for i in range(9)] + ["OP-OLD-OPEN"]
    # Three pages: a fixed number of statements each (auth + one select), not one per row.
    assert len([s for s in statements if "FROM operations" in s]) == 3
    history = api("commander", "GET", "/api/operations?since="
                  + (now - timedelta(days=60)).isoformat().replace("+", "%2B")).get_json()
    assert "OP-OLD-DONE" in [o["id"] for o in history["operations"]]
    done = api("commander", "GET", "/api/operations?state=completed&limit=500").get_json()
    assert {o["state"] for o in done["operations"]} == {"completed"}
    assert api("commander", "GET", "/api/operations?open=1").get_json()["operations"][-1]["id"] \
        == "OP-OLD-OPEN"


def test_an_operations_page_holds_only_what_the_user_may_see(app, api, db_session):  # noqa: F811
    """Visibility is filtered before paging: a county operator's first page is full even when
    the newest operations are ones it may not see."""
    now = datetime.now(UTC)
    first = _propose(api, now)["id"]
    _clone_operations(db_session, first, [(f"OP-V{i}", "ordered", now - timedelta(hours=2 + i))
                                          for i in range(3)])
    _clone_operations(db_session, first, [(f"OP-H{i}", "proposed", now - timedelta(minutes=i + 1))
                                          for i in range(5)])  # hidden from the county
    body = api("county_operator", "GET", "/api/operations?limit=2").get_json()
    assert [o["id"] for o in body["operations"]] == ["OP-V0", "OP-V1"]
    assert body["next_cursor"] is not None
    assert api("fenyang", "GET", "/api/operations").get_json()["operations"] == []


def test_warnings_are_paged(app, api, db_session):  # noqa: F811
    from command import audit

    now = datetime.now(UTC)
    for i in range(5):
        audit.append(db_session, actor="f", role="forecaster", action="warning.issue",
                     object_type="warning", object_id=f"W{i}",
                     after={"identifier": f"W{i}", "counties": ["lishi" if i % 2 else "fenyang"]},
                     at=now - timedelta(minutes=10 - i))
    db_session.commit()
    ids, cursor = [], None
    while True:
        body = api("commander", "GET", "/api/warnings?limit=2"
                   + (f"&cursor={cursor}" if cursor else "")).get_json()
        ids += [w["identifier"] for w in body["warnings"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert ids == ["W4", "W3", "W2", "W1", "W0"]
    county = api("county_operator", "GET", "/api/warnings?limit=1").get_json()
    assert [w["identifier"] for w in county["warnings"]] == ["W3"]


def test_cell_arrivals_query_once_for_many_cells(app, forecaster, db_session):
    """Issue 16: one query per requested cell."""
    client, headers = forecaster
    _add_volumes(db_session, 2, start=datetime.now(UTC) - timedelta(minutes=30), cells=6)
    with counted(app) as two:
        _get(client, headers, "/api/cells/arrivals?cells=C1-0,C1-1")
    with counted(app) as six:
        _get(client, headers, "/api/cells/arrivals?cells=" + ",".join(f"C1-{k}" for k in range(6)))
    assert len(six) == len(two)


def test_member_overview_and_healthz_do_not_load_the_volume_tracks(app, forecaster, db_session):
    client, headers = forecaster
    _add_volumes(db_session, 1, start=datetime.now(UTC) - timedelta(minutes=5), cells=4)
    with counted(app) as statements:
        body = _get(client, headers, "/api/member/overview")
        assert client.get("/healthz").status_code == 200
    assert body["volume"]["cells"] == 4 and body["volume"]["hail_cells"] == 1
    assert body["volume"]["max_mesh_mm"] == 13.0
    assert not [s for s in statements if "radar_volumes.tracks" in s]


# --- the planner uses the indexes ----------------------------------------------------------
PLANNED = [
    ("SELECT id FROM cells WHERE volume_id = 1", "ix_cells_volume_id"),
    ("SELECT id FROM audit_log WHERE action = 'warning.issue' AND at >= '2026-01-01'",
     "ix_audit_log_action_at"),
    ("SELECT id FROM radar_volumes WHERE drill_id = 'D1' AND scan_time >= '2026-01-01' "
     "ORDER BY scan_time LIMIT 201",
     "ix_radar_volumes_drill_scan_time"),
    ("SELECT id FROM operations WHERE drill_id = 'D1' AND created_at >= '2026-01-01' "
     "ORDER BY created_at DESC LIMIT 101",
     "ix_operations_drill_created"),
    ("SELECT count(*) FROM radar_volumes WHERE status = 'quarantined'", "ix_radar_volumes_status_id"),
]


@pytest.mark.parametrize("sql, index", PLANNED)
def test_screen_queries_are_served_by_an_index(app, db_session, sql, index):
    """Issue 16: cells.volume_id had no index (a sequential scan of a million rows per volume)
    and the warnings list scanned the audit log."""
    dialect = db_session.get_bind().dialect.name
    if dialect == "postgresql":
        db_session.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(r[0] for r in db_session.execute(text(f"EXPLAIN {sql}")))
    else:
        plan = "\n".join(str(r[-1]) for r in db_session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert index in plan, plan


def test_models_declare_the_indexes():
    names = {ix.name for table in (CellRecord.__table__, AuditRecord.__table__,
                                   RadarVolume.__table__, OperationRecord.__table__)
             for ix in table.indexes}
    assert {index for _sql, index in PLANNED} <= names


def test_paging_is_documented_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/volumes", "/api/operations", "/api/warnings"):
        names = {p["name"] for p in doc["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
