"""Advance a hash chain's head under its row lock (shared by responses and the audit log)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analysis.chain import GENESIS
from survey_app.models.survey import ChainHead, Link

#: built once: constructing a statement per append cost more CPU than running it
_ADVANCE = update(ChainHead).where(ChainHead.key == bindparam("chain")).values(seq=ChainHead.seq + 1).returning(
    ChainHead.seq, ChainHead.hash)
_SETTLE = update(ChainHead).where(ChainHead.key == bindparam("chain")).values(hash=bindparam("digest"))

_TABLE = ChainHead.__table__
#: on the table, for the respondent path's connection (no ORM bookkeeping): move the head to the
#: row just stored, and mark a card used
MOVE_HEAD = _TABLE.update().where(_TABLE.c.key == bindparam("chain")).values(seq=bindparam("seq"),
                                                                             hash=bindparam("digest"))
_LINKS = Link.__table__
MARK_USED = _LINKS.update().where(_LINKS.c.id == bindparam("card")).values(used_at=bindparam("at"))


def create_head(connection: Session | Connection, key: str) -> None:
    """The head of a new chain (position 0, the genesis hash); nothing if it exists."""
    dialect = connection.get_bind().dialect.name if isinstance(connection, Session) else connection.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    connection.execute(module.insert(_TABLE).values(key=key, seq=0, hash=GENESIS).on_conflict_do_nothing())


def advance(session: Session, key: str) -> tuple[int, str]:
    """Take the next position in chain ``key``: returns (position, previous hash). Locks the head row."""
    row = session.execute(_ADVANCE, {"chain": key}).first()
    if row is None:
        create_head(session, key)
        row = session.execute(_ADVANCE, {"chain": key}).one()
    return int(row[0]), str(row[1])


def settle(session: Session, key: str, digest: str) -> None:
    """Record the hash of the row just appended as the chain's head."""
    session.execute(_SETTLE, {"chain": key, "digest": digest})
