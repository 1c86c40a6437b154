"""Honest samples: frames per village, the seeded draw, cards bound to positions,
dispositions, and the design assessment shown next to every figure.

The protocol (see README "抽样与无应答"):

1. Staff enter each village's roster count N_h (positions 1…N_h on the
   village's own paper list; no names).
2. **Declare** the draw: the sample size per village and the public number
   still to come (e.g. "中国体育彩票排列三 2026-11-30 开奖号码"). The current chain
   head is recorded at that moment. Both go into the chained audit log.
3. When the number is public, staff enter it and **draw**: the seed is
   ``chain_root|lottery|number``, and ``analysis.draw_sample`` gives the
   positions. One card is issued per drawn position.
4. Interviewers visit the positions on the printed visit list. A position that
   turns out not eligible (empty, moved away) is replaced by the next reserve
   in draw order, never by the interviewer's choice.
5. Staff record each card's disposition; a card with an answer is completed,
   an unused card without a disposition counts as unknown.

Services take a session, flush and never commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import DRAW_ALGORITHM, aapor_rates, check_issued, draw_sample, nonresponse_bounds, target_fraction
from analysis.chain import root
from analysis.sampling import DISPOSITION_LABELS, DISPOSITIONS, MAX_FRAME  # noqa: F401 (re-exported)
from survey_app.db import utcnow
from survey_app.models import (
    Exclusion,
    Link,
    LinkKind,
    Questionnaire,
    Response,
    SampleDraw,
    SamplingFrame,
    Village,
)
from survey_app.services import audit_log
from survey_app.services.distribution import new_token
from survey_app.services.questionnaires import LIKERT_OPTIONS

CONFIDENCE = 0.95
#: dispositions staff may set on an unused card (a used card is always completed)
STAFF_DISPOSITIONS = ("refused", "non_contact", "other", "not_eligible", "unknown", "partial")
MAX_LOTTERY = 200
MAX_NUMBER = 64
#: cards issued by one draw (one per drawn position)
MAX_DRAW_CARDS = 5000


class SamplingError(ValueError):
    """A sampling request that cannot be carried out; the message is for staff."""


# -- frames -------------------------------------------------------------------------


def frames_of(session: Session, questionnaire: Questionnaire) -> dict[int, SamplingFrame]:
    query = select(SamplingFrame).where(SamplingFrame.questionnaire_id == questionnaire.id)
    return {f.village_id: f for f in session.scalars(query)}


def draw_of(session: Session, questionnaire: Questionnaire) -> SampleDraw | None:
    return session.scalar(select(SampleDraw).where(SampleDraw.questionnaire_id == questionnaire.id))


def parse_numbered_list(data: bytes) -> tuple[int, str]:
    """An uploaded numbered list: one number per line, exactly 1…N in order, nothing else.

    Returns (N, sha256). Anything that is not a bare number (a name, an ID number)
    is refused, so no personal data enters the system.
    """
    if len(data) > 16 * MAX_FRAME:
        raise SamplingError("名单文件太大。")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SamplingError("名单文件不是 UTF-8 文本，请另存为纯文本（每行一个编号）。") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines, start=1):
        if line != str(i):
            raise SamplingError(f"名单第 {i} 行应为编号 {i}，实际是“{line[:20]}”。名单只能有编号，不能有姓名等个人信息。")
    if not lines:
        raise SamplingError("名单文件是空的。")
    return len(lines), hashlib.sha256(data).hexdigest()


def set_frame(session: Session, questionnaire: Questionnaire, village: Village, size: int | None, *,
              actor: str, description: str = "", list_hash: str = "") -> SamplingFrame | None:
    """Set (or with ``size`` None, remove) a village's frame. Refused once the draw is declared."""
    if draw_of(session, questionnaire) is not None:
        raise SamplingError("抽样已登记，名单人数不能再修改（否则抽样无法复核）。")
    if village.unit_id != questionnaire.indicator.project.unit_id:
        raise SamplingError(f"{village.name}不属于本项目的单位。")
    frame = frames_of(session, questionnaire).get(village.id)
    if size is None:
        if frame is not None:
            session.delete(frame)
            session.flush()
            audit_log.record(session, actor=actor, action="sampling_frame_remove", obj=questionnaire,
                             village=village.name)
        return None
    if not isinstance(size, int) or not 1 <= size <= MAX_FRAME:
        raise SamplingError(f"{village.name}的名单人数必须是 1–{MAX_FRAME} 之间的整数。")
    description = description.strip()[:200]
    if frame is None:
        frame = SamplingFrame(questionnaire_id=questionnaire.id, village_id=village.id, size=size)
        session.add(frame)
    elif (frame.size, frame.description, frame.list_hash) == (size, description, list_hash):
        return frame
    frame.size, frame.description, frame.list_hash = size, description, list_hash
    frame.updated_at, frame.updated_by = utcnow(), actor
    session.flush()
    audit_log.record(session, actor=actor, action="sampling_frame", obj=questionnaire, village=village.name,
                     size=size, description=description, list_hash=list_hash)
    return frame


