"""Issue 15, part 3: ground hail reports — scoping, upload limits, location metadata
stripped, live announcement, and verification of warnings against them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import login


def _point(county: str) -> tuple[float, float]:
    from sites.deployment import default_deployment

    p = default_deployment().county(county).geometry.representative_point()
    return p.y, p.x


def _jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 31.0, 7.0), "E", (111.0, 8.0, 9.0)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    data = buf.getvalue()
    assert b"SecretCam" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def _form(county: str, **extra):
    lat, lon = _point(county)
    data = {"observed_at": "2026-07-12T15:20", "lat": str(lat), "lon": str(lon),
            "place": "信义镇", "size_class": "medium", "note": "持续约10分钟"}
    data.update(extra)
    return data


def test_operator_reports_own_county_photo_stripped_and_announced(app, client, users, seeded, db_session):
    from command.models import AuditRecord, GroundReportRecord, LiveEvent

    login(client, users["county_operator"])  # lishi
    data = _form("lishi")
    data["photo"] = (io.BytesIO(_jpeg_with_gps()), "hail.jpg")
    r = client.post("/api/office/ground-reports", data=data, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    rep = r.get_json()
    assert rep["county"] == "lishi" and rep["size_class"] == "medium"
    # Form times without an offset are Beijing time: 15:20 BJT = 07:20 UTC.
    assert datetime.fromisoformat(rep["observed_at"]) == datetime(2026, 7, 12, 7, 20, tzinfo=UTC)
    stored = client.get(rep["photo_url"])
    assert stored.status_code == 200
    body = stored.data
    assert b"SecretCam" not in body and b"Exif" not in body
    img = Image.open(io.BytesIO(body))
    assert img.format == "JPEG" and len(img.getexif()) == 0 and img.size == (64, 48)

    ev = db_session.scalars(select(LiveEvent).where(LiveEvent.event == "hail.report")).one()
    assert "county:lishi" in ev.rooms and "all" in ev.rooms and ev.payload["id"] == rep["id"]
    assert db_session.scalars(select(AuditRecord).where(
        AuditRecord.action == "hail_report.create")).one().object_id == str(rep["id"])
    assert db_session.scalar(select(GroundReportRecord)).reporter == "county_operator"


def test_operator_cannot_report_for_another_county(client, users, seeded, db_session):
    from command.models import GroundReportRecord

    login(client, users["county_operator"])  # lishi
    r = client.post("/api/office/ground-reports", json=_form("fenyang"))
    assert r.status_code == 403
    assert db_session.scalars(select(GroundReportRecord)).all() == []
    # The Fenyang operator may; and each operator lists only their own county.
    client.post("/logout")
    login(client, users["fenyang"])
    assert client.post("/api/office/ground-reports", json=_form("fenyang")).status_code == 201
    client.post("/logout")
    login(client, users["county_operator"])
    assert client.get("/api/office/ground-reports").get_json()["reports"] == []
    client.post("/logout")
    login(client, users["member"])  # liaisons report anywhere in the city and see all
    assert client.post("/api/office/ground-reports", json=_form("lishi")).status_code == 201
    assert len(client.get("/api/office/ground-reports").get_json()["reports"]) == 2


@pytest.mark.parametrize("photo,why", [
    (b"x" * 6_000_001, "too large"),
    (b"GIF89a not really an image", "unreadable"),
    (b"", "empty"),
])
def test_bad_photos_are_refused_and_nothing_is_kept(app, client, users, seeded, db_session, photo, why):
    from command.models import GroundReportRecord

    login(client, users["county_operator"])
    data = _form("lishi")
    data["photo"] = (io.BytesIO(photo), "hail.jpg")
    r = client.post("/api/office/ground-reports", data=data, content_type="multipart/form-data")
    assert r.status_code in (413, 422), why
    if r.status_code == 422:
        assert "photo" in r.get_json()["details"]
    assert db_session.scalars(select(GroundReportRecord)).all() == []
    photos = app.config["HAILOPS"].instance_path / "office" / "photos"
    assert not photos.exists() or list(photos.iterdir()) == []


def test_pixel_bomb_is_refused(app, client, users, seeded):
    app.config["HAILOPS"].office_photo_max_pixels = 1000
    login(client, users["county_operator"])
    buf = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buf, format="PNG")
    data = _form("lishi")
    data["photo"] = (io.BytesIO(buf.getvalue()), "big.png")
    r = client.post("/api/office/ground-reports", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "pixels" in r.get_json()["details"]["photo"]


def test_bad_fields_are_collected(client, users, seeded):
    login(client, users["member"])
    r = client.post("/api/office/ground-reports", json={"observed_at": "soon", "lat": "north",
                                                         "size_class": "huge"})
    assert r.status_code == 422
    assert {"observed_at", "position", "size_class"} <= set(r.get_json()["details"])
    r = client.post("/api/office/ground-reports", json=_form("lishi", lat="30.0", lon="100.0"))
    assert r.status_code == 422 and "outside" in r.get_json()["details"]["position"]
    client.post("/logout")
    login(client, users["atc"])
    assert client.post("/api/office/ground-reports", json=_form("lishi")).status_code == 403


def test_reports_verify_warnings_over_the_season(app, client, users, seeded):
    """POD/FAR/CSI and lead time computed by hand for two warned counties and two reports."""
    from command import audit
    from command.extensions import get_db

    sent = datetime(2026, 7, 12, 6, 50, tzinfo=UTC)
    with app.app_context(), get_db().session() as s:
        audit.append(s, actor="forecaster", role="forecaster", action="warning.issue",
                     object_type="warning", object_id="W1", at=sent,
                     after={"identifier": "W1", "counties": ["lishi", "fangshan"],
                            "sent": sent.isoformat(), "expires": (sent + timedelta(hours=1)).isoformat()})
        s.commit()
    login(client, users["member"])
    # Lishi at 07:20 UTC (inside the warning, 30 min after it): hit.  Fenyang: a miss.
    for county in ("lishi", "fenyang"):
        assert client.post("/api/office/ground-reports",
                           json=_form(county, observed_at="2026-07-12T07:20:00Z")).status_code == 201
    client.post("/logout")
    login(client, users["commander"])
    v = client.get("/api/office/verification?season=2026").get_json()["warnings"]
    h, m, f = 1, 1, 1  # fangshan was warned and saw no report
    assert (v["hits"], v["misses"], v["false_alarms"]) == (h, m, f)
    assert v["pod"] == pytest.approx(h / (h + m))
    assert v["far"] == pytest.approx(f / (1 + f))
    assert v["csi"] == pytest.approx(h / (h + m + f))
    assert v["mean_lead_time_s"] == pytest.approx(30 * 60)
    # Another season has none of it.
    assert client.get("/api/office/verification?season=2025").get_json()["warnings"]["reports"] == 0
    assert client.get("/api/office/verification?season=soon").status_code == 422
