"""Tamper-evident response records: hash chains and their heads.

Responses form many short chains, one per QR link (and one per questionnaire
for paper entry), so that submissions through different links never wait for
each other. Row k of a chain stores ``prev_hash`` (row k−1's hash, or 64 zeros)
and ``row_hash = sha256(prev_hash + "\\n" + canonical JSON of the record)``.
The **head** of the whole log is the list of (chain, position, hash) with its
**root** ``sha256`` over the sorted lines ``chain:position:hash``. A published
head is extended by every later honest state: each published chain position
must still hold the same hash.

The server and the offline verifier both use these functions, so a record
hashes the same whether it comes from the database or from an export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

#: the fields of a response that the hash covers, with their types
RECORD_FIELDS: dict[str, type] = {
    "receipt": str,
    "questionnaire_id": int,
    "version_id": int,
    "link_id": int,
    "card_id": int,
    "village_id": int,
    "channel": str,
    "satisfaction": str,
    "answers": dict,
    "comment": str,
    "submitted_at": str,
    "network_hash": str,
    "device_hash": str,
    "entered_by": str,
    "form_no": str,
    "simulated": bool,
    "chain_key": str,
    "chain_seq": int,
    # a paper correction: the row it supersedes and why (left out of the hash when empty, so
    # rows written before corrections existed hash exactly as before)
    "supersedes_id": int,
    "correction_reason": str,
}
#: fields left out of the canonical record when empty (None or "")
OPTIONAL_FIELDS = frozenset({"supersedes_id", "correction_reason"})


#: the fields of a staff audit event that the hash covers (one chain, key "audit")
AUDIT_FIELDS: dict[str, type] = {
    "at": str,
    "user_id": int,
    "actor": str,
    "action": str,
    "object_type": str,
    "object_id": str,
    "details": dict,
    "chain_key": str,
    "chain_seq": int,
}
AUDIT_CHAIN = "audit"


def unescape_cell(text: str) -> str:
    """The exact value behind a cell of the audit bundle's CSVs.

    The bundle writer puts an apostrophe before a value a spreadsheet would run as a
    formula (and before one that already starts with an apostrophe), so opening the CSV
    in a spreadsheet runs nothing; removing one leading apostrophe gives the stored value.
    """
    return text[1:] if text.startswith("'") else text


def timestamp(value: dt.datetime | str) -> str:
    """UTC ISO 8601 with microseconds; naive datetimes are UTC (SQLite returns them naive)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize(record: Mapping[str, Any], fields: Mapping[str, type] = RECORD_FIELDS) -> dict[str, Any]:
    """The canonical record: exactly the hashed fields, typed, from DB values or export strings."""
    out: dict[str, Any] = {}
    for name, kind in fields.items():
        value = record.get(name)
        if isinstance(value, str) and kind is not str:
            if value == "":
                value = None
            elif kind is int:
                value = int(value)
            elif kind is bool:
                value = value.lower() in ("1", "true", "t", "yes")
            elif kind is dict:
                value = json.loads(value)
        if name in ("submitted_at", "at") and value is not None:
            value = timestamp(value)
        if kind is str and value is not None and not isinstance(value, str):
            value = str(getattr(value, "value", value))
        if kind is bool and value is not None:
            value = bool(value)
        if name in OPTIONAL_FIELDS and value in (None, ""):
            continue
        out[name] = value
    return out


def canonical(record: Mapping[str, Any], fields: Mapping[str, type] = RECORD_FIELDS) -> bytes:
    return json.dumps(normalize(record, fields), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def row_hash(prev_hash: str, record: Mapping[str, Any], fields: Mapping[str, type] = RECORD_FIELDS) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(record, fields)).hexdigest()


def canonical_around(record: Mapping[str, Any], at: str = "chain_seq",
                     fields: Mapping[str, type] = RECORD_FIELDS) -> tuple[bytes, bytes]:
    """:func:`canonical` cut around the integer field ``at``: for every integer ``n``,
    ``before + str(n).encode() + after == canonical({**record, at: n})``.

    Lets the database finish a row's hash once it has locked the chain head and knows the
    position (the respondent path on PostgreSQL: ``sha256(prev || '\\n' || before || n || after)``),
    with exactly the definition above: the keys are sorted, so the fields before ``at`` are one
    JSON object's members and the fields after it another's.
    """
    normal = normalize(record, fields)
    normal.pop(at, None)

    def members(part: dict[str, Any]) -> str:  # the object's text without its braces
        return json.dumps(part, ensure_ascii=False, sort_keys=True, separators=(",", ":"))[1:-1]

    head = members({k: v for k, v in normal.items() if k < at})
    tail = members({k: v for k, v in normal.items() if k > at})
    before = "{" + head + ("," if head else "") + json.dumps(at) + ":"
    after = ("," + tail if tail else "") + "}"
    return before.encode("utf-8"), after.encode("utf-8")