# -- the draw ------------------------------------------------------------------------


def current_root(session: Session) -> str:
    from survey_app.services.integrity import current_head

    return root(current_head(session))


def declare_draw(session: Session, questionnaire: Questionnaire, lottery: str, sizes: dict[int, int], *,
                 actor: str) -> SampleDraw:
    """Fix everything about the draw except the public number that is not yet known."""
    if questionnaire.current_version is None:
        raise SamplingError("问卷还没有发布，请先发布再抽样。")
    if draw_of(session, questionnaire) is not None:
        raise SamplingError("本问卷已经登记过抽样，不能重复登记。")
    lottery = " ".join(lottery.split())
    if not lottery:
        raise SamplingError("请填写公开号码的来源，例如“中国体育彩票排列三 2026年11月30日开奖号码”。")
    if len(lottery) > MAX_LOTTERY:
        raise SamplingError(f"公开号码来源最多 {MAX_LOTTERY} 个字。")
    frames = frames_of(session, questionnaire)
    rows = []
    for village_id, size in sizes.items():
        if not size:
            continue
        frame = frames.get(village_id)
        if frame is None:
            raise SamplingError("有的村还没有填写名单人数，不能抽样。")
        if not 0 < size <= frame.size:
            raise SamplingError(f"{frame.village.name}的抽取数量必须在 1–{frame.size} 之间。")
        rows.append({"village_id": village_id, "village": frame.village.name, "frame": frame.size, "size": size})
    if not rows:
        raise SamplingError("请至少为一个村填写抽取数量。")
    if sum(r["size"] for r in rows) > MAX_DRAW_CARDS:
        raise SamplingError(f"一次抽样最多抽取 {MAX_DRAW_CARDS} 个位置（每个位置一张卡片）。")
    rows.sort(key=lambda r: r["village"])
    draw = SampleDraw(questionnaire_id=questionnaire.id, lottery=lottery, chain_root=current_root(session),
                      frames=rows, declared_by=actor, algorithm=DRAW_ALGORITHM[:120])
    session.add(draw)
    session.flush()
    audit_log.record(session, actor=actor, action="sample_declare", obj=questionnaire, lottery=lottery,
                     chain_root=draw.chain_root, frames=rows)
    return draw


@dataclass
class Allocation:
    """The planner's proposal: cards in total and per village (proportional to the rosters)."""

    plan: Any
    sizes: dict[int, int]
    message: str


def proportional(rosters: dict[Any, int], total: int) -> dict[Any, int]:
    """Split ``total`` draws over villages in proportion to their rosters (largest remainder, ≤ roster)."""
    N = sum(rosters.values())
    shares = {key: total * size / N for key, size in rosters.items()}
    sizes = {key: min(rosters[key], int(share)) for key, share in shares.items()}
    for key in sorted(shares, key=lambda k: shares[k] - int(shares[k]), reverse=True) * 2:
        if sum(sizes.values()) >= min(total, N):
            break
        if sizes[key] < rosters[key]:
            sizes[key] += 1
    return sizes


