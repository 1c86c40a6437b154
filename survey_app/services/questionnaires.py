"""Generate, edit, publish and version questionnaires for satisfaction indicators.

A questionnaire's content is plain data::

    {"title": str, "intro": str, "rate_method": "top2" | "weighted",
     "questions": [{"key", "kind", "text", "options", "required"}, ...]}

Question kinds: ``likert`` (the satisfaction question: 非常满意 … 非常不满意 plus 不了解),
``choice`` (one option), ``village`` (pick the village; only asked when the link
does not fix it), ``text`` (the optional comment). Publishing freezes the draft
into a numbered :class:`QuestionnaireVersion`; a published version never changes.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import FIVE_POINT
from analysis.records import content_hash
from survey_app.db import utcnow
from survey_app.models import (
    Indicator,
    Project,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
    RespondentGroup,
)
from survey_app.models.survey import QuestionnaireStateError
from survey_app.services import audit_log

logger = logging.getLogger(__name__)

DONT_KNOW = "不了解"
LIKERT_OPTIONS = [*FIVE_POINT, DONT_KNOW]
ASPECT_OPTIONS = ["是", "部分做到", "否", "不清楚"]
IDENTITY_OPTIONS = {
    RespondentGroup.VILLAGERS: ["本镇村民", "村干部", "镇机关工作人员", "其他"],
    RespondentGroup.VILLAGE_CADRES: ["村党支部/村委会干部", "村民小组长", "其他"],
    RespondentGroup.TOWNSHIP_CADRES: ["镇机关干部", "自收自支人员", "其他"],
    RespondentGroup.OTHER: ["项目服务对象", "其他"],
}
WHO = {
    RespondentGroup.VILLAGERS: "本镇群众",
    RespondentGroup.VILLAGE_CADRES: "村干部",
    RespondentGroup.TOWNSHIP_CADRES: "镇机关干部职工",
    RespondentGroup.OTHER: "项目服务对象",
}
MAX_COMMENT = 500
#: groups that do not live in villages: no village question, distributed as one list
NOT_IN_VILLAGES = frozenset({RespondentGroup.TOWNSHIP_CADRES})
ASPECT_LEVELS = ("时效指标", "质量指标", "数量指标", "社会效益指标", "可持续影响指标")


class QuestionnaireError(ValueError):
    """A questionnaire change that cannot be made; the message is for staff."""


def _money(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


#: the kinds of aspect question, each with a template a villager reads naturally and its own options
ASPECT_KINDS: dict[str, tuple[str, list[str]]] = {
    "timeliness": ("据您了解，{project}的钱或工作是否按时发放、按时完成？", ["是", "部分是", "否", "不清楚"]),
    "coverage": ("据您了解，{who}是否都享受到了{project}？", ["是", "部分是", "否", "不清楚"]),
    "quality": ("据您了解，{project}的钱是否足额发放、按规定使用？", ["是", "部分是", "否", "不清楚"]),
    "amount": ("据您了解，{project}的钱是否都用在了该用的地方？", ["是", "部分是", "否", "不清楚"]),
    "benefit": ("您觉得{project}在“{topic}”方面有没有效果？", ["效果明显", "有一些效果", "没有效果", "不清楚"]),
}
#: who a coverage question is about, by the unit of the count target
COVERAGE_WHO = {"人": "应当发放的人员", "户": "应当享受的农户", "村": "应当覆盖的村", "个": "应当覆盖的村或单位"}


def aspect_kind(indicator: Indicator) -> str:
    """Which template an aspect indicator gets: timeliness, coverage, quality, amount or benefit."""
    if indicator.level2 == "时效指标":
        return "timeliness"
    if indicator.level2 == "质量指标":
        return "quality"
    if indicator.level2 == "数量指标":
        return "amount" if "元" in (indicator.target_raw or "") else "coverage"
    return "benefit"


def _coverage_who(indicator: Indicator) -> str:
    raw = indicator.target_raw or ""
    unit = next((u for u in COVERAGE_WHO if raw.rstrip().endswith(u)), None)
    if unit == "个" and "村" in (indicator.name + (indicator.description or "")):
        unit = "村"
    return COVERAGE_WHO.get(unit or "", "应当享受的人员或村")


def _topic(indicator: Indicator) -> str:
    """A short phrase for a benefit question: the indicator name without trailing punctuation or a leading 提高."""
    text = (indicator.name or indicator.description or "").strip().rstrip("。；;，,")
    return re.split(r"[，,；;]", text)[0] or text


def aspect_question(project: Project, other: Indicator, n: int) -> dict[str, Any]:
    """One aspect question: plain words, no target figure (a number in the question leads the answer)."""
    kind = aspect_kind(other)
    template, options = ASPECT_KINDS[kind]
    text = template.format(project=f"“{project.name}”项目", who=_coverage_who(other), topic=_topic(other))
    return {"key": f"aspect_{n}", "kind": "choice", "text": text, "options": list(options), "required": False,
            "source_indicator": other.position, "aspect_kind": kind}


def _aspects(project: Project, indicator: Indicator) -> list[dict[str, Any]]:
    """Two to four aspect questions drawn from the project's other indicators, one per kind."""
    chosen: list[Indicator] = []
    kinds: set[str] = set()
    for level in ASPECT_LEVELS:
        for other in project.indicators:
            if other is indicator or other.is_satisfaction or other.level2 != level:
                continue
            if other.level2 == "成本指标" or other in chosen or aspect_kind(other) in kinds:
                continue
            chosen.append(other)
            kinds.add(aspect_kind(other))
            break
        if len(chosen) == 4:
            break
    return [aspect_question(project, other, n) for n, other in enumerate(chosen, start=1)]


