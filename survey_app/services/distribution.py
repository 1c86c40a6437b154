"""QR links: open poster links per village and single-use cards (the sampling frame).

Tokens carry 120 random bits in 24 upper-case base32 characters. The QR payload
is written entirely in upper case (``HTTP://HOST/R/TOKEN``: scheme and host are
case-insensitive, and the route is ``/R/``) so the code uses QR alphanumeric
mode: version 3 at error level M, coarse enough to scan from a printed card.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import math
import re
import secrets
import zipfile
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import min_n_all_satisfied, sample_size, target_fraction
from survey_app.db import utcnow
from survey_app.models import Link, LinkKind, Questionnaire, RespondentGroup, Response, Village
from survey_app.services import audit_log
from survey_app.services.questionnaires import NOT_IN_VILLAGES

MAX_CARDS_PER_BATCH = 2000


class DistributionError(ValueError):
    """A distribution request that cannot be carried out; the message is for staff."""


def new_token() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii")


def link_path(link: Link) -> str:
    return f"/R/{link.token}"


def link_url(base_url: str, link: Link) -> str:
    return base_url.rstrip("/") + link_path(link)


def address_warning(base_url: str) -> str | None:
    """Why phones cannot open links under ``base_url`` (loopback or private address), or None."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".lan")):
        kind = "本机地址"
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        if address.is_loopback or address.is_unspecified:
            kind = "本机地址"
        elif address.is_private or address.is_link_local:
            kind = "局域网内部地址"
        else:
            return None
    return (f"二维码指向的地址是 {base_url}，这是{kind}，村民的手机无法打开。"
            "请先让管理员把环境变量 SURVEY_PUBLIC_URL 设为对外公开的网址（如 https://survey.example.gov.cn），"
            "再打印海报和卡片。")


def qr_payload(url: str) -> str:
    """Upper-case the URL when that is safe, for QR alphanumeric mode."""
    upper = url.upper()
    alnum = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    return upper if set(upper) <= alnum else url


def qr_svg(url: str, *, scale: int = 4) -> str:
    """Inline SVG of the QR code for ``url`` (no external resources).

    A viewBox instead of a fixed width and height: the code fills the box print.css gives it
    (38 mm on a card, 110 mm on a poster) instead of being drawn smaller in its top-left corner.
    """
    code = segno.make(qr_payload(url), error="m", micro=False)
    return code.svg_inline(scale=scale, border=2, dark="#000", light="#fff", omitsize=True)


def _require_published(questionnaire: Questionnaire) -> None:
    if questionnaire.current_version is None:
        raise DistributionError("问卷还没有发布，请先发布再生成二维码。")


def ensure_poster(session: Session, questionnaire: Questionnaire, village: Village | None, *, actor: str) -> Link:
    """The open poster link for a village (or the whole township when ``village`` is None)."""
    _require_published(questionnaire)
    query = select(Link).where(
        Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.POSTER, Link.voided_at.is_(None)
    )
    query = query.where(Link.village_id.is_(None) if village is None else Link.village_id == village.id)
    link = session.scalar(query)
    if link is None:
        link = Link(questionnaire=questionnaire, village=village, kind=LinkKind.POSTER, token=new_token(),
                    created_by=actor)
        session.add(link)
        session.flush()
    return link




def by_village(questionnaire: Questionnaire) -> bool:
    """True when the questionnaire is distributed per village; False for one list (e.g. 镇干部)."""
    group = questionnaire.indicator.respondent_group
    return group is None or RespondentGroup(group) not in NOT_IN_VILLAGES


def ensure_posters(session: Session, questionnaire: Questionnaire, villages: list[Village], *, actor: str) -> list[Link]:
    """The township poster, and one per village unless the group is surveyed as one list."""
    links = [ensure_poster(session, questionnaire, None, actor=actor)]
    if by_village(questionnaire):
        links += [ensure_poster(session, questionnaire, v, actor=actor) for v in villages]
    return links


def issue_cards(session: Session, questionnaire: Questionnaire, village: Village | None, count: int, *,
                actor: str) -> list[Link]:
    """Issue ``count`` more single-use cards for a village (None: the one list), numbered after the existing ones."""
    _require_published(questionnaire)
    if not 1 <= count <= MAX_CARDS_PER_BATCH:
        raise DistributionError(f"每次可发放 1–{MAX_CARDS_PER_BATCH} 张卡片。")
    last = session.scalar(
        select(func.max(Link.card_no)).where(
            Link.questionnaire_id == questionnaire.id, Link.kind == LinkKind.CARD,
            Link.village_id.is_(None) if village is None else Link.village_id == village.id,
        )
    ) or 0
    cards = [
        Link(questionnaire=questionnaire, village=village, kind=LinkKind.CARD, token=new_token(),
             card_no=last + i, created_by=actor)
        for i in range(1, count + 1)
    ]
    session.add_all(cards)
    session.flush()
    audit_log.record(session, actor=actor, action="issue_cards", obj=questionnaire,
                     village=village.name if village is not None else "全体调查对象",
                     count=count, first=last + 1, last=last + count)
    return cards


def void_link(session: Session, link: Link, *, actor: str) -> None:
    """Void an unused card or a poster link; voided links are refused with a clear page."""
    if link.voided_at is not None:
        raise DistributionError("该二维码已经作废。")
    if link.kind == LinkKind.CARD and session.scalar(select(Response.id).where(Response.card_id == link.id)):
        raise DistributionError("该卡片已被使用，不能作废（已收到的答卷不会被删除）。")
    link.voided_at = utcnow()
    session.flush()
    audit_log.record(session, actor=actor, action="void_link", obj=link, kind=link.kind.value, card_no=link.card_no)