def plan_allocation(session: Session, questionnaire: Questionnaire, expected: float, response: float) -> Allocation:
    """How many cards to draw (robust verdict supported with 80% power), split in proportion to the rosters."""
    from analysis import plan_draw

    frames = frames_of(session, questionnaire)
    if not frames:
        raise SamplingError("请先填写名单人数。")
    if not (0 < expected <= 1 and 0 < response <= 1):
        raise SamplingError("预计满意率和预计应答率必须在 1%–100% 之间。")
    try:
        target = target_fraction(questionnaire.indicator.target)
    except (ValueError, TypeError):
        raise SamplingError(f"目标“{questionnaire.indicator.target_raw}”不是满意率，无法规划。") from None
    N = sum(f.size for f in frames.values())
    plan = plan_draw(target, expected, response, population=N)
    if plan.cards is None:
        return Allocation(plan, {}, f"按预计应答率 {_pct(response)}，即使多抽卡片也很难得到不依赖假设的“达标”结论："
                                    f"应答率至少要达到 {_pct(plan.min_response_rate)}。可以提高应答率（多次上门），"
                                    "或者接受结论以“未答者与作答者相似”为前提。")
    sizes = proportional({vid: f.size for vid, f in frames.items()}, plan.cards)
    message = (f"名单共 {N} 个编号。按预计满意率 {_pct(expected)}、应答率 {_pct(response)}，需抽取 {plan.cards} 个位置，"
               f"才有 {plan.achieved_power:.0%} 的把握在“未答者全部不满意”的最坏情况下仍得出“达标”结论；"
               "已按各村名单人数比例分配，填入下表。")
    return Allocation(plan, sizes, message)


def check_command(draw: SampleDraw) -> str:
    """The command anyone can run to recompute the draw offline."""
    frames = ",".join(f"{r['village']}:{r['frame']}" for r in draw.frames)
    sizes = ",".join(f"{r['village']}:{r['size']}" for r in draw.frames)
    return f'python -m analysis draw --seed "{draw.seed}" --frame {frames} --size {sizes}'


def seed_text(draw: SampleDraw, public_number: str) -> str:
    return f"{draw.chain_root}|{draw.lottery}|{public_number}"


def perform_draw(session: Session, questionnaire: Questionnaire, public_number: str, *, actor: str) -> list[Link]:
    """Draw with the now-public number and issue one card per drawn position."""
    draw = draw_of(session, questionnaire)
    if draw is None:
        raise SamplingError("请先登记抽样（各村数量和公开号码来源），再抽取。")
    if draw.seed is not None:
        raise SamplingError("本问卷已经抽取过，抽样结果不能重抽。")
    number = " ".join(public_number.split())
    if not number or len(number) > MAX_NUMBER:
        raise SamplingError(f"请填写公开号码（1–{MAX_NUMBER} 个字符）。")
    seed = seed_text(draw, number)
    draws = draw_sample(seed, {r["village"]: r["frame"] for r in draw.frames},
                        {r["village"]: r["size"] for r in draw.frames}, reserves=0)
    draw.public_number, draw.seed, draw.drawn_at, draw.drawn_by = number, seed, utcnow(), actor
    cards = []
    for row in draw.frames:
        village = session.get(Village, row["village_id"])
        cards += _issue(session, questionnaire, village, sorted(draws[row["village"]].sample), actor)
    session.flush()
    audit_log.record(session, actor=actor, action="sample_draw", obj=questionnaire, seed=seed,
                     positions={r["village"]: sorted(draws[r["village"]].sample) for r in draw.frames})
    return cards


def _issue(session: Session, questionnaire: Questionnaire, village: Village, positions: list[int], actor: str,
           replaces: Link | None = None) -> list[Link]:
    last = max((c.card_no or 0 for c in questionnaire.links
                if c.kind == LinkKind.CARD and c.village_id == village.id), default=0)
    cards = [Link(questionnaire=questionnaire, village=village, kind=LinkKind.CARD, token=new_token(),
                  card_no=last + i, created_by=actor, position=p, replaces_id=replaces.id if replaces else None)
             for i, p in enumerate(positions, start=1)]
    session.add_all(cards)
    session.flush()
    return cards


