"""Accept answers exactly once: from QR links, paper forms and interviews.

Exactly-once rests on the database, not on cookies:

* every rendered form carries a random ``submission_key`` (inside a signed
  token); ``responses.submission_key`` is UNIQUE, so a double tap, a back-and-
  resubmit or a retried request finds the row already stored and shows the
  same receipt;
* a card response sets ``responses.card_id``, also UNIQUE, so two phones
  submitting the same card at the same moment store exactly one response: the
  loser's INSERT fails and it is shown 此二维码已使用.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey_app.db import utcnow
from survey_app.models import (
    Channel,
    Link,
    LinkKind,
    PaperEntry,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
    Response,
    Village,
)
from survey_app.services import audit_log, integrity
from survey_app.services.cellsafe import has_control
from survey_app.services.questionnaires import MAX_COMMENT

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CONTROL_ANSWER = "这一项含有无法保存的控制字符（不可见的特殊字符），已为您删除，请检查后再次提交。"


class CardUsed(Exception):
    """The card has already been used; carries when, and the response that used it."""

    def __init__(self, used_at: dt.datetime, response: Response | None = None) -> None:
        super().__init__("card used")
        self.used_at = used_at
        self.response = response


class NotAccepting(Exception):
    """The questionnaire is not open (draft or closed) or the link is void."""

    def __init__(self, reason: str, at: dt.datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


@dataclass
class Answers:
    """Validated answers of one form."""

    values: dict[str, str]
    satisfaction: str
    comment: str
    village_id: int | None


def new_receipt() -> str:
    """Eight characters drawn uniformly from the alphabet (one call to the system's random source)."""
    number = secrets.randbelow(len(RECEIPT_ALPHABET) ** 8)
    code = []
    for _ in range(8):
        number, digit = divmod(number, len(RECEIPT_ALPHABET))
        code.append(RECEIPT_ALPHABET[digit])
    return f"{''.join(code[:4])}-{''.join(code[4:])}"


def normalize_receipt(text: str | None) -> str:
    """A receipt code as typed (lower case, no hyphen, spaces, full-width) in its stored form ``ABCD-EFGH``."""
    import unicodedata

    code = "".join(ch for ch in unicodedata.normalize("NFKC", text or "").upper() if ch.isalnum())
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


def salted_hash(secret: str, *parts: str) -> str:
    """A keyed hash for duplicate analysis; the inputs (IP, user agent) are never stored."""
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


def questions_for(content: Mapping[str, Any], *, village_fixed: bool) -> list[dict[str, Any]]:
    """The questions a respondent sees: the village question only when the link does not fix it."""
    return [q for q in content["questions"] if not (q["kind"] == "village" and village_fixed)]


def validate_answers(
    content: Mapping[str, Any],
    form: Mapping[str, str],
    *,
    villages: list[Village],
    fixed_village: Village | None,
) -> tuple[Answers | None, dict[str, str]]:
    """Check submitted answers against the version's questions. Returns (answers, errors by key)."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    village_id = fixed_village.id if fixed_village else None
    for question in questions_for(content, village_fixed=fixed_village is not None):
        key, kind = question["key"], question["kind"]
        raw = (form.get(key) or "").strip()
        if has_control(raw):
            errors[key] = CONTROL_ANSWER
            continue
        if kind == "text":
            if len(raw) > MAX_COMMENT:
                errors[key] = f"意见建议最多 {MAX_COMMENT} 字，现在有 {len(raw)} 字，请删减。"
            values[key] = raw[:MAX_COMMENT] if key not in errors else raw
            continue
        if not raw:
            if question.get("required"):
                errors[key] = "请选择一项。"
            continue
        if kind == "village":
            match = next((v for v in villages if str(v.id) == raw), None)
            if match is None:
                errors[key] = "请从列表中选择您所在的村。"
                continue
            village_id = match.id
            values[key] = match.name
        elif raw not in question["options"]:
            errors[key] = "这个选项不在问卷上，请重新选择。"
        else:
            values[key] = raw
    if errors:
        return None, errors
    return Answers(values, values["satisfaction"], values.get("comment", ""), village_id), {}


def latest_version(questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    """The published version in force, without loading every version's content."""
    from sqlalchemy.orm import defer, object_session

    if "versions" in questionnaire.__dict__:  # already loaded
        return questionnaire.current_version
    session = object_session(questionnaire)
    assert session is not None
    return session.scalar(
        select(QuestionnaireVersion).options(defer(QuestionnaireVersion.content))
        .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        .order_by(QuestionnaireVersion.number.desc()).limit(1)
    )


def check_open(questionnaire: Questionnaire, link: Link | None = None,
               latest: QuestionnaireVersion | None | bool = False) -> QuestionnaireVersion:
    """The version in force, or :class:`NotAccepting`. ``latest``: already looked up (by :func:`lookup_link`)."""
    if link is not None and link.voided_at is not None:
        raise NotAccepting("voided")
    if questionnaire.status == QuestionnaireStatus.CLOSED:
        raise NotAccepting("closed")
    version = latest_version(questionnaire) if latest is False else latest
    if questionnaire.status != QuestionnaireStatus.PUBLISHED or version is None:
        raise NotAccepting("unpublished")
    from survey_app.services.schedule import check_schedule

    check_schedule(questionnaire)
    return version


@dataclass
class LinkLookup:
    """A QR link with everything a submission needs to decide, read in one round trip."""

    link: Link
    latest: QuestionnaireVersion | None  # the newest version (content deferred)
    stored_id: int | None  # the response already stored under the submission key
    card_used_at: dt.datetime | None  # when the card was used (cards only)


_LOOKUP: list[Any] = []


def _lookup_statement() -> Any:
    """Built once (statement construction costs more than the query): parameters ``token`` and ``key``."""
    if not _LOOKUP:
        from sqlalchemy import bindparam, func
        from sqlalchemy.orm import aliased, contains_eager, defer

        version = aliased(QuestionnaireVersion)
        newest = (select(func.max(QuestionnaireVersion.number))
                  .where(QuestionnaireVersion.questionnaire_id == Link.questionnaire_id).scalar_subquery())
        stored = select(Response.id).where(Response.submission_key == bindparam("key")).scalar_subquery()
        used = select(Response.submitted_at).where(Response.card_id == Link.id).scalar_subquery()
        _LOOKUP.append(
            select(Link, version, stored, used)
            .join(Link.questionnaire).outerjoin(Link.village)
            .outerjoin(version, (version.questionnaire_id == Link.questionnaire_id) & (version.number == newest))
            .options(contains_eager(Link.questionnaire).defer(Questionnaire.draft), contains_eager(Link.village),
                     defer(version.content))
            .where(Link.token == bindparam("token"))
        )
    return _LOOKUP[0]


def lookup_link(session: Session, token: str, submission_key: str | None = None) -> LinkLookup | None:
    """The link by token with its questionnaire, village and newest version, whether ``submission_key``
    is already stored and whether the card is used: one SELECT instead of four."""
    token = token.strip().upper()
    if not token.isalnum() or len(token) > 32:
        return None
    row = session.execute(_lookup_statement(), {"token": token, "key": submission_key}).first()
    if row is None:
        return None
    link, latest, stored_id, used_at = row
    return LinkLookup(link, latest, stored_id, used_at if link.kind == LinkKind.CARD else None)


def find_by_key(session: Session, submission_key: str) -> Response | None:
    return session.scalar(select(Response).where(Response.submission_key == submission_key))


def card_response(session: Session, link: Link) -> Response | None:
    return session.scalar(select(Response).where(Response.card_id == link.id))


def _already_stored(session: Session, submission_key: str, card: Link | None) -> Response | None:
    """The response already stored for this form; :class:`CardUsed` if another form used the card."""
    existing = find_by_key(session, submission_key)
    if existing is not None:
        return existing
    if card is not None:
        used = card_response(session, card)
        if used is not None and used.submission_key == submission_key:  # stored between the two reads
            return used
        if used is not None:
            raise CardUsed(used.submitted_at, used)
    return None


def response_values(
    *,
    questionnaire_id: int,
    version_id: int,
    link_id: int | None,
    card_id: int | None,
    answers: Answers,
    submission_key: str,
    channel: Channel,
    submitted_at: dt.datetime,
    started_at: dt.datetime | None = None,
    network_hash: str = "",
    device_hash: str = "",
    entered_by: str = "",
    form_no: str = "",
    simulated: bool = False,
) -> dict[str, Any]:
    """The columns of a new response (a fresh receipt code; the chain fields come with the append)."""
    return {
        "questionnaire_id": questionnaire_id, "version_id": version_id, "link_id": link_id, "card_id": card_id,
        "village_id": answers.village_id, "channel": Channel(channel),
        "submission_key": submission_key, "receipt": new_receipt(), "satisfaction": answers.satisfaction,
        "answers": answers.values, "comment": answers.comment, "started_at": started_at,
        "submitted_at": submitted_at, "network_hash": network_hash, "device_hash": device_hash,
        "entered_by": entered_by, "form_no": form_no, "simulated": simulated,
    }


def submit(
    session: Session,
    *,
    link: Link | None,
    version: QuestionnaireVersion,
    answers: Answers,
    submission_key: str,
    channel: Channel,
    started_at: dt.datetime | None = None,
    network_hash: str = "",
    device_hash: str = "",
    entered_by: str = "",
    form_no: str = "",
    simulated: bool = False,
    prechecked: bool = False,
) -> tuple[Response, bool]:
    """Store one response exactly once. Returns (response, created).

    The caller commits; a lost race never rolls back the caller's transaction (only the attempted
    insert is undone). A repeated ``submission_key`` returns the stored response (``created``
    False); a used card raises :class:`CardUsed`. With ``prechecked`` the caller has just looked
    both up in this transaction (the respondent view), so the INSERT goes straight to the database
    (:func:`integrity.store`, a Core statement that stores nothing on a conflict), whose UNIQUE
    constraints still decide any race; the winner is then looked up. The response returned for a
    new prechecked row is not in the session: it only feeds the receipt page.
    """
    card = link if link is not None and link.kind == LinkKind.CARD else None
    if not prechecked:
        existing = _already_stored(session, submission_key, card)
        if existing is not None:
            return existing, False
    now = utcnow()
    values = response_values(
        questionnaire_id=version.questionnaire_id, version_id=version.id, link_id=link.id if link else None,
        card_id=card.id if card is not None else None, answers=answers, submission_key=submission_key,
        channel=channel, submitted_at=now, started_at=started_at, network_hash=network_hash,
        device_hash=device_hash, entered_by=entered_by, form_no=form_no, simulated=simulated)
    if prechecked:
        for _ in range(2):
            new_id = integrity.store(session.connection(), values)
            if new_id is not None:
                return Response(id=new_id, **values), True
            # lost a race: the same form was stored by a parallel request, or the card was used
            existing = _already_stored(session, submission_key, card)
            if existing is not None:
                return existing, False
            values["receipt"] = new_receipt()  # the one other UNIQUE value a new form can meet
        raise RuntimeError(f"response {submission_key} was refused by the database twice")
    response = Response(**values)
    try:
        with session.begin_nested():  # a lost race rolls back to here, not the caller's transaction
            integrity.append(session, response)
            session.add(response)
            session.flush()
    except IntegrityError:
        existing = _already_stored(session, submission_key, card)
        if existing is not None:
            return existing, False
        raise
    if card is not None:
        card.used_at = now
        session.flush()
    return response, True


# -- the respondent's fast path: one statement for a form shown by this service ----------------


@dataclass(frozen=True)
class VersionFacts:
    """A published version: it never changes, so it is read once per process."""

    id: int
    questionnaire_id: int
    content_hash: str
    content: dict[str, Any]


_VERSIONS: dict[int, VersionFacts] = {}
_VILLAGES: dict[int, list[Any]] = {}
_STATEMENTS: dict[str, Any] = {}


def _statement(name: str) -> Any:
    """The fast path's two reads, built once (their compiled form is then cached by SQLAlchemy)."""
    if not _STATEMENTS:
        from sqlalchemy import bindparam

        from survey_app.models import Indicator, Project, Unit

        _STATEMENTS["version"] = select(
            QuestionnaireVersion.id, QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.content_hash,
            QuestionnaireVersion.content).where(QuestionnaireVersion.id == bindparam("id"))
        _STATEMENTS["villages"] = (
            select(Village.id, Village.name, Village.unit_id).join(Unit).join(Project).join(Indicator)
            .join(Questionnaire, Questionnaire.indicator_id == Indicator.id)
            .where(Questionnaire.id == bindparam("q")).order_by(Village.code))
    return _STATEMENTS[name]


def version_facts(connection: Connection, version_id: int, content_hash: str | None = None) -> VersionFacts | None:
    """The version with its parsed content, from this process's cache (read again when ``content_hash``,
    as just read from the database, differs from the cached one)."""
    facts = _VERSIONS.get(version_id)
    if facts is None or (content_hash is not None and facts.content_hash != content_hash):
        row = connection.execute(_statement("version"), {"id": version_id}).first()
        if row is None:
            return None
        if len(_VERSIONS) > 1000:
            _VERSIONS.clear()
        facts = _VERSIONS[version_id] = VersionFacts(*row)
    return facts


def form_payload(link_id: int, version_id: int, *, card: bool, village_id: int | None) -> dict[str, Any]:
    """What a rendered form's signed token says: link, version, a new submission key, when it was
    shown, and the link's kind and fixed village (which never change), so that submitting it
    needs nothing else read before the one statement that checks and stores it."""
    return {"l": link_id, "v": version_id, "k": new_submission_key(), "t": int(utcnow().timestamp()),
            "c": int(card), "g": village_id}


#: what the fast path's INSERT also checks, in the same statement: the link (not voided, still of
#: this kind and village), the questionnaire open (published, inside its schedule, no target count,
#: which the full path checks), the version (this questionnaire's, content unchanged), and a
#: village the respondent picked (still of that name in that unit)
_FORM_GUARD = """EXISTS (
        SELECT 1 FROM links l JOIN questionnaires q ON q.id = l.questionnaire_id
        JOIN questionnaire_versions v ON v.questionnaire_id = q.id
        WHERE l.id = :link_id AND l.token = CAST(:token AS VARCHAR) AND l.kind = CAST(:link_kind AS VARCHAR)
        AND COALESCE(l.village_id, 0) = CAST(:fixed_village AS INTEGER) AND l.voided_at IS NULL
        AND q.status = 'published' AND (q.opens_at IS NULL OR q.opens_at <= :submitted_at)
        AND (q.closes_at IS NULL OR q.closes_at > :submitted_at) AND COALESCE(q.target_valid, 0) = 0
        AND v.id = :version_id AND v.content_hash = CAST(:content_hash AS VARCHAR))
    AND (CAST(:chosen_name AS VARCHAR) IS NULL OR EXISTS (
        SELECT 1 FROM villages c WHERE c.id = :village_id AND c.name = CAST(:chosen_name AS VARCHAR)
        AND c.unit_id = CAST(:chosen_unit AS INTEGER)))"""


@dataclass(frozen=True)
class Stored:
    """A response just stored, as its receipt page shows it."""

    id: int
    receipt: str
    submitted_at: dt.datetime


@dataclass(frozen=True)
class _Fixed:
    id: int


def store_form(connection: Connection, *, token: str, payload: Mapping[str, Any], form: Mapping[str, str],
               network_hash: str, device_hash: str) -> Stored | None:
    """The respondent fast path: validate a signed, unexpired form against the cached version and
    store it with ONE statement that also checks everything that may have changed since the form
    was shown (:data:`_FORM_GUARD`) and appends it to its chain.

    None when it cannot (an older token, an answer to correct, a repeat of a stored form, a used
    card, a closed questionnaire, ...): nothing was stored and nothing is rolled back; the caller
    takes the full path, which finds out why and says so. ``connection`` may be in autocommit mode
    (:meth:`survey_app.db.Database.one_statement`): the store is one statement.
    """
    if "c" not in payload or "g" not in payload:
        return None
    version = version_facts(connection, payload["v"])
    if version is None:
        return None
    fixed = payload["g"]
    villages: list[Any] = []
    if fixed is None:
        villages = _VILLAGES.get(version.questionnaire_id) or []
        if not villages:
            villages = list(connection.execute(_statement("villages"), {"q": version.questionnaire_id}))
            if len(_VILLAGES) > 1000:
                _VILLAGES.clear()
            _VILLAGES[version.questionnaire_id] = villages
    answers, _errors = validate_answers(version.content, form, villages=villages,
                                        fixed_village=_Fixed(fixed) if fixed is not None else None)
    if answers is None:
        _VILLAGES.pop(version.questionnaire_id, None)  # a village added since: the full path reads them again
        return None
    chosen = next((v for v in villages if v.id == answers.village_id), None)
    card = bool(payload["c"])
    now = utcnow()
    values = response_values(
        questionnaire_id=version.questionnaire_id, version_id=version.id, link_id=payload["l"],
        card_id=payload["l"] if card else None, answers=answers, submission_key=payload["k"],
        channel=Channel.CARD if card else Channel.POSTER, submitted_at=now,
        started_at=dt.datetime.fromtimestamp(payload["t"], dt.UTC), network_hash=network_hash,
        device_hash=device_hash)
    params = {"token": token, "link_kind": LinkKind.CARD.value if card else LinkKind.POSTER.value,
              "fixed_village": fixed or 0, "content_hash": version.content_hash,
              "chosen_name": chosen.name if chosen is not None else None,
              "chosen_unit": chosen.unit_id if chosen is not None else None}
    new_id = integrity.store(connection, values, guard=_FORM_GUARD, params=params)
    if new_id is None:
        _VILLAGES.pop(version.questionnaire_id, None)
        return None
    return Stored(new_id, values["receipt"], now)


# -- paper and interview entry ----------------------------------------------------------


@dataclass
class PaperResult:
    status: str  # stored | pending | matched | mismatch
    response: Response | None
    differences: dict[str, tuple[str, str]]


def enter_paper(
    session: Session,
    questionnaire: Questionnaire,
    *,
    answers: Answers,
    channel: Channel,
    form_no: str,
    actor: str,
    card: Link | None = None,
) -> PaperResult:
    """Key in a paper form or interview; with double entry, two staff must agree first."""
    version = check_open(questionnaire, card)
    form_no = form_no.strip()
    if card is not None:
        used = card_response(session, card)
        if used is not None:
            raise CardUsed(used.submitted_at, used)
    if not questionnaire.double_entry:
        key = f"paper:{questionnaire.id}:{form_no}" if form_no else new_submission_key()
        # a card number consumes the card here, in the same transaction, exactly like an online answer
        response, created = submit(session, link=card, version=version, answers=answers,
                                   submission_key=key, channel=channel, entered_by=actor, form_no=form_no)
        if created:
            audit_log.record(session, actor=actor, action="enter_paper", obj=response, form_no=form_no,
                             channel=channel.value)
        return PaperResult("stored" if created else "duplicate", response, {})
    if not form_no:
        raise ValueError("双人录入时必须填写问卷编号，以便两次录入相互核对。")
    first = session.scalar(
        select(PaperEntry).where(PaperEntry.questionnaire_id == questionnaire.id, PaperEntry.form_no == form_no,
                                 PaperEntry.status.in_(("pending", "mismatch")))
    )
    record = {**answers.values, "_village_id": answers.village_id}
    if card is not None:
        record["_card_id"] = card.id
    if first is None:
        if session.scalar(select(Response.id).where(Response.questionnaire_id == questionnaire.id,
                                                    Response.form_no == form_no)):
            return PaperResult("duplicate", None, {})
        session.add(PaperEntry(questionnaire_id=questionnaire.id, version_id=version.id, form_no=form_no,
                               channel=channel, village_id=answers.village_id, answers=record, entered_by=actor))
        session.flush()
        audit_log.record(session, actor=actor, action="enter_paper_first", obj=questionnaire, form_no=form_no)
        return PaperResult("pending", None, {})
    if first.entered_by == actor:
        raise ValueError("第二次录入必须由另一位工作人员完成。")
    differences = {
        k: (str(first.answers.get(k, "")), str(record.get(k, "")))
        for k in sorted(set(first.answers) | set(record))
        if str(first.answers.get(k, "")) != str(record.get(k, ""))
    }
    second = PaperEntry(questionnaire_id=questionnaire.id, version_id=version.id, form_no=form_no, channel=channel,
                        village_id=answers.village_id, answers=record, entered_by=actor)
    session.add(second)
    if differences:
        first.status = second.status = "mismatch"
        session.flush()
        audit_log.record(session, actor=actor, action="paper_mismatch", obj=questionnaire, form_no=form_no,
                         fields=sorted(differences))
        return PaperResult("mismatch", None, differences)
    response, _ = submit(session, link=card, version=version, answers=answers,
                         submission_key=f"paper:{questionnaire.id}:{form_no}", channel=channel,
                         entered_by=f"{first.entered_by}+{actor}", form_no=form_no)
    first.status = second.status = "matched"
    first.response_id = second.response_id = response.id
    session.flush()
    audit_log.record(session, actor=actor, action="paper_matched", obj=response, form_no=form_no)
    return PaperResult("matched", response, {})


def resolve_mismatch(
    session: Session, questionnaire: Questionnaire, form_no: str, answers: Answers, *, actor: str
) -> Response:
    """Settle a double-entry mismatch with the answers read off the paper form."""
    version = check_open(questionnaire)
    entries = session.scalars(
        select(PaperEntry).where(PaperEntry.questionnaire_id == questionnaire.id, PaperEntry.form_no == form_no,
                                 PaperEntry.status == "mismatch")
    ).all()
    if not entries:
        raise ValueError(f"问卷编号 {form_no} 没有待处理的不一致记录。")
    cards = {e.answers.get("_card_id") for e in entries} - {None}
    card = session.get(Link, cards.pop()) if len(cards) == 1 else None
    response, _ = submit(session, link=card, version=version, answers=answers,
                         submission_key=f"paper:{questionnaire.id}:{form_no}", channel=entries[0].channel,
                         entered_by="+".join(e.entered_by for e in entries) + f"（{actor}核对）", form_no=form_no)
    for entry in entries:
        entry.status = "resolved"
        entry.response_id = response.id
    session.flush()
    audit_log.record(session, actor=actor, action="paper_resolved", obj=response, form_no=form_no)
    return response


def mismatches(session: Session, questionnaire: Questionnaire) -> dict[str, list[PaperEntry]]:
    rows = session.scalars(
        select(PaperEntry).where(PaperEntry.questionnaire_id == questionnaire.id, PaperEntry.status == "mismatch")
        .order_by(PaperEntry.form_no, PaperEntry.id)
    ).all()
    grouped: dict[str, list[PaperEntry]] = {}
    for row in rows:
        grouped.setdefault(row.form_no, []).append(row)
    return grouped
