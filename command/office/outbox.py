"""The e-mail outbox: messages are stored in the caller's transaction (so nothing is sent
for a change that rolls back) and sent by ``send_pending`` over SMTP (host, port, sender,
optional STARTTLS and login from settings).  A failed message stays pending with its error
and is retried on the next run, up to ``MAX_ATTEMPTS``; then it is marked failed."""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def enqueue(
    session: Session,
    to_addr: str,
    subject: str,
    body: str,
    *,
    ref: str,
    attachment: tuple[str, bytes] | None = None,
) -> OutboxMessage | None:
    """Queue one message (caller commits); ``None`` when there is no address."""
    to_addr = (to_addr or "").strip()
    if not to_addr:
        return None
    msg = OutboxMessage(
        to_addr=to_addr,
        subject=subject,
        body=body,
        ref=ref,
        attachment_name=attachment[0] if attachment else None,
        attachment=attachment[1] if attachment else None,
    )
    session.add(msg)
    session.flush()
    return msg


def _email(msg: OutboxMessage, sender: str) -> EmailMessage:
    em = EmailMessage()
    em["From"], em["To"], em["Subject"] = sender, msg.to_addr, msg.subject
    em["Date"] = formatdate(localtime=False)
    em["Message-ID"] = make_msgid(domain="hailops")
    em["X-Hailops-Ref"] = msg.ref
    em.set_content(msg.body, charset="utf-8")
    if msg.attachment is not None and msg.attachment_name:
        maintype, subtype = (
            ("application", "pdf")
            if msg.attachment_name.endswith(".pdf")
            else ("application", "octet-stream")
        )
        em.add_attachment(
            msg.attachment, maintype=maintype, subtype=subtype, filename=msg.attachment_name
        )
    return em


def send_pending(
    session: Session, settings: Any, now: datetime | None = None, limit: int = 50
) -> dict[str, int]:
    """Send pending messages over SMTP; one commit per message (each send is recorded before
    the next is tried).  Without ``smtp_host`` nothing is sent."""
    if not settings.smtp_host:
        return {"sent": 0, "failed": 0, "pending": 0}
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending")
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    if not rows:
        return {"sent": 0, "failed": 0, "pending": 0}
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    except OSError as exc:
        for msg in rows:
            _failed(msg, f"cannot connect to {settings.smtp_host}:{settings.smtp_port}: {exc}")
        session.commit()
        return {"sent": 0, "failed": len(rows), "pending": len(rows)}
    with smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for msg in rows:
            try:
                smtp.send_message(_email(msg, settings.smtp_from))
            except (smtplib.SMTPException, OSError) as exc:
                _failed(msg, str(exc))
                failed += 1
            else:
                msg.state, msg.sent_at = "sent", now or datetime.now(UTC)
                msg.attempts += 1
                sent += 1
            session.commit()
    return {"sent": sent, "failed": failed, "pending": len(rows) - sent}


def _failed(msg: OutboxMessage, error: str) -> None:
    msg.attempts += 1
    msg.last_error = error[:2000]
    if msg.attempts >= MAX_ATTEMPTS:
        msg.state = "failed"
    log.warning("outbox message %s to %s not sent: %s", msg.id, msg.to_addr, error)


def outbox_job(app: Any) -> None:
    """Scheduler job: send what is pending (its own session)."""
    from command.extensions import get_db

    with app.app_context(), get_db().session() as session:
        send_pending(session, app.config["HAILOPS"])