def village_draw(session: Session, questionnaire: Questionnaire, village_id: int):  # type: ignore[no-untyped-def]
    """The ``analysis`` VillageDraw of one village, recomputed from the stored seed."""
    draw = draw_of(session, questionnaire)
    if draw is None or draw.seed is None:
        return None
    row = next((r for r in draw.frames if r["village_id"] == village_id), None)
    if row is None:
        return None
    # every card beyond the sample is a replacement, so this many reserves always suffice (plus the next one)
    reserves = len(drawn_cards(questionnaire, village_id)) - row["size"] + 1
    return draw_sample(draw.seed, {row["village"]: row["frame"]}, {row["village"]: row["size"]},
                       reserves=max(1, reserves))[row["village"]]


def _card_order(card: Link) -> tuple[int, int]:
    return card.village_id or 0, card.card_no or 0


def drawn_cards(questionnaire: Questionnaire, village_id: int | None = None) -> list[Link]:
    return sorted((c for c in questionnaire.links if c.kind == LinkKind.CARD and c.position is not None
                   and (village_id is None or c.village_id == village_id)), key=_card_order)


def replace_card(session: Session, card: Link, *, actor: str) -> Link:
    """Issue a card for the next unused reserve position. Only for a card found not eligible."""
    if card.position is None:
        raise SamplingError("这张卡片不是抽样卡片，不能替补。")
    if card.disposition != "not_eligible":
        raise SamplingError("只有登记为“不符合条件”（如空户、已迁走）的位置才能按替补顺序替换；"
                            "拒访、未接触的位置不能替换，否则样本就不再随机。")
    questionnaire = card.questionnaire
    cards = drawn_cards(questionnaire, card.village_id)
    if any(c.replaces_id == card.id for c in cards):
        raise SamplingError(f"卡片 {card.card_no} 已经替补过。")
    vd = village_draw(session, questionnaire, card.village_id)  # type: ignore[arg-type]
    used = {c.position for c in cards}
    nxt = next((p for p in vd.reserves if p not in used), None)
    if nxt is None:
        raise SamplingError("替补位置已经用完。")
    new = _issue(session, questionnaire, card.village, [nxt], actor, replaces=card)[0]  # type: ignore[arg-type]
    audit_log.record(session, actor=actor, action="sample_replace", obj=questionnaire, village=card.village.name,
                     card_no=card.card_no, position=card.position, new_card_no=new.card_no, new_position=nxt)
    return new


def _answered(session: Session, card_ids: list[int], *, simulated: bool | None = None) -> dict[int, str]:
    """card id → satisfaction answer of its (non-excluded) response; real or simulated ones only if asked."""
    if not card_ids:
        return {}
    active = select(Exclusion.id).where(Exclusion.response_id == Response.id, Exclusion.reverted_at.is_(None))
    query = select(Response.card_id, Response.satisfaction).where(Response.card_id.in_(card_ids), ~active.exists())
    if simulated is not None:
        query = query.where(Response.simulated.is_(simulated))
    return {cid: answer for cid, answer in session.execute(query)}


def effective_disposition(card: Link, answered: dict[int, str]) -> str:
    if card.id in answered:
        return "completed"
    if card.used_at is not None:  # answered, then excluded by staff
        return "other"
    return card.disposition or "unknown"


def set_dispositions(session: Session, questionnaire: Questionnaire, updates: dict[int, tuple[str, int | None]], *,
                     actor: str) -> int:
    """Record dispositions ``{card id: (disposition or "", visits)}`` in one audited step."""
    cards = {c.id: c for c in drawn_cards(questionnaire)}
    answered = _answered(session, list(cards))
    changes = []
    for card_id, (disposition, visits) in updates.items():
        card = cards.get(card_id)
        if card is None:
            raise SamplingError("有的卡片不属于本问卷的抽样。")
        if disposition and disposition not in STAFF_DISPOSITIONS:
            raise SamplingError(f"卡片 {card.card_no} 的结果“{disposition}”无效。")
        if visits is not None and not 0 <= visits <= 99:
            raise SamplingError(f"卡片 {card.card_no} 的上门次数必须在 0–99 之间。")
        if card.id in answered or card.used_at is not None:
            continue  # a used card's outcome is the answer itself
        new = disposition or None
        if (card.disposition, card.visits) != (new, visits):
            changes.append({"card_no": card.card_no, "village": card.village.name if card.village else "",
                            "position": card.position, "from": card.disposition, "to": new, "visits": visits})
            card.disposition, card.visits = new, visits
    if changes:
        session.flush()
        audit_log.record(session, actor=actor, action="sample_dispositions", obj=questionnaire, changes=changes)
    return len(changes)


