"""Tamper evidence: append responses to their chain, publish heads, verify, export audit bundles.

See :mod:`analysis.chain` for the hashing. Appending locks only the chain's own
head row (``UPDATE chain_heads ... RETURNING``), so submissions through
different QR links never wait for each other.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import zipfile
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import analysis
from analysis.chain import (
    AUDIT_CHAIN,
    AUDIT_FIELDS,
    RECORD_FIELDS,
    Problem,
    canonical_around,
    check_corrections,
    check_extends,
    root,
    row_hash,
    timestamp,
    verify_rows,
)
from analysis.records import check_exclusions, check_versions
from survey_app import __version__
from survey_app.models import (
    AuditEvent,
    ChainHead,
    Exclusion,
    Link,
    PublishedHead,
    Questionnaire,
    QuestionnaireVersion,
    Response,
)
from survey_app.services import audit_log, chains, sampling

EXPORT_FIELDS = ["id", *RECORD_FIELDS, "prev_hash", "row_hash"]
#: ``withheld``: "1" for another unit's event in a bundle limited to some units (only its chain
#: position and hashes are given, so the chain still links; see analysis.chain.verify_rows)
AUDIT_EXPORT_FIELDS = ["id", *AUDIT_FIELDS, "prev_hash", "row_hash", "withheld"]


def chain_key(response: Any) -> str:
    """The chain a response belongs to (a Response, or a mapping of its column values)."""
    get = response.get if isinstance(response, dict) else lambda name: getattr(response, name)
    channel = get("channel")
    if get("simulated"):
        return f"q{get('questionnaire_id')}:sim"
    if get("link_id") is not None:
        return f"q{get('questionnaire_id')}:l{get('link_id')}"
    return f"q{get('questionnaire_id')}:{getattr(channel, 'value', channel)}"


def record_of(response: Response) -> dict[str, Any]:
    return {name: getattr(response, name) for name in RECORD_FIELDS}


def position(session: Session, response: Response) -> None:
    """Take ``response``'s place in its chain and compute its hashes; the head is settled by the caller."""
    key = chain_key(response)
    seq, prev = chains.advance(session, key)
    response.chain_key, response.chain_seq, response.prev_hash = key, seq, prev
    response.row_hash = row_hash(prev, record_of(response))


def append(session: Session, response: Response) -> None:
    """Give ``response`` its chain position and hashes (same transaction as the INSERT)."""
    position(session, response)
    chains.settle(session, response.chain_key, response.row_hash)


# -- the respondent path: append and INSERT in one go, a conflict stores nothing and raises nothing --

#: what the append fills in; every other column comes from the caller's values
_CHAIN_COLUMNS = frozenset({"id", "chain_seq", "prev_hash", "row_hash"})
_STORE_STATEMENTS: dict[tuple[str, str, bool], Any] = {}
#: a card answer also marks the card used (a poster's statement touches no link row)
_USED = """
), used AS (
    UPDATE links SET used_at = stored.submitted_at FROM stored WHERE links.id = stored.card_id"""


_VALUE_COLUMNS: list[Any] = []
_DEFAULTS: dict[str, Any] = {}


def _value_columns() -> list[Any]:
    if not _VALUE_COLUMNS:
        _VALUE_COLUMNS.extend(c for c in Response.__table__.c if c.key not in _CHAIN_COLUMNS and c.computed is None)
    return _VALUE_COLUMNS


def _column_defaults() -> dict[str, Any]:
    """Every value column with its scalar default, or NULL (no ORM defaults without an object)."""
    if not _DEFAULTS:
        _DEFAULTS.update({c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
                          for c in _value_columns()})
    return _DEFAULTS


