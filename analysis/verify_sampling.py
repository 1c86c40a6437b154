"""Offline check of random draws in an audit bundle (``sampling.json``).

For each questionnaire drawn by the service it checks, with this package alone:

1. the seed is exactly ``chain_root|lottery|public_number`` as declared;
2. seed, declaration and frames agree with the hash-chained audit log
   (``sample_declare`` and ``sample_draw`` events), so a seed changed after
   the fact is caught;
3. the draw recomputed from the seed and the frames gives the positions the
   cards were issued to: every card sits on a drawn position, or on a reserve
   taken in draw order by a declared replacement.

It also gives the answer selection of each drawn questionnaire's figure
(:func:`sample_selection`): unless the bundle's ``pool_posters`` switch is on,
only answers whose ``card_id`` is one of the draw's cards count; the switch
must agree with the last ``sample_pool_posters`` event of the chained log.

Problems are reported in Chinese, one line each.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from typing import Any

from analysis.sampling import check_issued, draw_sample


def _details(event: dict[str, Any]) -> dict[str, Any]:
    value = event.get("details") or {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def read_sampling(path: str) -> dict[str, Any] | None:
    """``sampling.json`` of the bundle, or None for bundles made before draws existed."""
    with zipfile.ZipFile(path) as archive:
        if "sampling.json" not in archive.namelist():
            return None
        return json.loads(archive.read("sampling.json"))


def sampling_problems(path: str, events: list[dict[str, Any]]) -> list[str]:
    """Every problem with the bundle's draws (empty when all draws check out)."""
    data = read_sampling(path)
    if data is None:
        return []
    declared: dict[str, dict[str, Any]] = {}
    drawn: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("action") in ("sample_declare", "sample_draw"):
            target = declared if event["action"] == "sample_declare" else drawn
            target[str(event.get("object_id"))] = _details(event)
    problems: list[str] = []
    for draw in data.get("draws", []):
        problems += _check_draw(draw, declared.get(str(draw.get("questionnaire_id"))),
                                drawn.get(str(draw.get("questionnaire_id"))))
    return problems


def sample_selection(path: str, events: list[dict[str, Any]]) -> tuple[dict[int, set[int]], list[str]]:
    """(questionnaire id → ids of its drawn cards, for every drawn questionnaire whose figure counts the
    random sample only; problems with the "合并海报答卷" switch)."""
    data = read_sampling(path)
    if data is None:
        return {}, []
    logged: dict[str, bool] = {}
    for event in events:  # the chain order: the last event wins
        if event.get("action") == "sample_pool_posters":
            logged[str(event.get("object_id"))] = bool(_details(event).get("pool_posters"))
    selection: dict[int, set[int]] = {}
    problems: list[str] = []
    for draw in data.get("draws", []):
        if not draw.get("seed"):
            continue
        pool = bool(draw.get("pool_posters", False))
        q = draw.get("questionnaire_id")
        if pool != logged.get(str(q), False):
            problems.append(f"问卷 {q}：“合并海报答卷”现在是“{'开' if pool else '关'}”，"
                            f"操作日志中最后记录的是“{'开' if logged.get(str(q), False) else '关'}”（开关被绕过应用改动）")
        cards = draw.get("cards", [])
        if not pool and all(c.get("id") not in (None, "") for c in cards):
            selection[int(q)] = {int(c["id"]) for c in cards}
    return selection, problems


def _check_draw(draw: dict[str, Any], declared: dict[str, Any] | None, drawn: dict[str, Any] | None) -> list[str]:
    q = f"问卷 {draw.get('questionnaire_id')}"
    out: list[str] = []
    seed = draw.get("seed")
    if not seed:
        return [] if not draw.get("cards") else [f"{q}：没有种子，却有按位置发放的卡片"]
    if seed != f"{draw.get('chain_root')}|{draw.get('lottery')}|{draw.get('public_number')}":
        out.append(f"{q}：种子与登记的链头、公开号码来源和公开号码不一致")
    if declared is None:
        out.append(f"{q}：操作日志中没有抽样登记记录")
    else:
        if declared.get("chain_root") != draw.get("chain_root") or declared.get("lottery") != draw.get("lottery"):
            out.append(f"{q}：登记的链头或公开号码来源与操作日志不一致")
        logged = [(r.get("village"), r.get("frame"), r.get("size")) for r in declared.get("frames", [])]
        if logged != [(r["village"], r["frame"], r["size"]) for r in draw.get("frames", [])]:
            out.append(f"{q}：各村名单人数或抽取数量与操作日志中登记的不一致")
    if drawn is None:
        out.append(f"{q}：操作日志中没有抽取记录")
    elif drawn.get("seed") != seed:
        out.append(f"{q}：种子被改动：操作日志记录的是“{drawn.get('seed')}”，审计包中是“{seed}”")
    try:
        replaced = defaultdict(int)
        for card in draw.get("cards", []):
            if card.get("replaces_card_no") not in (None, ""):
                replaced[card.get("village", "")] += 1
        method = draw.get("method") or "simple"  # bundles before systematic draws: simple
        draws = {r["village"]: draw_sample(seed, {r["village"]: r["frame"]}, {r["village"]: r["size"]},
                                           reserves=replaced[r["village"]], method=method)[r["village"]]
                 for r in draw["frames"]}
    except (ValueError, KeyError, TypeError) as exc:
        return [*out, f"{q}：无法重新计算抽样（{exc}）"]
    if drawn is not None and isinstance(drawn.get("positions"), dict):
        for village, vd in draws.items():
            if sorted(drawn["positions"].get(village, [])) != sorted(vd.sample):
                out.append(f"{q}：{village}操作日志中的抽中位置与重新计算的不一致")
    by_village: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in draw.get("cards", []):
        by_village[card.get("village", "")].append(card)
    for village, cards in by_village.items():
        vd = draws.get(village)
        if vd is None:
            out.append(f"{q}：{village}不在抽样名单中，却有按位置发放的卡片")
            continue
        replacements = sum(1 for c in cards if c.get("replaces_card_no") not in (None, ""))
        bad = set()
        for problem in check_issued(vd, [int(c["position"]) for c in cards], replacements=replacements):
            position = int(problem.split()[1])
            bad.add(position)
            if problem.endswith("was not drawn"):
                numbers = "、".join(str(c["card_no"]) for c in cards if int(c["position"]) == position)
                out.append(f"{q}：{village}卡片 {numbers} 发在名单第 {position} 号，这个位置没有被抽中")
            else:
                out.append(f"{q}：{village}名单第 {position} 号发了不止一张卡片")
    return out