# -- the assessment shown next to every figure ----------------------------------------------

DESIGN_KIND_LABELS = {
    "random_sample": "按名单随机抽样",
    "census": "全面调查",
    "self_selected": "自愿作答（如扫海报二维码）",
}


@dataclass
class DesignAssessment:
    """What the figure rests on, in numbers and in plain Chinese."""

    design_kind: str
    response_rate: float | None = None
    aapor: dict[str, Any] | None = None
    bounds: dict[str, Any] | None = None
    robust_verdict: str | None = None
    robust_label: str = ""
    drawn: int | None = None
    respondents: int | None = None
    satisfied: int | None = None
    population: int | None = None
    other_answers: int = 0
    pooled: bool = False
    lines: list[str] = field(default_factory=list)
    advice: str = ""
    seed: str = ""
    command: str = ""

    @property
    def label(self) -> str:
        return DESIGN_KIND_LABELS[self.design_kind]

    def as_dict(self) -> dict[str, Any]:
        return {"design_kind": self.design_kind, "design_kind_label": self.label,
                "response_rate": self.response_rate, "aapor": self.aapor, "bounds": self.bounds,
                "robust_verdict": self.robust_verdict, "robust_label": self.robust_label, "drawn": self.drawn,
                "respondents": self.respondents, "satisfied": self.satisfied, "population": self.population,
                "other_answers": self.other_answers, "pooled": self.pooled, "text": self.lines,
                "advice": self.advice, "seed": self.seed, "check_command": self.command}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _bounds_dict(b: Any) -> dict[str, Any]:
    return {"worst": {"rate": b.worst.point, "verdict": b.worst.verdict, "label": b.worst.label,
                      "interval": list(b.worst_interval)},
            "best": {"rate": b.best.point, "verdict": b.best.verdict, "label": b.best.label,
                     "interval": list(b.best_interval)},
            "assumed": None if b.assumed is None else {"rate": b.assumed.point, "verdict": b.assumed.verdict,
                                                       "label": b.assumed.label},
            "interval": list(b.interval), "confidence": b.confidence, "census": b.census}


ADVICE = ("下次如要得出不依赖假设的结论：在“随机抽样”页填写各村名单人数，登记公开号码来源后按公开号码抽取名单位置，"
          "按位置发放一次性卡片，逐张登记上门结果（完成、拒访、多次未接触、不符合条件等）。")


@dataclass
class _Sample:
    """A drawn questionnaire's cards (not voided, in card order) and their answers."""

    cards: list[Link]
    answered: dict[int, str]


def design_assessment(session: Session, questionnaire: Questionnaire, result: Any) -> DesignAssessment:
    """The design behind ``result`` (an ``IndicatorResult`` of ``questionnaire``): kind, response rate,
    bounds, robust verdict."""
    if result.questionnaire.id != questionnaire.id:
        raise ValueError("the result is not this questionnaire's")
    return design_assessments(session, [result])[0]


def design_assessments(session: Session, results: list[Any]) -> list[DesignAssessment]:
    """:func:`design_assessment` of each result, for a whole page: the draws, the drawn cards and
    their answers are read once for all the results (three queries at most, whatever their number)."""
    ids = sorted({r.questionnaire.id for r in results})
    draws = ({d.questionnaire_id: d for d in session.scalars(select(SampleDraw).where(SampleDraw.questionnaire_id.in_(ids)))}
             if ids else {})
    drawn = sorted(q_id for q_id, d in draws.items() if d.seed is not None)
    cards: dict[int, list[Link]] = {q_id: [] for q_id in drawn}
    if drawn:
        for card in session.scalars(select(Link).where(Link.questionnaire_id.in_(drawn), Link.kind == LinkKind.CARD,
                                                       Link.position.is_not(None), Link.voided_at.is_(None))):
            cards[card.questionnaire_id].append(card)
    answered: dict[bool, dict[int, str]] = {}
    card_ids = [c.id for q_cards in cards.values() for c in q_cards]
    for simulated in sorted({bool(r.simulated) for r in results if r.questionnaire.id in cards}):
        answered[simulated] = _answered(session, card_ids, simulated=simulated)
    out = []
    for result in results:
        q_id = result.questionnaire.id
        sample = None
        if q_id in cards:
            mine = sorted(cards[q_id], key=_card_order)
            given = answered[bool(result.simulated)]
            sample = _Sample(mine, {c.id: given[c.id] for c in mine if c.id in given})
        out.append(_assessment(result.questionnaire, result, draws.get(q_id), sample))
    return out