def links_listing(questionnaire: Questionnaire, base_url: str, village: Village | None = None) -> list[dict[str, object]]:
    """Rows for ``survey-app links --json``."""
    version = questionnaire.current_version
    rows = []
    for link in questionnaire.links:
        if link.voided_at is not None or (village is not None and link.village_id != village.id):
            continue
        rows.append({
            "questionnaire_id": questionnaire.id,
            "version": version.number if version else None,
            "indicator": questionnaire.indicator.name,
            "village": link.village.name if link.village else None,
            "kind": link.kind.value,
            "card_no": link.card_no,
            "used": link.used_at is not None,
            "url": link_url(base_url, link),
        })
    return rows


# -- planning -----------------------------------------------------------------------


@dataclass
class VillagePlan:
    village: Village | None  # None: the one list of a group that does not live in villages
    population: int | None
    cards: int
    responses: int


@dataclass
class CardPlan:
    total_responses: int
    rows: list[VillagePlan]
    explanation: str


def group_population(village: Village, group: RespondentGroup | None) -> int | None:
    if group == RespondentGroup.VILLAGE_CADRES:
        return village.cadres
    if group == RespondentGroup.VILLAGERS:
        return village.population
    return None


def plan_cards(
    questionnaire: Questionnaire,
    villages: list[Village],
    *,
    expected: float = 0.98,
    response_rate: float = 0.7,
    power: float = 0.8,
) -> CardPlan:
    """Propose cards per village from populations, target, expected rate and response rate."""
    one_list = not by_village(questionnaire)
    if not villages and not one_list:
        raise DistributionError("请先添加村庄。")
    if not 0 < response_rate <= 1:
        raise DistributionError("预计回收率必须在 0–100% 之间。")
    indicator = questionnaire.indicator
    t = target_fraction(indicator.target)
    pops = [] if one_list else [group_population(v, indicator.respondent_group) for v in villages]
    known = bool(pops) and all(p for p in pops)
    total_pop = sum(p for p in pops if p) if known else None
    if total_pop is None and indicator.population and indicator.population_unit == "人":
        total_pop = indicator.population
    if expected <= float(t):
        raise DistributionError(f"预计满意率（{expected:.0%}）必须高于目标（{float(t):.0%}），否则无法证明达标。")
    if total_pop is not None and total_pop <= 60:
        needed, census = total_pop, True
    else:
        census = False
        try:
            needed = sample_size(t, expected, power=power, population=total_pop)
        except ValueError as exc:
            raise DistributionError(f"无法规划样本量：{exc}") from None
    rows = []
    if one_list:
        responses = min(needed, total_pop) if total_pop else needed
        cards = total_pop if census else math.ceil(responses / response_rate)
        rows.append(VillagePlan(None, total_pop, min(cards, total_pop) if total_pop else cards, responses))
    for village, pop in zip([] if one_list else villages, pops, strict=True):
        share = (pop / sum(pops)) if known and sum(pops) else 1 / len(villages)  # type: ignore[arg-type]
        responses = math.ceil(needed * share)
        if pop:
            responses = min(responses, pop)
        cards = math.ceil(responses / response_rate)
        if pop:
            cards = min(cards, pop)
        rows.append(VillagePlan(village, pop, cards, responses))
    all_sat = min_n_all_satisfied(t, population=total_pop)
    prefix = (f"调查对象（{WHO_ONE_LIST}）不按村分配，按一份名单发放卡片或按部门逐一发放。"
              if one_list else "")
    if census:
        explanation = (f"调查对象共 {total_pop} 人，人数少，建议全面调查（每人一张卡片）。"
                       f"即使全部满意，也至少需要收回 {all_sat} 份才能证明达到{indicator.target_raw}。")
    else:
        scope = f"总体 {total_pop} 人" if total_pop else "总体人数未知"
        explanation = (
            f"{scope}，目标{indicator.target_raw}，按预计满意率 {expected:.0%}、回收率 {response_rate:.0%} 计算，"
            f"共需收回约 {needed} 份有效答卷（有 {power:.0%} 的把握得出“达标”结论）。"
            f"若回收不足，结论很可能是“尚无定论”；即使全部满意，也至少需要 {all_sat} 份。"
        )
    return CardPlan(needed, rows, prefix + explanation)


WHO_ONE_LIST = "镇机关干部职工"


# -- bundle --------------------------------------------------------------------------------


_UNSAFE_IN_ENTRY = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def safe_entry_name(name: str) -> str:
    """A ZIP entry name that stays inside the folder it is extracted to (no separators, no leading dots)."""
    cleaned = _UNSAFE_IN_ENTRY.sub("_", name).strip(" ")
    if cleaned.startswith("."):
        cleaned = "_" + cleaned
    return cleaned[:180] or "_"


def bundle_zip(files: dict[str, str | bytes]) -> bytes:
    """A ZIP of rendered print pages and the link list (one click for staff); entry names are sanitised."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(safe_entry_name(name),
                             content.encode("utf-8") if isinstance(content, str) else content)
    return out.getvalue()


def card_pages(cards: list[Link], per_page: int = 8) -> list[list[Link]]:
    return [cards[i : i + per_page] for i in range(0, len(cards), per_page)]