def generate_content(indicator: Indicator) -> dict[str, Any]:
    """A plain-Chinese draft for ``indicator`` (no names, phone numbers or ID numbers asked).

    The introduction says what the project did and nothing of its targets (a target figure would
    lead the answer). Groups that do not live in villages (镇干部) are not asked for a village.
    """
    if not indicator.is_satisfaction:
        raise QuestionnaireError(f"“{indicator.name}”不是满意度指标，不能生成问卷。")
    project = indicator.project
    group = RespondentGroup(indicator.respondent_group or RespondentGroup.OTHER)
    facts = [f"今年安排资金{_money(project.budget_wan)}万元"] if project.budget_wan is not None else []
    if project.fund_use:
        facts.append(project.fund_use.rstrip("。"))
    intro = (
        f"本问卷为匿名调查，想了解您对“{project.name}”项目的真实看法。"
        f"该项目{'，'.join(facts)}。请您根据自己的实际感受作答，满意、不满意都可以如实选择，结果只做统计，"
        "不会影响您本人。问卷不询问姓名、电话和身份证号。"
    )
    place = [] if group in NOT_IN_VILLAGES else [
        {"key": "village", "kind": "village", "text": "您所在的村：", "options": [], "required": True}]
    questions: list[dict[str, Any]] = [
        {
            "key": "satisfaction",
            "kind": "likert",
            "text": f"总体来说，您对“{project.name}”项目的实施效果是否满意？",
            "options": list(LIKERT_OPTIONS),
            "required": True,
        },
        *_aspects(project, indicator),
        {"key": "identity", "kind": "choice", "text": "您的身份是：", "options": IDENTITY_OPTIONS[group],
         "required": True},
        *place,
        {"key": "comment", "kind": "text", "text": "您还有什么意见或建议？（选填，请不要填写姓名、电话等个人信息）",
         "options": [], "required": False},
    ]
    return {
        "title": f"{project.name}满意度调查",
        "intro": intro,
        "audience": WHO[group],
        "rate_method": "top2",
        "questions": questions,
    }


def validate_content(content: dict[str, Any]) -> None:
    """Check a draft before it is saved or published."""
    if not str(content.get("title", "")).strip():
        raise QuestionnaireError("问卷标题不能为空。")
    if content.get("rate_method") not in ("top2", "weighted"):
        raise QuestionnaireError("满意度计算方法只能是“满意率（前两项）”或“加权得分”。")
    questions = content.get("questions") or []
    keys = [q.get("key") for q in questions]
    if len(set(keys)) != len(keys):
        raise QuestionnaireError("问题编号重复。")
    likert = [q for q in questions if q.get("kind") == "likert"]
    if len(likert) != 1 or likert[0].get("key") != "satisfaction":
        raise QuestionnaireError("问卷必须有且只有一个满意度主问题。")
    if likert[0].get("options") != LIKERT_OPTIONS:
        raise QuestionnaireError("满意度主问题的选项必须是五级量表加“不了解”，不能删去不满意的选项。")
    aspects = [q for q in questions if q.get("key", "").startswith("aspect_")]
    if len(aspects) > 6:
        raise QuestionnaireError("分项问题最多 6 个。")
    for q in questions:
        if not str(q.get("text", "")).strip():
            raise QuestionnaireError(f"问题 {q.get('key')} 的文字不能为空。")
        if q.get("kind") == "choice" and len(q.get("options") or []) < 2:
            raise QuestionnaireError(f"问题“{q.get('text')}”至少需要两个选项。")