def _store_statement(dialect: str, guard: str, card: bool = False) -> Any:
    """Built once per (dialect, guard, card) and then found in SQLAlchemy's compiled cache.

    PostgreSQL: ONE statement locks the chain head (``FOR UPDATE``), computes the row's hash from
    the previous one with ``sha256()`` (the caller passes the canonical record cut around the
    position, :func:`analysis.chain.canonical_around`, so the bytes hashed are exactly those
    :func:`analysis.chain.row_hash` hashes), inserts the row unless a UNIQUE constraint already
    holds one of its values (``ON CONFLICT DO NOTHING``) and only then moves the head and (``card``)
    marks the card used. It returns a row when the head exists, with the new id or NULL.
    SQLite (one writer at a time, ``BEGIN IMMEDIATE``): only the INSERT, the rest is in Python.
    """
    statement = _STORE_STATEMENTS.get((dialect, guard, card))
    if statement is not None:
        return statement
    from sqlalchemy import Integer, LargeBinary, text

    columns = _value_columns()
    names = ", ".join(c.name for c in columns)
    values = ", ".join(f":{c.key}" for c in columns)
    binds = [bindparam(c.key, type_=c.type) for c in columns]
    if dialect == "postgresql":
        sql = f"""
WITH head AS (
    SELECT seq + 1 AS seq, hash FROM chain_heads WHERE key = :chain_key FOR UPDATE
), stored AS (
    INSERT INTO responses ({names}, chain_seq, prev_hash, row_hash)
    SELECT {values}, head.seq, head.hash, encode(sha256(
        convert_to(head.hash, 'UTF8') || :hash_before || convert_to(CAST(head.seq AS TEXT), 'UTF8') || :hash_after
    ), 'hex')
    FROM head WHERE {guard}
    ON CONFLICT DO NOTHING
    RETURNING id, chain_seq, row_hash, card_id, submitted_at
), advanced AS (
    UPDATE chain_heads SET seq = stored.chain_seq, hash = stored.row_hash FROM stored
    WHERE chain_heads.key = :chain_key{_USED if card else ""}
)
SELECT stored.id FROM head LEFT JOIN stored ON TRUE"""
        binds += [bindparam("hash_before", type_=LargeBinary), bindparam("hash_after", type_=LargeBinary)]
    else:
        sql = f"""
INSERT INTO responses ({names}, chain_seq, prev_hash, row_hash)
SELECT {values}, :chain_seq, :prev_hash, :row_hash WHERE {guard}
ON CONFLICT DO NOTHING
RETURNING id"""
    # each value is bound with its column's type: the answers are serialized exactly as the ORM does
    statement = text(sql).bindparams(*binds).columns(id=Integer)
    _STORE_STATEMENTS[(dialect, guard, card)] = statement
    return statement


_DRIVER_SQL: dict[tuple[str, str, bool], str] = {}


def _driver_sql(connection: Connection, guard: str, card: bool) -> str:
    """The PostgreSQL statement as the driver receives it (compiled once; :func:`_driver_values`
    does the bind processing SQLAlchemy would do on each call)."""
    key = (connection.dialect.driver, guard, card)
    sql = _DRIVER_SQL.get(key)
    if sql is None:
        sql = _DRIVER_SQL[key] = str(_store_statement("postgresql", guard, card).compile(dialect=connection.dialect))
    return sql


def _driver_values(values: dict[str, Any]) -> dict[str, Any]:
    """What the columns' types would send: JSON text (the engine's default serializer, as the ORM
    writes it) and enum values; the driver adapts the rest (numbers, text, times, bytes)."""
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = json.dumps(value)
        elif isinstance(value, enum.Enum):
            out[key] = value.value
    return out


def _run_on_driver(connection: Connection, sql: str, params: dict[str, Any]) -> Any:
    """The statement's one row, run on the driver's own connection: SQLAlchemy's per-statement
    execution context cost as much CPU as the driver's work. A driver error becomes SQLAlchemy's,
    and a dropped connection is invalidated, as if SQLAlchemy had run the statement."""
    driver = connection.connection.driver_connection
    dbapi = connection.dialect.loaded_dbapi
    try:
        return driver.execute(sql, params).fetchone()
    except dbapi.Error as exc:
        gone = connection.dialect.is_disconnect(exc, driver, None)
        if gone:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=gone,
                                  dialect=connection.dialect) from exc


