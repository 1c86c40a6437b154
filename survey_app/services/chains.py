"""Advance a hash chain's head under its row lock (shared by responses and the audit log)."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analysis.chain import GENESIS
from survey_app.models.survey import ChainHead

#: built once: constructing a statement per append cost more CPU than running it
_ADVANCE = update(ChainHead).where(ChainHead.key == bindparam("chain")).values(seq=ChainHead.seq + 1).returning(
    ChainHead.seq, ChainHead.hash)
_SETTLE = update(ChainHead).where(ChainHead.key == bindparam("chain")).values(hash=bindparam("digest"))


_TABLE = ChainHead.__table__
#: the same on the table, run on the session's connection: no ORM bookkeeping. Only for sessions
#: that never load ChainHead objects (the respondent request), which would not see the change.
_ADVANCE_CORE = _TABLE.update().where(_TABLE.c.key == bindparam("chain")).values(seq=_TABLE.c.seq + 1).returning(
    _TABLE.c.seq, _TABLE.c.hash)


def advance(session: Session, key: str, *, core: bool = False) -> tuple[int, str]:
    """Take the next position in chain ``key``: returns (position, previous hash). Locks the head row."""
    run = session.connection().execute if core else session.execute
    statement = _ADVANCE_CORE if core else _ADVANCE
    row = run(statement, {"chain": key}).first()
    if row is None:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(module.insert(ChainHead).values(key=key, seq=0, hash=GENESIS).on_conflict_do_nothing())
        row = run(statement, {"chain": key}).one()
    return int(row[0]), str(row[1])


def settle(session: Session, key: str, digest: str) -> None:
    """Record the hash of the row just appended as the chain's head."""
    session.execute(_SETTLE, {"chain": key, "digest": digest})