def _assessment(questionnaire: Questionnaire, result: Any, draw: SampleDraw | None,
                sample: _Sample | None) -> DesignAssessment:
    indicator = questionnaire.indicator
    try:
        target = float(target_fraction(indicator.target)) if result.rate_method != "weighted" else None
    except (ValueError, TypeError):
        target = None
    if draw is not None and sample is not None and getattr(result, "pooled", False):
        return _pooled(draw, sample, result, target)
    if draw is not None and sample is not None:
        return _drawn(draw, sample, result, target)
    if result.design == "census":
        a = DesignAssessment("census", response_rate=1.0 if result.valid_n else None, drawn=result.population,
                             respondents=result.valid_n, satisfied=result.successes, population=result.population,
                             robust_verdict=result.verdict.verdict if result.verdict else None)
        a.robust_label = result.verdict.label if result.verdict else ""
        a.lines.append(f"全面调查：总体 {result.population} 人全部作答，满意率没有抽样误差，也没有未答者。")
        return a
    return design_assessment_self_selected(result, target)


def design_assessment_self_selected(result: Any, target: float | None) -> DesignAssessment:
    """Self-selected answers: the interval rests on an assumption; worst/best bounds when N is known."""
    a = DesignAssessment("self_selected", satisfied=result.successes, respondents=result.valid_n,
                         population=result.population, advice=ADVICE)
    a.lines.append("这些答卷是自愿作答的（扫海报二维码、自愿填写等），作答者不是随机抽取的。"
                   "上面的区间和“达标”判定都以“作答者能代表全体”为前提，这个前提无法验证。")
    if result.population and target is not None and result.valid_n and result.valid_n <= result.population:
        b = nonresponse_bounds(result.successes, result.valid_n, result.population, target,
                               population=result.population, confidence=CONFIDENCE)
        a.bounds, a.robust_verdict, a.robust_label = _bounds_dict(b), b.robust, b.robust_label
        a.drawn, a.response_rate = result.population, b.response_rate
        a.lines.append(f"总体 {result.population} 人中 {b.respondents} 人给出有效回答（{_pct(b.response_rate)}）。"
                       f"若其余 {b.nonrespondents} 人都不满意，满意率为 {_pct(b.worst.point)}；"
                       f"若都满意，为 {_pct(b.best.point)}。不依赖假设的结论：{b.robust_label}。")
    else:
        a.lines.append("总体人数未知，无法给出不依赖假设的结论。")
    return a