_SQLITE_HEAD = ChainHead.__table__.select().where(ChainHead.__table__.c.key == bindparam("key"))


def store(connection: Connection, values: dict[str, Any], *, guard: str = "TRUE",
          params: dict[str, Any] | None = None) -> int | None:
    """Append a response (``values``: its columns but id and the chain fields) to its chain and
    INSERT it, all or nothing; returns the new id, or None when nothing was stored.

    Nothing is stored when a UNIQUE constraint already holds one of its values (the same form
    was stored by a parallel request, the card was used, ...) or when ``guard``, an SQL condition
    over ``params`` and the values, is false. Neither raises nor rolls anything back: the caller's
    transaction goes on, and the caller looks up why (a lost race must not undo the caller's other
    work). On PostgreSQL this is one statement, atomic by itself (the respondent path runs it
    without a transaction around it); the head row stays locked until the commit, which orders
    each chain's appends. Runs on ``connection`` without the unit of work: a session using the
    same connection must hold no ChainHead objects.
    """
    dialect = connection.dialect.name
    values = {**_column_defaults(), **{k: v for k, v in values.items() if v is not None}}
    values["chain_key"] = key = values.get("chain_key") or chain_key(values)
    for _ in range(2):  # the second time after creating a new chain's head
        if dialect == "postgresql":
            before, after = canonical_around(values)
            card = values["card_id"] is not None
            row = _run_on_driver(connection, _driver_sql(connection, guard, card), _driver_values(
                {**(params or {}), **values, "hash_before": b"\n" + before, "hash_after": after}))
            if row is not None:
                return row[0]
        else:
            head = connection.execute(_SQLITE_HEAD, {"key": key}).first()
            if head is not None:
                return _store_sqlite(connection, values, guard, params or {}, head.seq + 1, head.hash)
        chains.create_head(connection, key)
    raise RuntimeError(f"chain head {key} could not be created")


def _store_sqlite(connection: Connection, values: dict[str, Any], guard: str, params: dict[str, Any], seq: int,
                  prev: str) -> int | None:
    digest = row_hash(prev, {**values, "chain_seq": seq})
    new_id = connection.execute(_store_statement("sqlite", guard), {**params, **values, "chain_seq": seq,
                                                                     "prev_hash": prev, "row_hash": digest}).scalar()
    if new_id is not None:
        connection.execute(chains.MOVE_HEAD, {"chain": values["chain_key"], "seq": seq, "digest": digest})
        if values.get("card_id") is not None:
            connection.execute(chains.MARK_USED, {"card": values["card_id"], "at": values["submitted_at"]})
    return new_id


def current_head(session: Session, *, include_simulated: bool = False) -> dict[str, tuple[int, str]]:
    heads = {h.key: (h.seq, h.hash) for h in session.scalars(select(ChainHead)) if h.seq > 0}
    if not include_simulated:
        heads = {k: v for k, v in heads.items() if not k.endswith(":sim")}
    return heads


def publish_head(session: Session, *, actor: str, note: str = "") -> PublishedHead:
    """Record the current head so that every later state can be checked against it."""
    heads = current_head(session)
    digest = root(heads)
    existing = session.scalar(select(PublishedHead).where(PublishedHead.root == digest))
    if existing is not None:
        return existing
    published = PublishedHead(root=digest, chains={k: list(v) for k, v in heads.items()},
                              responses=sum(seq for key, (seq, _) in heads.items() if key != AUDIT_CHAIN),
                              published_by=actor, note=note)
    session.add(published)
    session.flush()
    audit_log.record(session, actor=actor, action="publish_head", obj=published, root=digest,
                     responses=published.responses)
    return published