def root(heads: Mapping[str, tuple[int, str] | list[Any]]) -> str:
    """The root hash of a head: sha256 over the sorted lines ``chain:position:hash``."""
    lines = "\n".join(f"{key}:{int(pos)}:{h}" for key, (pos, h) in sorted(heads.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One finding of a verification, located by chain and position (and row id/receipt when known)."""

    kind: str  # altered | deleted | inserted | reordered | truncated | not_extended | missing_chain
    chain_key: str
    seq: int | None
    row_id: Any
    receipt: str | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.chain_key}#{self.seq}" if self.seq is not None else self.chain_key
        row = f" 记录 {self.row_id}" if self.row_id is not None else ""
        receipt = f" 回执码 {self.receipt}" if self.receipt else ""
        return f"[{self.kind}] {where}{row}{receipt}: {self.detail}"


def verify_rows(
    rows: Iterable[Mapping[str, Any]], fields: Mapping[str, type] = RECORD_FIELDS
) -> tuple[list[Problem], dict[str, tuple[int, str]]]:
    """Check every chain in ``rows`` (dicts with the record fields plus prev_hash, row_hash, id).

    Returns the problems found and the head the rows actually form. Rows marked ``withheld``
    (content left out of a bundle limited to some units) are checked for their links only.
    """
    chains: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        chains[str(row["chain_key"])].append(row)
    problems: list[Problem] = []
    heads: dict[str, tuple[int, str]] = {}
    for key, items in chains.items():
        items.sort(key=lambda r: (int(r["chain_seq"]), str(r.get("id", ""))))
        expected_prev, expected_seq = GENESIS, 1
        seen: set[int] = set()
        for row in items:
            seq = int(row["chain_seq"])
            rid, receipt = row.get("id"), row.get("receipt")
            if seq in seen:
                problems.append(Problem("inserted", key, seq, rid, receipt, "另一条记录占用了同一位置（被插入）"))
                continue
            seen.add(seq)
            # a withheld row (another unit's event in a bundle limited to some units) has no content:
            # only its links are checked, its own hash is taken as given
            withheld = str(row.get("withheld") or "") in ("1", "True", "true")
            if not withheld and row_hash(str(row["prev_hash"]), row, fields) != row["row_hash"]:
                problems.append(Problem("altered", key, seq, rid, receipt,
                                        "内容与哈希不符：记录在保存后被改动"))
            if seq > expected_seq:
                problems.append(Problem("deleted", key, seq, rid, receipt,
                                        f"缺少第 {expected_seq}–{seq - 1} 条：记录被删除"))
            elif seq < expected_seq:
                problems.append(Problem("reordered", key, seq, rid, receipt, "位置顺序错乱"))
            if row["prev_hash"] != expected_prev and seq == expected_seq:
                problems.append(Problem("reordered", key, seq, rid, receipt,
                                        "与前一条记录接不上：有记录被插入、对调或重排"))
            expected_prev, expected_seq = str(row["row_hash"]), seq + 1
        last = items[-1]
        heads[key] = (int(last["chain_seq"]), str(last["row_hash"]))
    return problems, heads


def check_extends(
    rows_by_position: Mapping[tuple[str, int], Mapping[str, Any]],
    published: Mapping[str, tuple[int, str] | list[Any]],
    current: Mapping[str, tuple[int, str]],
) -> list[Problem]:
    """Does the current state extend a published head? Every published position must be intact."""
    problems = []
    for key, (pos, expected) in sorted(published.items()):
        pos = int(pos)
        if key not in current:
            problems.append(Problem("missing_chain", key, pos, None, None, "整条记录链消失了"))
            continue
        if current[key][0] < pos:
            problems.append(Problem("truncated", key, pos, None, None,
                                    f"记录链现在只到第 {current[key][0]} 条，已发布的链头有 {pos} 条：尾部被截断"))
            continue
        row = rows_by_position.get((key, pos))
        if row is None or row["row_hash"] != expected:
            problems.append(Problem("not_extended", key, pos, row.get("id") if row else None,
                                    row.get("receipt") if row else None,
                                    "已发布链头的哈希已不在此位置：记录被改动"))
    return problems


CORRECTABLE_CHANNELS = ("paper", "interview")


def check_corrections(rows: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Check paper corrections: each names an earlier paper/interview row of the same questionnaire,
    gives a reason, and no row is superseded twice (so every form has one latest version)."""
    rows = list(rows)
    by_id = {int(r["id"]): r for r in rows if r.get("id") not in (None, "")}
    problems: list[Problem] = []
    seen: dict[int, Any] = {}
    for row in rows:
        target = normalize(row).get("supersedes_id")
        if target is None:
            continue
        where = (str(row["chain_key"]), int(row["chain_seq"]), row.get("id"), row.get("receipt"))
        old = by_id.get(int(target))
        if not str(row.get("correction_reason") or "").strip():
            problems.append(Problem("correction", *where, "更正记录没有写明理由"))
        if old is None:
            problems.append(Problem("correction", *where, f"更正记录所取代的记录 {target} 不存在"))
            continue
        if str(old["questionnaire_id"]) != str(row["questionnaire_id"]):
            problems.append(Problem("correction", *where, f"更正记录取代了另一份问卷的记录 {target}"))
        if str(old["channel"]) not in CORRECTABLE_CHANNELS or str(row["channel"]) != str(old["channel"]):
            problems.append(Problem("correction", *where, f"只有纸质或访谈录入的答卷可以更正（记录 {target}）"))
        if int(target) >= int(row["id"]):
            problems.append(Problem("correction", *where, f"更正记录早于它所取代的记录 {target}"))
        if int(target) in seen:
            problems.append(Problem("correction", *where, f"记录 {target} 被更正了两次（另一条是 {seen[int(target)]}）"))
        seen[int(target)] = row.get("id")
    return problems


def superseded_ids(rows: Iterable[Mapping[str, Any]]) -> set[int]:
    """Ids of rows replaced by a correction (figures use the latest version of each form)."""
    return {int(t) for r in rows if (t := normalize(r).get("supersedes_id")) is not None}
