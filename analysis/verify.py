"""Verify an audit bundle offline: the chains, a published head, and every published figure.

Needs nothing but this package (and numpy/scipy): an auditor who does not trust
the server runs ``python -m analysis verify BUNDLE.zip [--head ROOT]``.

Checks:

1. every response chain in ``responses.csv`` (content against hash, links between
   rows, gaps, duplicates), and that the manifest's head is what the rows form;
2. with ``--head``: that the bundle extends that head (the root must be the
   manifest head or one of its published heads, whose positions must all hold);
3. every figure in the manifest, recomputed from the raw rows with the stated
   design: counts, valid n, the rate, the interval and the verdict.
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

from analysis.chain import AUDIT_CHAIN, AUDIT_FIELDS, Problem, check_extends, root, unescape_cell, verify_rows
from analysis.proportions import proportion_interval
from analysis.scoring import score_interval
from analysis.stratified import IntervalUndefined, stratified_interval
from analysis.verdict import verdict

SCALE = ("非常满意", "满意", "一般", "不满意", "非常不满意")
TOLERANCE = 1e-9


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    checked_rows: int = 0
    checked_figures: int = 0
    root: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


class BundleError(ValueError):
    """The file is not a readable audit bundle."""


def _read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    rows = csv.DictReader(io.StringIO(archive.read(name).decode("utf-8")))
    return [{k: unescape_cell(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]


def _read(path: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, str]], list[dict[str, Any]]]:
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read("manifest.json"))
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
    return manifest, responses, exclusions, events


def verify_bundle(path: str, *, head: str | None = None) -> Report:
    """Run all checks on the bundle at ``path``."""
    manifest, responses, exclusions, events = _read(path)
    report = Report(checked_rows=len(responses))
    problems, actual = verify_rows(responses)
    report.problems.extend(problems)
    audit_problems, audit_head = verify_rows(events, AUDIT_FIELDS)  # the staff audit log is a chain too
    report.problems.extend(audit_problems)
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
            report.problems.extend(check_extends(by_position, chains, actual))
    _check_figures(manifest, responses, exclusions, report)
    return report


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=TOLERANCE)


def _check_figures(manifest: dict[str, Any], responses: list[dict[str, Any]],
                   exclusions: list[dict[str, str]], report: Report) -> None:
    excluded = {int(e["response_id"]) for e in exclusions if not e.get("reverted_at")}
    by_questionnaire: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in responses:
        if row["simulated"].lower() in ("true", "1") or row["id"] in excluded:
            continue
        by_questionnaire[int(row["questionnaire_id"])].append(row)
    for figure in manifest.get("figures", []):
        report.checked_figures += 1
        label = f"{figure.get('project')}·{figure.get('indicator')}"
        rows = by_questionnaire.get(int(figure["questionnaire_id"]), [])
        counts = Counter(r["satisfaction"] for r in rows)
        valid = sum(counts[o] for o in SCALE)
        successes = counts[SCALE[0]] + counts[SCALE[1]]

        def diff(what: str, stated: Any, recomputed: Any, label: str = label) -> None:
            report.differences.append(f"{label}：{what} 公布值 {stated}，重新计算为 {recomputed}")

        if figure["valid_n"] != valid:
            diff("有效答卷数", figure["valid_n"], valid)
        if figure["successes"] != successes:
            diff("满意人数", figure["successes"], successes)
        if figure.get("value") is None or not valid:
            continue
        design, population = figure["design"], figure.get("population")
        target = figure.get("target")
        interval = figure["interval"]
        stated_verdict = figure.get("verdict")
        if figure["method"]["rate"] == "weighted":
            pop = valid if design == "census" else population
            iv = score_interval(dict(counts), population=pop)
            value, lower, upper = iv.point, iv.lower, iv.upper
            recomputed_verdict = stated_verdict["verdict"] if stated_verdict else None
        elif design == "census":
            value = lower = upper = successes / valid
            recomputed_verdict = verdict(successes, valid, target, population=valid).verdict if stated_verdict else None
        elif design == "stratified":
            strata = [tuple(s) for s in figure.get("strata") or []]
            recount = _strata_from_rows(rows, figure)
            if sorted(recount) != sorted(strata):
                diff("分层（人数，答卷，满意）", strata, recount)
            try:
                iv = stratified_interval(recount, method="wilson")
            except IntervalUndefined:
                iv = stratified_interval(recount, method="wilson_kish")
            value, lower, upper = iv.point, iv.lower, iv.upper
            recomputed_verdict = verdict(0, 0, target, strata=recount).verdict if stated_verdict else None
        elif design == "finite":
            iv = proportion_interval(successes, valid, method="exact_hypergeometric", population=population)
            value, lower, upper = successes / valid, iv.lower, iv.upper
            recomputed_verdict = verdict(successes, valid, target, population=population).verdict if stated_verdict else None
        else:
            iv = proportion_interval(successes, valid, method="wilson")
            value, lower, upper = successes / valid, iv.lower, iv.upper
            recomputed_verdict = verdict(successes, valid, target).verdict if stated_verdict else None
        for what, stated, mine in (("满意率", figure["value"], value), ("区间下限", interval["lower"], lower),
                                   ("区间上限", interval["upper"], upper)):
            if not _close(stated, mine):
                diff(what, stated, mine)
        if stated_verdict and stated_verdict["verdict"] != recomputed_verdict:
            diff("结论", stated_verdict["verdict"], recomputed_verdict)


def _strata_from_rows(rows: list[dict[str, Any]], figure: dict[str, Any]) -> list[tuple[int, int, int]]:
    """Per-village (N, n, satisfied) from the rows, with the stated village populations."""
    populations = {v["village_id"]: v["population"] for v in figure.get("villages", [])}
    groups: dict[int, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["village_id"]:
            groups[int(row["village_id"])][row["satisfaction"]] += 1
    out = []
    for village_id in sorted(groups):
        answers = groups[village_id]
        n = sum(answers[o] for o in SCALE)
        if n and populations.get(village_id):
            out.append((int(populations[village_id]), n, answers[SCALE[0]] + answers[SCALE[1]]))
    return out