def _rows(session: Session, *, include_simulated: bool = True, questionnaires: Any = None) -> list[dict[str, Any]]:
    query = select(*(getattr(Response, f) for f in EXPORT_FIELDS)).order_by(Response.chain_key, Response.chain_seq)
    if not include_simulated:
        query = query.where(Response.simulated.is_(False))
    if questionnaires is not None:
        query = query.where(Response.questionnaire_id.in_(questionnaires))
    out = []
    for row in session.execute(query):
        item = dict(zip(EXPORT_FIELDS, row, strict=True))
        item["channel"] = getattr(item["channel"], "value", item["channel"])
        item["submitted_at"] = timestamp(item["submitted_at"])
        out.append(item)
    return out


def _audit_rows(session: Session) -> list[dict[str, Any]]:
    """The audit events as stored now (plain columns: never stale objects from the session)."""
    names = [n for n in AUDIT_FIELDS if n != "chain_key"]
    query = select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.row_hash,
                   *(getattr(AuditEvent, n) for n in names)).order_by(AuditEvent.chain_seq)
    rows = []
    for row in session.execute(query):
        item = dict(zip(["id", "prev_hash", "row_hash", *names], row, strict=True))
        item.update(chain_key=AUDIT_CHAIN, at=timestamp(item["at"]), receipt=None)
        rows.append(item)
    return rows


def verify_database(session: Session, *, head: str | None = None) -> list[Problem]:
    """Check the live database against the chains, the chain heads and every published head.

    ``head`` (a root hash) must be a published head: the database must extend it.
    """
    rows = _rows(session)
    problems, actual = verify_rows(rows)
    problems += check_corrections(rows)
    audit = _audit_rows(session)
    audit_problems, audit_head = verify_rows(audit, AUDIT_FIELDS)
    problems += audit_problems
    actual.update(audit_head)
    rows += audit
    stored = {h.key: (h.seq, h.hash) for h in session.scalars(select(ChainHead)) if h.seq > 0}
    for key, (seq, digest) in sorted(stored.items()):
        found = actual.get(key)
        if found is None:
            problems.append(Problem("truncated", key, seq, None, None, f"这条记录链的 {seq} 条记录全部不见了"))
        elif found[0] < seq:
            problems.append(Problem("truncated", key, found[0] + 1, None, None,
                                    f"记录链只到第 {found[0]} 条，链头记载 {seq} 条：尾部记录被删除"))
        elif found[0] > seq:
            extra = next(r for r in rows if r["chain_key"] == key and r["chain_seq"] == seq + 1)
            problems.append(Problem("inserted", key, seq + 1, extra["id"], extra["receipt"],
                                    "链头之后多出记录：有人绕过系统插入了答卷"))
        elif found[1] != digest:
            problems.append(Problem("altered", key, seq, None, None, "最后一条记录与链头不符"))
    for key in sorted(set(actual) - set(stored)):
        first = next(r for r in rows if r["chain_key"] == key)
        problems.append(Problem("inserted", key, first["chain_seq"], first["id"], first["receipt"],
                                "系统从未建立过这条记录链：记录是被插入的"))
    problems += _check_records(session, audit)
    by_position = {(r["chain_key"], r["chain_seq"]): r for r in rows}
    published = list(session.scalars(select(PublishedHead).order_by(PublishedHead.id)))
    if head is not None:
        match = [p for p in published if p.root == head]
        if not match:
            problems.append(Problem("not_extended", "*", None, None, None,
                                    f"链头 {head} 不在本数据库已发布的链头中"))
        published = match
    for p in published:
        if root({k: tuple(v) for k, v in p.chains.items()}) != p.root:
            problems.append(Problem("altered", "*", None, p.id, None, f"已发布的链头 {p.root[:12]} 被改动"))
        problems.extend(check_extends(by_position, p.chains, actual))
    return problems