def _drawn(draw: SampleDraw, sample: _Sample, result: Any, target: float | None) -> DesignAssessment:
    census = all(r["size"] == r["frame"] for r in draw.frames)
    cards, answered = sample.cards, sample.answered
    dispositions = Counter(effective_disposition(c, answered) for c in cards)
    rates = aapor_rates(dispositions)
    valid = [answered[c.id] for c in cards if c.id in answered and answered[c.id] in LIKERT_OPTIONS[:-1]]
    x = sum(1 for v in valid if v in LIKERT_OPTIONS[:2])
    r = len(valid)
    n0 = len(cards) - dispositions["not_eligible"]
    N = sum(row["frame"] for row in draw.frames)
    other = getattr(result, "left_out", 0)
    kind = "census" if census else "random_sample"
    a = DesignAssessment(kind, response_rate=rates.rr1, aapor=rates.as_dict(), drawn=n0, respondents=r,
                         satisfied=x, population=N, other_answers=other, seed=draw.seed or "",
                         command=check_command(draw))
    if census:
        a.lines.append(f"全面调查：按名单向全部 {N} 人发放了编号卡片，可复核。")
    else:
        a.lines.append(f"按名单随机抽样：用公开种子从 {len(draw.frames)} 个村的名单（共 {N} 个编号）中抽取位置，"
                       f"按位置发放 {len(cards)} 张卡片；任何人都可以用种子重新计算抽样结果。")
    if rates.rr1 is not None:
        a.lines.append(f"应答率（AAPOR RR1）{_pct(rates.rr1)}：完成 {dispositions['completed']}，"
                       f"拒访 {dispositions['refused']}，多次上门未接触 {dispositions['non_contact']}，"
                       f"情况不明 {dispositions['unknown']}，不符合条件 {dispositions['not_eligible']}。")
    if target is not None and n0 > 0:
        b = nonresponse_bounds(x, r, n0, target, population=N if n0 <= N else None, confidence=CONFIDENCE)
        a.bounds, a.robust_verdict, a.robust_label = _bounds_dict(b), b.robust, b.robust_label
        assumed = b.assumed.label if b.assumed else "尚无有效回答"
        a.lines.append(f"{n0} 个抽中位置中 {r} 人给出有效回答，{x} 人满意。假定未答者与作答者相似：{assumed}；"
                       f"若未答者都不满意，满意率为 {_pct(b.worst.point)}（{b.worst.label}）；"
                       f"若都满意，为 {_pct(b.best.point)}（{b.best.label}）。稳健结论：{b.robust_label}。")
        uneven = [row["size"] / row["frame"] for row in draw.frames]
        if not census and max(uneven) > 1.5 * min(uneven):
            a.lines.append("各村抽样比例不同，上面的界限按合并计数计算（近似）。")
    if other:
        a.lines.append(f"另有 {other} 份海报答卷未计入随机样本：它们不是通过抽中的卡片提交的（海报、"
                       "没有抽样卡号的纸质问卷等），属于自愿作答，没有并入上面的满意率和结论。")
    return a


POOLED_LINE = ("上面的满意率按工作人员的选择，把自愿作答的答卷（海报等）与随机抽样的答卷合并计算，"
               "因此不再是随机样本，按自愿作答对待：区间和结论以“作答者能代表全体”为前提。")


def _pooled(draw: SampleDraw, sample: _Sample, result: Any, target: float | None) -> DesignAssessment:
    """A draw whose figure pools self-selected answers (staff's choice): reported as self-selected,
    with the random sample's own rates and bounds kept alongside."""
    a = dataclasses.replace(design_assessment_self_selected(result, target), pooled=True, advice="")
    a.lines.insert(0, POOLED_LINE)
    drawn = _drawn(draw, sample, result, target)
    a.seed, a.command, a.aapor = drawn.seed, drawn.command, drawn.aapor
    cards = len(sample.answered)
    a.other_answers = max(0, result.total - cards)
    a.lines.append(f"其中通过抽中卡片提交的答卷 {cards} 份，自愿作答的答卷 {a.other_answers} 份。"
                   "如需只按随机样本计算，请在“随机抽样”页关闭“合并海报答卷”。")
    return a


# -- the bundle ---------------------------------------------------------------------------


def bundle_records(session: Session) -> dict[str, Any]:
    """Everything ``python -m analysis verify`` needs to recompute each draw (``sampling.json``)."""
    draws = []
    for draw in session.scalars(select(SampleDraw).order_by(SampleDraw.id)):
        q = session.get(Questionnaire, draw.questionnaire_id)
        names = {row["village_id"]: row["village"] for row in draw.frames}
        cards = [{"id": c.id, "card_no": c.card_no, "village": names.get(c.village_id, c.village.name if c.village else ""),
                  "position": c.position, "replaces_card_no": _card_no(session, c.replaces_id),
                  "voided": c.voided_at is not None, "disposition": c.disposition or ""}
                 for c in drawn_cards(q)]  # type: ignore[arg-type]
        draws.append({"questionnaire_id": draw.questionnaire_id, "lottery": draw.lottery,
                      "chain_root": draw.chain_root, "public_number": draw.public_number, "seed": draw.seed,
                      "algorithm": draw.algorithm, "frames": [{k: row[k] for k in ("village", "frame", "size")}
                                                              for row in draw.frames],
                      "pool_posters": bool(q.pool_posters), "cards": cards})
    return {"format": "survey-app sampling 1", "draws": draws}


