"""Tamper evidence for what a figure rests on besides the answers: exclusions and questionnaire versions.

Exclusions and their reversals are bound to the chained staff audit log (see
:mod:`analysis.chain`): every exclusion the application makes writes an
``exclude_response`` event (exclusion id, response, receipt, reason) and every
reversal a ``revert_exclusion`` event, in the same transaction. Replaying the
events gives the exclusions there must be; any exclusion row without its
event, with a different response, receipt or reason, reverted without a
reversal event (or the reverse), and any event whose row has gone, is a
finding. The audit log itself is a hash chain, so the events cannot be
rewritten to match without that being found too.

Questionnaire versions carry the hash of their content taken at publication;
it is recomputed here and compared with the hash recorded in the
``publish_questionnaire`` event.

The server (live check) and the offline verifier (audit bundle) both call
these functions with plain dicts.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from analysis.chain import Problem

__all__ = ["check_exclusions", "check_versions", "content_hash"]


def content_hash(content: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a questionnaire version's content."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    details = event.get("details") or {}
    if isinstance(details, str):
        details = json.loads(details) if details else {}
    return dict(details)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_exclusions(
    exclusions: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    receipts: Mapping[int, str],
) -> list[Problem]:
    """Compare the exclusion rows with the exclusions the audit events say were made.

    ``exclusions``: dicts with id, response_id, reason, reverted_at (empty/None when active),
    revert_reason. ``events``: audit events (action, object_id, details, chain_seq).
    ``receipts``: response id → receipt.
    """
    expected: dict[int, dict[str, Any]] = {}
    legacy: dict[int, list[dict[str, Any]]] = defaultdict(list)  # events written before they named the row
    reverts: dict[int, str] = {}
    for event in sorted(events, key=lambda e: int(e.get("chain_seq") or 0)):
        action = event.get("action")
        if action == "exclude_response":
            details = _details(event)
            entry = {"response_id": _int(event.get("object_id")), "receipt": details.get("receipt"),
                     "reason": details.get("reason", ""), "seq": event.get("chain_seq")}
            exclusion_id = _int(details.get("exclusion_id"))
            if exclusion_id is None:
                legacy[entry["response_id"]].append(entry)  # type: ignore[index]
            else:
                expected[exclusion_id] = entry
        elif action == "revert_exclusion":
            exclusion_id = _int(event.get("object_id"))
            if exclusion_id is not None:
                reverts[exclusion_id] = _details(event).get("reason", "")
    problems: list[Problem] = []
    seen: set[int] = set()
    for row in sorted(exclusions, key=lambda r: int(r["id"])):
        row_id, response_id = int(row["id"]), _int(row.get("response_id"))
        receipt = receipts.get(response_id) if response_id is not None else None
        entry = expected.get(row_id)
        if entry is None and legacy.get(response_id):  # type: ignore[arg-type]
            entry = legacy[response_id].pop(0)  # type: ignore[index]
        if entry is None:
            problems.append(Problem("inserted", "exclusions", None, row_id, receipt,
                                    "这条排除记录没有对应的操作日志：是绕过系统插入的"))
            continue
        seen.add(row_id)
        where = f"（操作日志第 {entry['seq']} 条）"
        if entry["response_id"] != response_id or (entry["receipt"] and receipt and entry["receipt"] != receipt):
            problems.append(Problem("altered", "exclusions", None, row_id, receipt,
                                    f"排除记录指向的答卷与操作日志记载的（回执码 {entry['receipt']}）不符{where}"))
        if (row.get("reason") or "") != entry["reason"]:
            problems.append(Problem("altered", "exclusions", None, row_id, receipt,
                                    f"排除理由与操作日志记载的不符{where}"))
        reverted = bool(row.get("reverted_at"))
        if reverted != (row_id in reverts):
            detail = ("排除记录显示已撤销，但操作日志中没有撤销记录" if reverted
                      else "操作日志记载此排除已撤销，但排除记录显示仍在排除中")
            problems.append(Problem("altered", "exclusions", None, row_id, receipt, detail))
        elif reverted and (row.get("revert_reason") or "") != reverts[row_id]:
            problems.append(Problem("altered", "exclusions", None, row_id, receipt,
                                    "撤销理由与操作日志记载的不符"))
    missing = [(k, e) for k, e in expected.items() if k not in seen]
    missing += [(None, e) for entries in legacy.values() for e in entries]
    for row_id, entry in missing:
        problems.append(Problem("deleted", "exclusions", None, row_id, entry["receipt"],
                                f"操作日志第 {entry['seq']} 条记载的排除记录不见了"))
    return problems


def check_versions(versions: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Recompute each questionnaire version's content hash; compare it with the stored hash and with
    the hash recorded when it was published."""
    published: dict[tuple[int | None, int | None], str] = {}
    for event in events:
        if event.get("action") == "publish_questionnaire":
            details = _details(event)
            published[(_int(event.get("object_id")), _int(details.get("version")))] = str(details.get("content_hash"))
    problems = []
    for version in versions:
        content = version.get("content")
        if isinstance(content, str):
            content = json.loads(content)
        label = f"问卷 {version.get('questionnaire_id')} 第 {version.get('number')} 版"
        row_id = version.get("id")
        if content_hash(content or {}) != version.get("content_hash"):
            problems.append(Problem("altered", "versions", None, row_id, None,
                                    f"{label}的内容与发布时的哈希不符：内容被改动"))
            continue
        recorded = published.get((_int(version.get("questionnaire_id")), _int(version.get("number"))))
        if recorded is None:
            problems.append(Problem("inserted", "versions", None, row_id, None,
                                    f"{label}没有发布记录：是绕过系统插入的"))
        elif recorded != version.get("content_hash"):
            problems.append(Problem("altered", "versions", None, row_id, None,
                                    f"{label}的内容哈希与发布时记录的不符：内容和哈希都被改动"))
    return problems