def _plain_rows(session: Session, model: type[Any], names: list[str]) -> list[dict[str, Any]]:
    """Rows as stored now (plain columns: never stale objects from the session); times as UTC text."""
    rows = []
    for row in session.execute(select(*(getattr(model, n) for n in names)).order_by(model.id)):
        item = dict(zip(names, row, strict=True))
        rows.append({k: (timestamp(v) if k.endswith("_at") and v else "" if v is None else v) for k, v in item.items()})
    return rows


def _exclusion_rows(session: Session) -> list[dict[str, Any]]:
    return _plain_rows(session, Exclusion, ["id", "response_id", "reason", "excluded_by", "excluded_at",
                                            "reverted_at", "reverted_by", "revert_reason"])


def _version_rows(session: Session) -> list[dict[str, Any]]:
    return _plain_rows(session, QuestionnaireVersion, ["questionnaire_id", "number", "id", "content",
                                                       "content_hash", "published_at", "published_by"])


def _check_records(session: Session, audit: list[dict[str, Any]]) -> list[Problem]:
    """Exclusions against their chained audit events; version contents against their hashes."""
    receipts = {rid: receipt for rid, receipt in session.execute(select(Response.id, Response.receipt))}
    return (check_exclusions(_exclusion_rows(session), audit, receipts)
            + check_versions(_version_rows(session), audit))


def _chain_questionnaire(key: str) -> int | None:
    """The questionnaire a response chain belongs to (``q12:l5`` → 12)."""
    head = key.partition(":")[0]
    return int(head[1:]) if head.startswith("q") and head[1:].isdigit() else None


def receipt_status(session: Session, receipt: str) -> dict[str, Any] | None:
    """Position and hash of a receipt's response (not the answers), for the public check page."""
    response = session.scalar(select(Response).where(Response.receipt == receipt.strip().upper()))
    if response is None or response.simulated:
        return None
    return {"receipt": response.receipt, "chain_key": response.chain_key, "chain_seq": response.chain_seq,
            "row_hash": response.row_hash, "submitted_at": response.submitted_at,
            "intact": row_hash(response.prev_hash, record_of(response)) == response.row_hash}


# -- audit bundle ---------------------------------------------------------------------------------


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> str:
    """A bundle CSV: exact values (the hashes cover them), formulas escaped reversibly."""
    from survey_app.services.cellsafe import safe_cell

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, dict)
                                      else "" if v is None else v, exact=True) for k, v in row.items()})
    return out.getvalue()


def _scoped_events(session: Session, user: Any) -> list[dict[str, Any]]:
    """The audit chain for a bundle: the events ``user`` may read in full, every other event reduced to
    its position and hashes (``withheld``), so the one county-wide chain still links end to end."""
    from survey_app.services.scope import event_condition

    readable = None if user is None or user.sees_every_unit else set(
        session.scalars(select(AuditEvent.id).where(event_condition(session, user))))
    events = []
    for row in _audit_rows(session):
        if readable is not None and row["id"] not in readable:
            row = {"id": row["id"], "chain_seq": row["chain_seq"], "prev_hash": row["prev_hash"],
                   "row_hash": row["row_hash"], "withheld": "1"}
        events.append({k: v for k, v in row.items() if k in AUDIT_EXPORT_FIELDS})
    return events