def set_pool_posters(session: Session, questionnaire: Questionnaire, pool: bool, *, actor: str) -> bool:
    """Switch pooling of self-selected answers into a random draw's figure; recorded in the chained
    staff audit log (the offline verifier checks the bundle's switch against the last such event).
    Returns whether anything changed."""
    pool = bool(pool)
    if bool(questionnaire.pool_posters) == pool:
        return False
    questionnaire.pool_posters = pool
    session.flush()
    audit_log.record(session, actor=actor, action="sample_pool_posters", obj=questionnaire, pool_posters=pool)
    return True


def _card_no(session: Session, link_id: int | None) -> int | None:
    if link_id is None:
        return None
    link = session.get(Link, link_id)
    return link.card_no if link else None


def _zh(problem: str) -> str:
    """The analysis problem text in Chinese for staff pages."""
    import re

    if m := re.fullmatch(r"position (\d+) was not drawn", problem):
        return f"名单第 {m.group(1)} 号不是抽中的位置，却发了卡片"
    if m := re.fullmatch(r"position (\d+) has more than one card", problem):
        return f"名单第 {m.group(1)} 号发了不止一张卡片"
    return problem


def issued_problems(session: Session, questionnaire: Questionnaire) -> list[str]:
    """Cards bound to positions the draw did not give (live check, same rule as the offline verifier)."""
    problems = []
    draw = draw_of(session, questionnaire)
    if draw is None or draw.seed is None:
        return problems
    for row in draw.frames:
        vd = village_draw(session, questionnaire, row["village_id"])
        cards = drawn_cards(questionnaire, row["village_id"])
        replacements = sum(1 for c in cards if c.replaces_id is not None)
        problems += [f"{row['village']}：{_zh(p)}" for p in check_issued(vd, [c.position for c in cards],
                                                                        replacements=replacements)]
    return problems


__all__ = [
    "DISPOSITIONS", "DISPOSITION_LABELS", "STAFF_DISPOSITIONS", "DesignAssessment", "SamplingError",
    "declare_draw", "design_assessment", "design_assessments", "perform_draw", "replace_card", "set_dispositions", "set_frame",
]


# -- hooks for results, write-back and the bundle ---------------------------------------------


def design_keys(session: Session, result: Any) -> dict[str, Any]:
    """The per-indicator keys of ``survey-app results --json``."""
    a = design_assessment(session, result.questionnaire, result)
    return {"design_kind": a.design_kind, "response_rate": a.response_rate, "bounds": a.bounds,
            "robust_verdict": a.robust_verdict, "sampling": a.as_dict()}


def design_footnote(details: dict[str, Any]) -> str:
    """One sentence for the 自评表 footnote from a measurement's stored ``details['sampling']``."""
    a = details.get("sampling")
    if not a:
        return ""
    kind = a["design_kind"]
    if kind == "self_selected" and a.get("pooled"):
        text = ("随机抽样答卷与海报等自愿作答的答卷按工作人员选择合并计算，按自愿作答对待，"
                "区间和结论以“作答者能代表全体”为前提")
    elif kind == "self_selected":
        text = "答卷为自愿作答（非随机抽样），区间和结论以“作答者能代表全体”为前提"
    elif kind == "random_sample":
        text = "按名单随机抽样（公开种子，可复核）"
        if a.get("other_answers"):
            text += f"，另有 {a['other_answers']} 份海报答卷未计入随机样本"
    else:
        text = "全面调查"
    if a.get("response_rate") is not None:
        text += f"，应答率 {_pct(a['response_rate'])}"
    if a.get("bounds"):
        text += (f"；未答者都不满意时满意率 {_pct(a['bounds']['worst']['rate'])}，"
                 f"不依赖该前提的结论：{a['robust_label']}")
    return text + "。"


def bundle_designs(session: Session, figures: list[Any]) -> list[dict[str, Any]]:
    return [{"questionnaire_id": r.questionnaire.id, **a.as_dict()}
            for r, a in zip(figures, design_assessments(session, figures), strict=True)]
