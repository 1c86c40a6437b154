"""Quality flags for auditors: patterns that fabricated or coerced answers tend to leave.

Flags inform; they never drop data. Each flag names the responses it concerns
and says in plain Chinese why it was raised. The figures can be recomputed with
the flagged responses left out, side by side with the full figures.

The thresholds are deliberately simple and printed on the page:

* **burst**: 10 or more responses through one QR link, or from one network, within 10 minutes;
* **speeder**: a form submitted in under 5 seconds (nobody reads the questions that fast), or in
  under a third of the median time and under 20 seconds;
* **straight-lining**: the same answer to every aspect question (at least three) together
  with 非常满意;
* **repeat device**: one device hash answering the same questionnaire three times or more;
* **paper in bulk**: one staff member keying in 15 or more paper forms within 30 minutes;
* **all-satisfied run**: a run of consecutive satisfied answers in one channel source whose
  probability, at the rate seen in all other answers, is below 1 in 1,000.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from survey_app.models import Questionnaire, Response

BURST_COUNT, BURST_WINDOW = 10, dt.timedelta(minutes=10)
SPEED_FRACTION, SPEED_SECONDS = 1 / 3, 20
#: absolute floor: faster than this is flagged whatever the median (a median of 0 s flags nothing relative)
SPEED_FLOOR = 5
STRAIGHT_MIN = 3
REPEAT_DEVICE = 3
PAPER_COUNT, PAPER_WINDOW = 15, dt.timedelta(minutes=30)
RUN_PROBABILITY = 0.001
SATISFIED = ("非常满意", "满意")
LABELS = {
    "burst": "短时间集中提交",
    "speeder": "作答过快",
    "straight": "分项答案完全一致",
    "device": "同一设备多次作答",
    "paper_bulk": "同一人集中录入纸质问卷",
    "run": "连续全部满意",
}


@dataclass
class Flag:
    kind: str
    explanation: str
    response_ids: list[int]
    receipts: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _windows(items: list[dict[str, Any]], count: int, window: dt.timedelta) -> list[list[dict[str, Any]]]:
    """Maximal groups of at least ``count`` items whose first and last are within ``window``."""
    items = sorted(items, key=lambda r: r["at"])
    groups, start = [], 0
    flagged: set[int] = set()
    for end in range(len(items)):
        while items[end]["at"] - items[start]["at"] > window:
            start += 1
        if end - start + 1 >= count:
            flagged.update(range(start, end + 1))
    if flagged:
        ordered = sorted(flagged)
        current = [items[ordered[0]]]
        for i in ordered[1:]:
            if items[i]["at"] - current[-1]["at"] <= window:
                current.append(items[i])
            else:
                groups.append(current)
                current = [items[i]]
        groups.append(current)
    return groups


_COLUMNS = (Response.questionnaire_id, Response.id, Response.receipt, Response.submitted_at, Response.started_at,
            Response.link_id, Response.channel, Response.network_hash, Response.device_hash, Response.entered_by,
            cast(Response.answers, Text), Response.satisfaction)


def _answers(text: str | None, satisfaction: str | None) -> dict[str, Any]:
    """The answers, decoded only where a flag reads them (straight-lining: aspect answers with 非常满意)."""
    if satisfaction != "非常满意" or not text or "aspect_" not in text:
        return {}
    return json.loads(text) or {}


def _rows(session: Session, questionnaire_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The real responses of the given questionnaires as plain rows, per questionnaire (one query, no ORM objects)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not questionnaire_ids:
        return out
    for (q_id, id_, receipt, at, started, link, channel, network, device, entered_by, answers,
         satisfaction) in session.execute(select(*_COLUMNS).where(Response.questionnaire_id.in_(questionnaire_ids),
                                                                  Response.simulated.is_(False)).order_by(Response.id)):
        out[q_id].append({"id": id_, "receipt": receipt, "at": _aware(at), "started": _aware(started) if started else None,
                          "link": link, "channel": getattr(channel, "value", channel), "network": network,
                          "device": device, "entered_by": entered_by, "answers": _answers(answers, satisfaction),
                          "satisfaction": satisfaction})
    return out


def compute_flags(session: Session, questionnaire: Questionnaire) -> list[Flag]:
    return flags_of(_rows(session, [questionnaire.id]).get(questionnaire.id, []))


#: (database, questionnaire) → (fingerprint of its real responses, number of flags); see flag_counts
_COUNTS: dict[tuple[str, int], tuple[tuple[int, int], int]] = {}
_COUNTS_MAX = 20_000


def _fingerprints(session: Session, questionnaire_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(count, highest id) of each questionnaire's real responses: one indexed GROUP BY."""
    return {q_id: (n, top) for q_id, n, top in session.execute(
        select(Response.questionnaire_id, func.count(), func.max(Response.id))
        .where(Response.questionnaire_id.in_(questionnaire_ids), Response.simulated.is_(False))
        .group_by(Response.questionnaire_id))}