def bundle(session: Session, *, actor: str, user: Any = None) -> bytes:
    """One ZIP an auditor can verify offline with ``python -m analysis verify BUNDLE.zip``.

    For an account that sees only some units (``user``), the bundle holds those units' responses,
    questionnaires, cards, exclusions, draws and figures in full; other units' response chains are
    named in the head only (position and hash: the root is the county's one published commitment)
    and listed as ``withheld_chains``; other units' audit events keep only their chain position and
    hashes. See docs/decisions.md.
    """
    from survey_app.services.results import compute
    from survey_app.services.scope import questionnaire_ids, visible_units

    scoped = None if user is None else questionnaire_ids(session, user)
    # simulated demo responses stay out of every export: their chains are left out of the head too
    rows = _rows(session, include_simulated=False, questionnaires=scoped)
    heads = current_head(session)
    listed = select(Questionnaire).order_by(Questionnaire.id)
    if scoped is not None:
        listed = listed.where(Questionnaire.id.in_(scoped))
    questionnaires = list(session.scalars(listed))
    shown = {q.id for q in questionnaires}
    computed = [compute(session, q) for q in questionnaires]
    figures = [r.as_dict() for r in computed]
    versions = [v for v in _version_rows(session) if v["questionnaire_id"] in shown]
    cards = [{"id": c.id, "questionnaire_id": c.questionnaire_id, "village": c.village.name if c.village else "",
              "kind": c.kind.value, "card_no": c.card_no or "", "created_at": timestamp(c.created_at),
              "voided_at": timestamp(c.voided_at) if c.voided_at else "",
              "used_at": timestamp(c.used_at) if c.used_at else ""}
             for c in session.scalars(select(Link).where(Link.questionnaire_id.in_(shown)).order_by(Link.id))]
    response_ids = {row["id"] for row in rows}
    exclusions = [e for e in _exclusion_rows(session) if scoped is None or e["response_id"] in response_ids]
    events = _scoped_events(session, user)
    present = {row["chain_key"] for row in rows}
    withheld_chains = sorted(key for key in heads if key != AUDIT_CHAIN and key not in present
                             and _chain_questionnaire(key) not in shown) if scoped is not None else []
    records = sampling.bundle_records(session)
    records["draws"] = [d for d in records["draws"] if d["questionnaire_id"] in shown]
    published = [{"root": p.root, "chains": p.chains, "published_at": timestamp(p.published_at),
                  "published_by": p.published_by, "responses": p.responses}
                 for p in session.scalars(select(PublishedHead).order_by(PublishedHead.id))]
    manifest = {
        "format": "survey-app audit bundle 1",
        "software": {"survey_app": __version__, "analysis": analysis.__version__},
        "generated_by": actor,
        "head": {"root": root(heads), "chains": {k: list(v) for k, v in heads.items()}},
        "published_heads": published,
        "hash": "sha256(prev_hash + '\\n' + canonical JSON of the record); see analysis.chain",
        "record_fields": list(RECORD_FIELDS),
        "audit_fields": list(AUDIT_FIELDS),
        "figures": figures,
        "csv_cells": "a value a spreadsheet would run as a formula (= + - @ tab CR), or one starting with an "
                     "apostrophe, has one apostrophe put before it; remove one leading apostrophe to read the exact value",
        "files": ["responses.csv", "questionnaire_versions.json", "cards.csv", "exclusions.csv", "audit_log.csv",
                  "sampling.json"],
        "scope": {"all_units": scoped is None,
                  "units": [u.code for u in visible_units(session, user)] if scoped is not None else []},
        "withheld_chains": withheld_chains,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        archive.writestr("responses.csv", _csv(rows, EXPORT_FIELDS))
        archive.writestr("questionnaire_versions.json", json.dumps(versions, ensure_ascii=False, indent=2))
        archive.writestr("cards.csv", _csv(cards, list(cards[0]) if cards else ["id"]))
        archive.writestr("exclusions.csv", _csv(exclusions, list(exclusions[0]) if exclusions else
                                                ["id", "response_id", "reason", "reverted_at"]))
        archive.writestr("audit_log.csv", _csv(events, AUDIT_EXPORT_FIELDS))
        archive.writestr("sampling.json", json.dumps({**records, "designs":
                                                      sampling.bundle_designs(session, computed)},
                                                     ensure_ascii=False, indent=2, default=str))
    audit_log.record(session, actor=actor, action="export_bundle", root=manifest["head"]["root"])
    return out.getvalue()
