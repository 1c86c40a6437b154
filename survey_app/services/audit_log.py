"""Record staff actions in the append-only audit log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from survey_app.models import AuditEvent


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    obj: Any = None,
    user_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit event for ``action`` on ``obj`` (flush only)."""
    event = AuditEvent(
        actor=actor,
        user_id=user_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        details=_jsonable(details),
    )
    # every event is linked into the "audit" hash chain in the same transaction
    from analysis.chain import AUDIT_CHAIN, AUDIT_FIELDS, row_hash
    from survey_app.db import utcnow
    from survey_app.services import chains

    event.at = utcnow()
    seq, prev = chains.advance(session, AUDIT_CHAIN)
    event.chain_seq, event.prev_hash = seq, prev
    record = {name: getattr(event, name, None) for name in AUDIT_FIELDS}
    record["chain_key"] = AUDIT_CHAIN
    event.row_hash = row_hash(prev, record, AUDIT_FIELDS)
    chains.settle(session, AUDIT_CHAIN, event.row_hash)
    session.add(event)
    session.flush()
    return event