def _hash(content: dict[str, Any]) -> str:
    return content_hash(content)


def ensure_questionnaire(session: Session, indicator: Indicator, *, actor: str) -> tuple[Questionnaire, bool]:
    """The indicator's questionnaire, generating a draft when there is none. Returns (q, created)."""
    existing = session.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
    if existing is not None:
        return existing, False
    questionnaire = Questionnaire(indicator=indicator, draft=generate_content(indicator))
    session.add(questionnaire)
    session.flush()
    audit_log.record(session, actor=actor, action="generate_questionnaire", obj=questionnaire,
                     indicator_id=indicator.id)
    return questionnaire, True


def generate_for(session: Session, indicators: list[Indicator], *, actor: str) -> tuple[int, int]:
    """Generate drafts for every satisfaction indicator given. Returns (created, existing)."""
    created = existing = 0
    for indicator in indicators:
        if not indicator.is_satisfaction:
            continue
        _, new = ensure_questionnaire(session, indicator, actor=actor)
        created += new
        existing += not new
    return created, existing


def update_draft(
    session: Session,
    questionnaire: Questionnaire,
    *,
    actor: str,
    title: str,
    intro: str,
    satisfaction_text: str,
    aspects: list[str],
    rate_method: str,
    double_entry: bool,
) -> Questionnaire:
    """Apply a staff edit to the draft: wording, aspect questions (order = list order), method."""
    content = json.loads(json.dumps(questionnaire.draft))
    content["title"] = title.strip()
    content["intro"] = intro.strip()
    content["rate_method"] = rate_method
    questions = content["questions"]
    main = next(q for q in questions if q["key"] == "satisfaction")
    main["text"] = satisfaction_text.strip()
    old_aspects = {q["text"]: q for q in questions if q["key"].startswith("aspect_")}
    new_aspects = []
    for n, text in enumerate((t.strip() for t in aspects if t.strip()), start=1):
        previous = old_aspects.get(text, {})
        new_aspects.append({"key": f"aspect_{n}", "kind": "choice", "text": text,
                            "options": previous.get("options", list(ASPECT_OPTIONS)), "required": False})
    rest = [q for q in questions if q["key"] != "satisfaction" and not q["key"].startswith("aspect_")]
    content["questions"] = [main, *new_aspects, *rest]
    validate_content(content)
    questionnaire.draft = content
    questionnaire.double_entry = double_entry
    questionnaire.updated_at = utcnow()
    session.flush()
    audit_log.record(session, actor=actor, action="edit_questionnaire", obj=questionnaire,
                     title=content["title"], aspects=len(new_aspects), rate_method=rate_method)
    return questionnaire


def publish(session: Session, questionnaire: Questionnaire, *, actor: str) -> QuestionnaireVersion:
    """Freeze the draft as the next version (no new version when nothing changed)."""
    validate_content(questionnaire.draft)
    content = json.loads(json.dumps(questionnaire.draft))
    digest = _hash(content)
    current = questionnaire.current_version
    if current is not None and current.content_hash == digest:
        questionnaire.move_to(QuestionnaireStatus.PUBLISHED)
        session.flush()
        return current
    version = QuestionnaireVersion(
        questionnaire=questionnaire,
        number=(current.number + 1) if current else 1,
        content=content,
        content_hash=digest,
        published_by=actor,
    )
    session.add(version)
    questionnaire.move_to(QuestionnaireStatus.PUBLISHED)
    session.flush()
    audit_log.record(session, actor=actor, action="publish_questionnaire", obj=questionnaire,
                     version=version.number, content_hash=digest)
    logger.info("%s published v%s by %s", questionnaire, version.number, actor)
    return version


def set_status(session: Session, questionnaire: Questionnaire, status: QuestionnaireStatus, *, actor: str) -> None:
    """Close a questionnaire (respondents see 问卷已结束) or reopen it."""
    if status == QuestionnaireStatus.PUBLISHED and questionnaire.current_version is None:
        raise QuestionnaireError("问卷还没有发布过，不能重新开放。")
    try:
        questionnaire.move_to(status)
    except QuestionnaireStateError as exc:
        raise QuestionnaireError(str(exc)) from None
    session.flush()
    audit_log.record(session, actor=actor, action=f"questionnaire_{status.value}", obj=questionnaire)


def version_is_intact(version: QuestionnaireVersion) -> bool:
    """True when the stored content still matches the hash taken at publication."""
    return _hash(version.content) == version.content_hash