def flag_counts(session: Session, questionnaire_ids: list[int]) -> dict[int, int]:
    """The number of flags per questionnaire, for many questionnaires at once (the county overview).

    Flags depend only on a questionnaire's real responses, which are never changed or deleted
    (corrections and exclusions are new rows; answers are chained), so the count of responses and
    the highest response id identify what a count was computed from. Counts are kept per process
    and recomputed only for questionnaires with new responses since.
    """
    if not questionnaire_ids:
        return {}
    bind = session.get_bind()
    database = getattr(bind, "engine", bind).url.render_as_string(hide_password=True)
    prints = _fingerprints(session, questionnaire_ids)
    out: dict[int, int] = {}
    stale = []
    for q_id in questionnaire_ids:
        current = prints.get(q_id, (0, 0))
        known = _COUNTS.get((database, q_id))
        if current == (0, 0):
            out[q_id] = 0
        elif known is not None and known[0] == current:
            out[q_id] = known[1]
        else:
            stale.append(q_id)
    if stale:
        rows = _rows(session, stale)
        if len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.clear()
        for q_id in stale:
            out[q_id] = len(flags_of(rows.get(q_id, [])))
            _COUNTS[(database, q_id)] = (prints[q_id], out[q_id])
    return out


def flags_of(rows: list[dict[str, Any]]) -> list[Flag]:
    """The flags raised by one questionnaire's responses (rows as :func:`_rows` gives them, by id)."""
    flags: list[Flag] = []

    def add(kind: str, explanation: str, group: list[dict[str, Any]]) -> None:
        flags.append(Flag(kind, explanation, [r["id"] for r in group], [r["receipt"] for r in group]))

    # bursts by link and by network
    for key, label in (("link", "同一个二维码"), ("network", "同一个网络")):
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            if r[key] and r["channel"] in ("poster", "card"):
                groups[r[key]].append(r)
        for items in groups.values():
            for group in _windows(items, BURST_COUNT, BURST_WINDOW):
                minutes = (group[-1]["at"] - group[0]["at"]).total_seconds() / 60
                add("burst", f"{label}在 {minutes:.0f} 分钟内提交了 {len(group)} 份（阈值：10 分钟内 {BURST_COUNT} 份）。"
                             "可能是集中组织填写或代填，请核实现场情况。", group)
    # speeders
    durations = [(r, (r["at"] - r["started"]).total_seconds()) for r in rows if r["started"]]
    median = statistics.median(d for _, d in durations) if len(durations) >= 5 else None
    fast = [r for r, d in durations
            if d < SPEED_FLOOR or (median is not None and d < median * SPEED_FRACTION and d < SPEED_SECONDS)]
    if fast:
        relative = (f"或不到中位数（{median:.0f} 秒）的三分之一且少于 {SPEED_SECONDS} 秒" if median is not None else "")
        add("speeder", f"{len(fast)} 份问卷的作答时间少于 {SPEED_FLOOR} 秒{relative}，可能没有认真阅读题目。", fast)
    # straight-lining
    straight = []
    for r in rows:
        aspects = [v for k, v in r["answers"].items() if k.startswith("aspect_")]
        if len(aspects) >= STRAIGHT_MIN and len(set(aspects)) == 1 and r["satisfaction"] == "非常满意":
            straight.append(r)
    if straight:
        add("straight", f"{len(straight)} 份问卷对所有分项问题给出同一个答案并选“非常满意”，"
                        "可能是按“标准答案”填写。", straight)
    # repeat devices
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["device"]:
            by_device[r["device"]].append(r)
    for items in by_device.values():
        if len(items) >= REPEAT_DEVICE:
            add("device", f"同一台设备（按地址、浏览器和语言的加盐哈希识别）提交了 {len(items)} 份。"
                          "可能是一人多填，或工作人员用自己的手机代填。", items)
    # paper keyed in bulk
    by_staff: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["channel"] in ("paper", "interview") and r["entered_by"]:
            by_staff[r["entered_by"]].append(r)
    for staff, items in by_staff.items():
        for group in _windows(items, PAPER_COUNT, PAPER_WINDOW):
            add("paper_bulk", f"工作人员“{staff}”在 30 分钟内录入了 {len(group)} 份纸质问卷。"
                              "请抽查纸质原件。", group)
    flags.extend(_runs(rows))
    return flags


def _runs(rows: list[dict[str, Any]]) -> list[Flag]:
    """Runs of satisfied answers per source that are improbable at the rate of the other answers."""
    out = []
    by_source: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_source[r["link"] or f"{r['channel']}:{r['entered_by']}"].append(r)
    valid = [r for r in rows if r["satisfaction"] != "不了解"]
    for items in by_source.values():
        items.sort(key=lambda r: r["at"])
        best: list[dict[str, Any]] = []
        current: list[dict[str, Any]] = []
        for r in items:
            if r["satisfaction"] in SATISFIED:
                current.append(r)
                if len(current) > len(best):
                    best = list(current)
            elif r["satisfaction"] != "不了解":
                current = []
        if len(best) < 10:
            continue
        ids = {r["id"] for r in best}
        others = [r for r in valid if r["id"] not in ids]
        if len(others) < 10:
            continue
        p = sum(r["satisfaction"] in SATISFIED for r in others) / len(others)
        if p >= 1:
            continue
        probability = p ** len(best)
        if probability < RUN_PROBABILITY:
            out.append(Flag("run", f"连续 {len(best)} 份全部满意；按其余答卷的满意率 {p:.1%} 计算，"
                                   f"出现这种连续的概率约为 {probability:.1e}（阈值 {RUN_PROBABILITY}）。",
                            [r["id"] for r in best], [r["receipt"] for r in best]))
    return out


def flagged_ids(flags: list[Flag]) -> set[int]:
    return {i for f in flags for i in f.response_ids}
