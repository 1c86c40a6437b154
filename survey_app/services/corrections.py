"""Correcting a mistyped paper form: a new chained row supersedes the stored one, which never changes.

The correction keeps the form's questionnaire, version, channel, village default and
form number, names the row it replaces (``supersedes_id``, UNIQUE: a row is replaced
at most once, so a form's versions form a line) and the reason; both are covered by
the row's hash. Figures, lists and exports use the latest version of each form;
auditors see the whole line. ``survey-app verify`` and ``python -m analysis verify``
check it (:func:`analysis.chain.check_corrections`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analysis.chain import CORRECTABLE_CHANNELS
from survey_app.db import utcnow
from survey_app.models import Response
from survey_app.services import audit_log, integrity
from survey_app.services.collection import Answers, new_receipt


class CorrectionError(ValueError):
    """A correction that cannot be made; the message is for staff."""


def successor(session: Session, response: Response) -> Response | None:
    return session.scalar(select(Response).where(Response.supersedes_id == response.id))


def history(session: Session, response: Response) -> list[Response]:
    """Every version of the form ``response`` belongs to, oldest first."""
    line = [response]
    while line[0].supersedes_id is not None:
        earlier = session.get(Response, line[0].supersedes_id)
        if earlier is None:
            break
        line.insert(0, earlier)
    while (later := successor(session, line[-1])) is not None:
        line.append(later)
    return line


def correct(session: Session, response: Response, answers: Answers, reason: str, *, actor: str) -> Response:
    """Store ``answers`` as the corrected version of the paper form ``response``."""
    reason = reason.strip()
    if not reason:
        raise CorrectionError("更正必须写明理由（例如：录入时把“满意”错录为“不满意”，已对照纸质问卷）。")
    if response.channel.value not in CORRECTABLE_CHANNELS:
        raise CorrectionError("只有纸质问卷和访谈录入的答卷可以更正；扫码提交的答卷是答题人本人的回答，不能更改。")
    if response.simulated:
        raise CorrectionError("模拟答卷不能更正。")
    later = successor(session, response)
    if later is not None:
        raise CorrectionError(f"回执码 {response.receipt} 的答卷已被更正为 {later.receipt}，请在最新版本上更正。")
    if answers.values == response.answers and answers.village_id == response.village_id:
        raise CorrectionError("更正后的答案与原答卷完全相同，没有需要更正的内容。")
    new = Response(
        questionnaire_id=response.questionnaire_id, version_id=response.version_id, link_id=None, card_id=None,
        village_id=answers.village_id, channel=response.channel, submission_key=f"correction:{response.id}",
        receipt=new_receipt(), satisfaction=answers.satisfaction, answers=answers.values, comment=answers.comment,
        submitted_at=utcnow(), network_hash="", device_hash="", entered_by=actor, form_no=response.form_no,
        simulated=False,
        supersedes_id=response.id, correction_reason=reason,
    )
    try:
        with session.begin_nested():
            integrity.append(session, new)
            session.add(new)
            session.flush()
    except IntegrityError:
        raise CorrectionError(f"回执码 {response.receipt} 的答卷刚刚已被他人更正，请刷新后再看。") from None
    changed = sorted(k for k in set(answers.values) | set(response.answers)
                     if answers.values.get(k) != response.answers.get(k))
    audit_log.record(session, actor=actor, action="correct_response", obj=new, reason=reason,
                     supersedes=response.receipt, receipt=new.receipt, fields=changed,
                     questionnaire_id=response.questionnaire_id)
    return new
