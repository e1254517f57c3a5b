"""Ground hail reports (降雹实况): county operators and member-unit liaisons report hail seen
at a place and time, with a size class and an optional photo.

* Scoping: a county operator reports only for their own county (the position must lie in
  it); others report anywhere in the city.  Positions outside the city are refused.
* Photos: at most ``office_photo_max_bytes`` and ``office_photo_max_pixels``; JPEG, PNG or
  WebP only; decoded fully with Pillow and re-encoded as JPEG *without any metadata* (EXIF,
  GPS, XMP, comments), after applying the EXIF orientation, so no location leaves with it.
* Each report is persisted, audited, then announced (``hail.report``) to the command center
  and the county — or inside its drill.
"""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command import audit
from command.models import GroundReportRecord
from command.office import OfficeError
from command.push import ROOM_ALL, announce, room_county, scoped
from command.timefmt import BEIJING
from dispatch.hailsize import SizeClass

REPORTER_ROLES = ("county_operator", "member", "commander", "forecaster")
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_EDGE_PX = 2048


class PhotoError(OfficeError):
    pass


def clean_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> bytes:
    """Validate an uploaded photo and return it re-encoded as JPEG with no metadata."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > max_bytes:
        raise PhotoError("photo too large", {"photo": f"at most {max_bytes // 1000} kB"})
    if not data:
        raise PhotoError("empty photo", {"photo": "empty file"})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            w, h = probe.size
        if fmt not in ALLOWED_FORMATS:
            raise PhotoError("unsupported photo", {"photo": "JPEG, PNG or WebP only"})
        if w * h > max_pixels:
            raise PhotoError("photo too large", {"photo": f"at most {max_pixels} pixels"})
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            img = ImageOps.exif_transpose(opened).convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError(
            "unreadable photo", {"photo": f"not a readable image ({type(exc).__name__})"}
        ) from None
    img.thumbnail((MAX_EDGE_PX, MAX_EDGE_PX))
    out = io.BytesIO()
    # A fresh image object carries no info dict: nothing but pixels is written.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _parse_time(value: Any, errors: dict[str, str]) -> datetime | None:
    """ISO time with offset (UTC if 'Z'), or a naive local time from a form = Beijing time."""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        errors["observed_at"] = "a time (ISO 8601; without offset it is Beijing time)"
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=BEIJING)
    return t.astimezone(UTC)


def report_hail(
    session: Session,
    body: dict[str, Any],
    photo: bytes | None,
    *,
    user: Any,
    now: datetime,
    photos_dir: Path,
    max_bytes: int,
    max_pixels: int,
    drill_id: str | None = None,
) -> GroundReportRecord:
    """Validate, persist, audit and announce one ground report (caller commits)."""
    from command.deployment import deployment

    if user.role not in REPORTER_ROLES and user.role != "admin":
        raise PermissionError(f"role {user.role} does not report hail")
    errors: dict[str, str] = {}
    observed = _parse_time(body.get("observed_at"), errors)
    if observed is not None and observed > now + timedelta(minutes=5):
        errors["observed_at"] = "in the future"
    try:
        lat, lon = float(body.get("lat")), float(body.get("lon"))  # type: ignore[arg-type]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except (TypeError, ValueError):
        errors["position"] = "lat and lon in degrees are required"
        lat = lon = None  # type: ignore[assignment]
    size = body.get("size_class")
    if size not in {c.value for c in SizeClass}:
        errors["size_class"] = "one of " + ", ".join(c.value for c in SizeClass)
    place = str(body.get("place") or "").strip()[:200]
    note = str(body.get("note") or "").strip()[:2000]
    county = None
    if lat is not None and lon is not None:
        found = deployment().core.county_at(lon, lat)
        county = found.key if found else None
        if county is None:
            errors["position"] = "outside the city's counties"
    if errors:
        raise OfficeError("invalid hail report", errors)
    if user.role == "county_operator" and county != user.county:
        raise PermissionError(
            f"a county operator reports for their own county ({user.county}); "
            f"this position is in {county}"
        )
    cleaned = (
        clean_photo(photo, max_bytes=max_bytes, max_pixels=max_pixels)
        if photo is not None
        else None
    )
    name = None
    if cleaned is not None:
        photos_dir.mkdir(parents=True, exist_ok=True)
        name = f"{now:%Y%m%d%H%M%S}_{secrets.token_hex(8)}.jpg"
        (photos_dir / name).write_bytes(cleaned)
    rec = GroundReportRecord(
        observed_at=observed,
        lat=lat,
        lon=lon,
        county=county,
        place=place,
        size_class=str(size),
        note=note,
        photo=name,
        reporter=user.username,
        reporter_role=user.role,
        drill_id=drill_id,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    payload = report_json(rec)
    audit.append(
        session,
        actor=user.username,
        role=user.role,
        action="hail_report.create",
        object_type="hail_report",
        object_id=str(rec.id),
        after=payload,
        drill_id=drill_id,
        at=now,
    )
    announce(
        session, "hail.report", payload, scoped([ROOM_ALL, room_county(str(county))], drill_id)
    )
    return rec


def report_json(r: GroundReportRecord) -> dict[str, Any]:
    cls = SizeClass(r.size_class)
    return {
        "id": r.id,
        "observed_at": r.observed_at.isoformat(),
        "lat": r.lat,
        "lon": r.lon,
        "county": r.county,
        "place": r.place,
        "size_class": r.size_class,
        "size_label_zh": cls.label_zh,
        "size_mm": cls.representative_mm,
        "note": r.note,
        "photo_url": f"/office/photos/{r.photo}" if r.photo else None,
        "reporter": r.reporter,
        "reporter_role": r.reporter_role,
        "drill_id": r.drill_id,
    }


def reports_between(
    session: Session,
    start: datetime | None,
    end: datetime | None,
    drill_id: str | None,
    county: str | None = None,
) -> list[GroundReportRecord]:
    q = select(GroundReportRecord).where(
        GroundReportRecord.drill_id.is_(None)
        if drill_id is None
        else GroundReportRecord.drill_id == drill_id
    )
    if start is not None:
        q = q.where(GroundReportRecord.observed_at >= start)
    if end is not None:
        q = q.where(GroundReportRecord.observed_at <= end)
    if county is not None:
        q = q.where(GroundReportRecord.county == county)
    return list(session.scalars(q.order_by(GroundReportRecord.observed_at)))
