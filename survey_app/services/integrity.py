"""Tamper evidence: append responses to their chain, publish heads, verify, export audit bundles.

See :mod:`analysis.chain` for the hashing. Appending locks only the chain's own
head row (``UPDATE chain_heads ... RETURNING``), so submissions through
different QR links never wait for each other.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import analysis
from analysis.chain import (
    AUDIT_CHAIN,
    AUDIT_FIELDS,
    RECORD_FIELDS,
    Problem,
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


def chain_key(response: Response) -> str:
    if response.simulated:
        return f"q{response.questionnaire_id}:sim"
    if response.link_id is not None:
        return f"q{response.questionnaire_id}:l{response.link_id}"
    return f"q{response.questionnaire_id}:{getattr(response.channel, 'value', response.channel)}"


def record_of(response: Response) -> dict[str, Any]:
    return {name: getattr(response, name) for name in RECORD_FIELDS}


def position(session: Session, response: Response, *, core: bool = False) -> None:
    """Take ``response``'s place in its chain and compute its hashes; the head is settled by the caller."""
    key = chain_key(response)
    seq, prev = chains.advance(session, key, core=core)
    response.chain_key, response.chain_seq, response.prev_hash = key, seq, prev
    response.row_hash = row_hash(prev, record_of(response))


def append(session: Session, response: Response) -> None:
    """Give ``response`` its chain position and hashes (same transaction as the INSERT)."""
    position(session, response)
    chains.settle(session, response.chain_key, response.row_hash)


#: the respondent path's INSERT, built once: on PostgreSQL it also settles the chain head in the
#: same statement (a data-modifying CTE), so storing an answer is one round trip after the advance
_RESPONSE_COLUMNS = [c for c in Response.__table__.c if c.key != "id" and c.computed is None]  # the database fills the rest
_INSERT_STATEMENTS: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    statement = _INSERT_STATEMENTS.get(dialect)
    if statement is None:
        from sqlalchemy import bindparam, insert, update

        statement = insert(Response.__table__).returning(Response.__table__.c.id)
        if dialect == "postgresql":
            settle = (update(ChainHead).where(ChainHead.key == bindparam("head_key"))
                      .values(hash=bindparam("head_hash")).cte("settle_head"))
            statement = statement.add_cte(settle)
        _INSERT_STATEMENTS[dialect] = statement
    return statement


def _column_value(response: Response, column: Any) -> Any:
    """The attribute's value, or the column's scalar default where the attribute is still unset
    (a transient object has no ORM defaults before a flush; an explicit NULL would override them)."""
    value = getattr(response, column.key)
    if value is None and column.default is not None and column.default.is_scalar:
        value = column.default.arg
        setattr(response, column.key, value)
    return value


def store(session: Session, response: Response) -> int:
    """Append ``response`` to its chain and INSERT it with Core (no unit of work); returns its id.

    Same guarantees as ``session.add`` + :func:`append`: the head row stays locked from the
    advance to the commit, and the UNIQUE constraints decide races (IntegrityError). Runs on the
    session's connection without ORM bookkeeping: for sessions that hold no ChainHead objects.
    """
    position(session, response, core=True)
    values = {c.key: _column_value(response, c) for c in _RESPONSE_COLUMNS}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        values.update(head_key=response.chain_key, head_hash=response.row_hash)
    else:
        chains.settle(session, response.chain_key, response.row_hash)
    response.id = session.connection().execute(_insert_statement(dialect), values).scalar_one()
    return response.id


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
