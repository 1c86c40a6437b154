"""Verify an audit bundle offline: the chains, a published head, and every published figure.

Needs nothing but this package (and numpy/scipy): an auditor who does not trust
the server runs ``python -m analysis verify BUNDLE.zip [--head ROOT]``.

Checks:

1. every response chain in ``responses.csv`` (content against hash, links between
   rows, gaps, duplicates), and that the manifest's head is what the rows form;
2. with ``--head``: that the bundle extends that head (the root must be the
   manifest head or one of its published heads, whose positions must all hold);
3. exclusions against the chained audit events that made and reverted them, and
   every questionnaire version's content against its hash (:mod:`analysis.records`);
4. every figure in the manifest, recomputed with the one figure function
   (:func:`analysis.figure.figure`) from the raw rows, the exclusions and the
   stated populations: the design is chosen again, and every count (responses,
   valid, 不了解, excluded, per option, per version, per village), the rate, the
   interval, the bound, the verdict and the more-needed are compared.
5. every random draw (``sampling.json``): seed, frames and card positions
   (see ``analysis.verify_sampling``).

A bundle limited to some units (``manifest["scope"]``) holds those units' rows in full; the
other units' response chains are only named in the head (``withheld_chains``: their stated
position and hash enter the root) and the other units' staff audit events keep only their chain
position and hashes (``withheld``: their links are checked, their content cannot be). The report
counts both, so a reader sees exactly what was not checked.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from analysis.chain import (
    AUDIT_CHAIN,
    AUDIT_FIELDS,
    Problem,
    check_corrections,
    check_extends,
    root,
    superseded_ids,
    unescape_cell,
    verify_rows,
)
from analysis.figure import figure
from analysis.records import check_exclusions, check_versions
from analysis.verify_sampling import sample_selection, sampling_problems

TOLERANCE = 1e-9


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    checked_rows: int = 0
    checked_figures: int = 0
    root: str = ""
    #: a bundle limited to some units: other units' audit events whose content was left out (their
    #: links are checked) and other units' response chains named by the head only
    withheld_events: int = 0
    withheld_chains: int = 0
    units: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


class BundleError(ValueError):
    """The file is not a readable audit bundle."""


def _read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    rows = csv.DictReader(io.StringIO(archive.read(name).decode("utf-8")))
    return [{k: unescape_cell(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]


def _read(path: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, str]], list[dict[str, Any]],
                             list[dict[str, Any]]]:
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read("manifest.json"))
        versions = json.loads(archive.read("questionnaire_versions.json"))
        responses, exclusions, events = (_read_csv(archive, name)
                                         for name in ("responses.csv", "exclusions.csv", "audit_log.csv"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"not a readable audit bundle: {exc}") from None
    for row in responses:
        row["chain_seq"] = int(row["chain_seq"])
        row["id"] = int(row["id"]) if row.get("id") else None
    for row in events:
        row["chain_key"] = AUDIT_CHAIN
        row["chain_seq"] = int(row["chain_seq"])
    return manifest, responses, exclusions, events, versions


def verify_bundle(path: str, *, head: str | None = None) -> Report:
    """Run all checks on the bundle at ``path``."""
    manifest, responses, exclusions, events, versions = _read(path)
    report = Report(checked_rows=len(responses))
    problems, actual = verify_rows(responses)
    report.problems.extend(problems)
    report.problems.extend(check_corrections(responses))
    audit_problems, audit_head = verify_rows(events, AUDIT_FIELDS)  # the staff audit log is a chain too
    report.problems.extend(audit_problems)
    withheld = _withheld_chains(manifest, responses, versions, actual, report)
    # exclusions against their chained events; version contents against their hashes
    receipts = {row["id"]: row["receipt"] for row in responses if row["id"] is not None}
    report.problems.extend(check_exclusions(exclusions, events, receipts))
    report.problems.extend(check_versions(versions, events))
    actual.update(audit_head)
    report.root = root(actual)
    stated = manifest.get("head", {})
    if stated.get("root") != report.root:
        report.problems.append(Problem("not_extended", "*", None, None, None,
                                       f"答卷数据构成的链头是 {report.root[:16]}…，清单中写的是 "
                                       f"{str(stated.get('root'))[:16]}…"))
    by_position = {(r["chain_key"], r["chain_seq"]): r for r in [*responses, *events]}
    published = {p["root"]: p["chains"] for p in manifest.get("published_heads", [])}
    published[stated.get("root", "")] = stated.get("chains", {})
    if head is not None:
        chains = published.get(head)
        if chains is None:
            report.problems.append(Problem("not_extended", "*", None, None, None,
                                           f"链头 {head} 既不是审计包的链头，也不在其已发布的链头中"))
        elif root({k: tuple(v) for k, v in chains.items()}) != head:
            report.problems.append(Problem("altered", "*", None, None, None, f"链头 {head} 所列的位置与其哈希不符"))
        else:
            # the positions of other units' chains (not in a bundle limited to some units) cannot be checked
            report.problems.extend(check_extends(by_position, {k: v for k, v in chains.items() if k not in withheld},
                                                 actual))
    report.withheld_events = sum(1 for e in events if str(e.get("withheld") or "") in ("1", "True", "true"))
    if report.withheld_events and (manifest.get("scope") or {}).get("all_units") is not False:
        report.problems.append(Problem("altered", AUDIT_CHAIN, None, None, None,
                                       f"审计包不限单位，却有 {report.withheld_events} 条操作日志省略了内容"))
    selection, switch_problems = sample_selection(path, events)
    _check_figures(manifest, responses, exclusions, versions, report, selection)
    report.differences.extend(switch_problems)
    report.differences.extend(sampling_problems(path, events))  # the random draws, recomputed
    return report


def _withheld_chains(manifest: dict[str, Any], responses: list[dict[str, Any]], versions: list[dict[str, Any]],
                     actual: dict[str, tuple[int, str]], report: Report) -> dict[str, tuple[int, str]]:
    """Take the stated head positions of the other units' chains (a bundle limited to some units) into
    ``actual``, so the root can be recomputed; refuse a withheld chain of a questionnaire in the bundle
    (the server may not hide a chain of a unit the bundle is about)."""
    scope = manifest.get("scope") or {}
    report.units = [str(code) for code in scope.get("units") or []]
    stated = (manifest.get("head") or {}).get("chains") or {}
    keys = [str(k) for k in manifest.get("withheld_chains") or []]
    partial = scope.get("all_units") is False
    mine = {str(v.get("questionnaire_id")) for v in versions} | {str(r.get("questionnaire_id")) for r in responses}
    out: dict[str, tuple[int, str]] = {}
    for key in keys:
        if not partial or key in actual or key not in stated or key.partition(":")[0][1:] in mine:
            report.problems.append(Problem("missing_chain", key, None, None, None,
                                           "审计包把这条记录链列为“其他单位的”，但它属于本审计包的单位或审计包不限单位"))
            continue
        out[key] = (int(stated[key][0]), str(stated[key][1]))
    actual.update(out)
    report.withheld_chains = len(out)
    return out


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=TOLERANCE)


def _village_key(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _check_figures(manifest: dict[str, Any], responses: list[dict[str, Any]], exclusions: list[dict[str, str]],
                   versions: list[dict[str, Any]], report: Report,
                   selection: dict[int, set[int]] | None = None) -> None:
    """Recompute every figure with :func:`analysis.figure.figure` from the raw rows, the exclusions and the
    stated inputs (method, target, populations); the design is chosen again here, never read from the
    manifest. Every count is compared: responses, valid, 不了解, excluded, satisfied, per option, per
    version, per village; then design, rate, interval, bound, verdict and more-needed."""
    active = {int(e["response_id"]) for e in exclusions if not e.get("reverted_at")}
    superseded = superseded_ids(responses)  # a corrected paper form counts in its latest version only
    numbers = {int(v["id"]): int(v["number"]) for v in versions}
    cells: dict[int, Counter[tuple[Any, Any, str]]] = defaultdict(Counter)
    excluded: Counter[int] = Counter()
    left_out: Counter[int] = Counter()  # with a random draw: answers not through a drawn card
    selection = selection or {}
    for row in responses:
        if row["simulated"].lower() in ("true", "1"):
            continue
        questionnaire_id = int(row["questionnaire_id"])
        if row["id"] in superseded:
            continue
        if row["id"] in active:
            excluded[questionnaire_id] += 1
            continue
        drawn = selection.get(questionnaire_id)
        if drawn is not None and (not row.get("card_id") or int(row["card_id"]) not in drawn):
            left_out[questionnaire_id] += 1
            continue
        version = numbers.get(int(row["version_id"])) if row.get("version_id") else None
        cells[questionnaire_id][(_village_key(row.get("village_id")), version, row["satisfaction"])] += 1
    for stated in manifest.get("figures", []):
        report.checked_figures += 1
        label = f"{stated.get('project')}·{stated.get('indicator')}"
        questionnaire_id = int(stated["questionnaire_id"])
        inputs = stated.get("inputs") or {}

        def diff(what: str, published: Any, recomputed: Any, label: str = label) -> None:
            report.differences.append(f"{label}：{what} 公布值 {published}，重新计算为 {recomputed}")

        try:
            mine = figure(
                [(*key, count) for key, count in cells[questionnaire_id].items()],
                target=inputs.get("target", stated.get("target")),
                rate_method=inputs.get("rate_method", stated.get("method", {}).get("rate", "top2")),
                population=inputs.get("population"),
                village_populations={int(k): v for k, v in (inputs.get("village_populations") or {}).items()},
                excluded=excluded[questionnaire_id],
                confidence=float(inputs.get("confidence", 0.95)),
            ).as_dict()
        except ValueError as exc:
            diff("重新计算", "（见清单）", f"无法计算：{exc}")
            continue
        for key, what in (("responses", "答卷总数"), ("valid_n", "有效答卷数"), ("dont_know", "“不了解”人数"),
                          ("excluded_by_staff", "工作人员排除数"), ("successes", "满意人数"), ("design", "设计"),
                          ("population", "总体人数")):
            if stated.get(key) != mine[key]:
                diff(what, stated.get(key), mine[key])
        if stated.get("left_out", 0) != left_out[questionnaire_id]:
            diff("未计入随机样本的自愿作答答卷数", stated.get("left_out", 0), left_out[questionnaire_id])
        if stated.get("counts") != mine["counts"]:
            diff("各选项人数", stated.get("counts"), mine["counts"])
        if stated.get("per_version") != mine["per_version"]:
            diff("各版本答卷数", stated.get("per_version"), mine["per_version"])
        stated_villages = {_village_key(v.get("village_id")): (v["n"], v["successes"], v["dont_know"])
                           for v in stated.get("villages", [])}
        my_villages = {v["village"]: (v["n"], v["successes"], v["dont_know"]) for v in mine["villages"]}
        if stated_villages != my_villages:
            diff("各村（有效，满意，不了解）", stated_villages, my_villages)
        if stated.get("strata") is not None and [tuple(s) for s in stated["strata"]] != [
                tuple(s) for s in mine["strata"] or []]:
            diff("分层（人数，答卷，满意）", stated.get("strata"), mine["strata"])
        interval = stated.get("interval") or {}
        for what, published, recomputed in (("满意率", stated.get("value"), mine["value"]),
                                            ("区间下限", interval.get("lower"), mine["interval"]["lower"]),
                                            ("区间上限", interval.get("upper"), mine["interval"]["upper"])):
            if not _close(published, recomputed):
                diff(what, published, recomputed)
        stated_verdict, my_verdict = stated.get("verdict") or {}, mine["verdict"] or {}
        for key, what in (("verdict", "结论"), ("more_needed", "还需答卷数"), ("settles_as", "可判定方向")):
            if key in stated_verdict and stated_verdict.get(key) != my_verdict.get(key):
                diff(what, stated_verdict.get(key), my_verdict.get(key))
        if not _close(stated_verdict.get("bound"), my_verdict.get("bound")):
            diff("单侧下限", stated_verdict.get("bound"), my_verdict.get("bound"))
