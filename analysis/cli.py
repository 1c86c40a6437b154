"""``python -m analysis``: the statistics on the command line, for auditors.

Each subcommand mirrors a function of the API and prints one readable line
(Chinese, with the English terms), or JSON with ``--json``. Errors print a
message and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from analysis import (
    METHODS,
    POPULATION_METHODS,
    STRATIFIED_METHODS,
    min_n_all_satisfied,
    parse_target,
    proportion_interval,
    sample_size,
    score_indicator,
    stratified_interval,
    verdict,
)
from analysis.sampling_cli import SAMPLING_COMMANDS, add_sampling_parsers, run_sampling

SIDE_LABEL = {"two-sided": "双侧 two-sided", "lower": "单侧下限 one-sided lower"}


def _pct(x: float) -> str:
    return f"{x * 100:.4f}%"


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="满意度统计核验工具 Satisfaction-rate statistics: intervals, verdicts, sample sizes, scores.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("interval", help="confidence interval for a proportion")
    p.add_argument("--successes", type=int, required=True, help="satisfied answers")
    p.add_argument("--n", type=int, required=True, help="valid answers")
    p.add_argument("--population", type=int, help="known population size N")
    p.add_argument("--method", default="wilson", choices=sorted(set(METHODS) | set(POPULATION_METHODS)))
    p.add_argument("--sides", default="two-sided", choices=("two-sided", "lower"))
    _add_common(p)

    p = sub.add_parser("stratified", help="stratified interval; one --stratum N,n,x per village")
    p.add_argument("--stratum", action="append", required=True, metavar="N,n,x",
                   help="population, responses, satisfied (repeat per stratum)")
    p.add_argument("--method", default="wilson", choices=STRATIFIED_METHODS)
    p.add_argument("--sides", default="two-sided", choices=("two-sided", "lower"))
    _add_common(p)

    p = sub.add_parser("verdict", help="supported / contradicted / inconclusive for a '≥ target' claim")
    p.add_argument("--successes", type=int, default=0)
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--target", required=True, help="e.g. 0.95 or ≥95%%")
    p.add_argument("--population", type=int)
    p.add_argument("--stratum", action="append", metavar="N,n,x")
    _add_common(p)

    p = sub.add_parser("sample-size", help="responses needed to support a target with given power")
    p.add_argument("--target", required=True)
    p.add_argument("--expected", type=float, required=True, help="expected true rate, e.g. 0.98")
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--population", type=int)
    p.add_argument("--method", choices=("clopper_pearson", "wilson", "jeffreys", "exact_hypergeometric"))
    _add_common(p)

    p = sub.add_parser("min-n", help="smallest all-satisfied sample that supports a target")
    p.add_argument("--target", required=True)
    p.add_argument("--population", type=int)
    p.add_argument("--method", choices=("clopper_pearson", "wilson", "jeffreys", "exact_hypergeometric"))
    _add_common(p)

    add_sampling_parsers(sub, _add_common)

    p = sub.add_parser("parse-target", help="read a 指标值 cell")
    p.add_argument("text", nargs="+", help="the cell text (several parts for split cells)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("verify", help="verify an audit bundle: hash chains, a published head, every figure")
    p.add_argument("bundle", help="the audit bundle ZIP exported by the service")
    p.add_argument("--head", help="a head root you received earlier; the bundle must extend it")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("score", help="self-evaluation score of one indicator")
    p.add_argument("--target", required=True)
    p.add_argument("--actual", required=True)
    p.add_argument("--points", type=float, required=True)
    p.add_argument("--reverse-rule", default="ratio", choices=("ratio", "linear"))
    p.add_argument("--json", action="store_true")
    return parser


def _strata(values: Sequence[str]) -> list[tuple[int, int, int]]:
    rows = []
    for value in values:
        parts = value.replace("，", ",").split(",")
        if len(parts) != 3:
            raise ValueError(f"--stratum must be N,n,x (three whole numbers), got {value!r}")
        try:
            rows.append(tuple(int(p) for p in parts))
        except ValueError:
            raise ValueError(f"--stratum must be N,n,x (three whole numbers), got {value!r}") from None
    return rows  # type: ignore[return-value]


def _target(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return parse_target(text)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    if args.command == "interval":
        r = proportion_interval(args.successes, args.n, method=args.method, confidence=args.confidence,
                                sides=args.sides, population=args.population)
        pop = f"，总体 N={r.population}" if r.population else ""
        line = (f"满意率 {_pct(r.point)}（{r.successes}/{r.n}{pop}），{r.method} {r.confidence:.1%} "
                f"{SIDE_LABEL[r.sides]}：[{_pct(r.lower)}, {_pct(r.upper)}]")
        if r.k_lower is not None:
            line += f"，即总体中满意人数 {r.k_lower}–{r.k_upper}"
        if r.note:
            line += f"（{r.note}）"
        return r.as_dict(), line
    if args.command == "stratified":
        r = stratified_interval(_strata(args.stratum), method=args.method, confidence=args.confidence,
                                sides=args.sides)
        line = (f"分层满意率 {_pct(r.point)}（{r.strata} 层，n={r.n}，N={r.population}），{r.method} "
                f"{r.confidence:.1%} {SIDE_LABEL[r.sides]}：[{_pct(r.lower)}, {_pct(r.upper)}]，"
                f"方差 {r.variance:.6g}" + (f"，有效样本量 {r.n_eff:.2f}" if r.n_eff else ""))
        return r.as_dict(), line
    if args.command == "verdict":
        strata = _strata(args.stratum) if args.stratum else None
        if strata is None and args.n <= 0:
            raise ValueError("verdict needs --successes and --n, or --stratum")
        v = verdict(args.successes, args.n, _target(args.target), population=args.population,
                    confidence=args.confidence, strata=strata)
        line = (f"{v.label} {v.verdict}：目标 {_pct(v.target)}，满意率 {_pct(v.point)}（{v.successes}/{v.n}"
                + (f"，N={v.population}" if v.population else "") + f"），{v.method} {v.confidence:.0%} 单侧下限 "
                f"{_pct(v.lower)}，单侧上限 {_pct(v.upper)}")
        if v.verdict == "inconclusive":
            line += f"；按目前比例还需 {v.more_needed} 份" if v.more_needed is not None else f"；{v.note}"
        return v.as_dict(), line
    if args.command == "sample-size":
        n = sample_size(_target(args.target), args.expected, power=args.power, confidence=args.confidence,
                        population=args.population, method=args.method)
        line = f"样本量 sample size：{n}（目标 {args.target}，预期满意率 {args.expected}，把握度 {args.power}）"
        return {"n": n, "target": args.target, "expected": args.expected, "power": args.power,
                "population": args.population, "confidence": args.confidence}, line
    if args.command == "min-n":
        n = min_n_all_satisfied(_target(args.target), confidence=args.confidence, population=args.population,
                                method=args.method)
        line = f"全部满意时至少需要 {n} 份答卷 minimum all-satisfied n：{n}"
        return {"n": n, "target": args.target, "population": args.population, "confidence": args.confidence}, line
    if args.command in SAMPLING_COMMANDS:
        return run_sampling(args)
    if args.command == "parse-target":
        t = parse_target(args.text)
        return {**t.to_dict(), "raw": t.raw}, f"{t.raw} → op={t.op} value={t.value} unit={t.unit} kind={t.kind}"
    if args.command == "verify":
        from analysis.verify import verify_bundle

        report = verify_bundle(args.bundle, head=args.head)
        data = {"ok": report.ok, "root": report.root, "rows": report.checked_rows, "figures": report.checked_figures,
                "problems": [vars(p) for p in report.problems], "differences": report.differences,
                "units": report.units, "withheld_events": report.withheld_events,
                "withheld_chains": report.withheld_chains}
        lines = [f"{'通过 OK' if report.ok else '发现问题 FAILED'}：{report.checked_rows} 条答卷，"
                 f"{report.checked_figures} 项结果，当前链头 head {report.root}"]
        if report.withheld_events or report.withheld_chains:
            lines.append(f"  只含单位 units {'、'.join(report.units)}：其他单位的 {report.withheld_chains} 条答卷记录链"
                         f"只核对了链头位置，{report.withheld_events} 条操作日志只核对了链接（内容不在审计包中）")
        lines += [f"  {p}" for p in report.problems] + [f"  figure: {d}" for d in report.differences]
        if not report.ok:
            raise _Failed(data, "\n".join(lines))
        return data, "\n".join(lines)
    if args.command == "score":
        s = score_indicator(args.target, args.actual, args.points, reverse_rule=args.reverse_rule)
        data = {"score": s.score, "points": s.points, "rule": s.rule, "band": s.band, "met": s.met}
        shown = f"{s.score:g}" if s.score is not None else f"{s.band[0]:g}–{s.band[1]:g}"  # type: ignore[index]
        return data, f"得分 score：{shown} / {s.points:g}（{s.rule}）"
    raise ValueError(f"unknown command {args.command}")  # pragma: no cover


class _Failed(Exception):
    """A check that ran and found problems: print the report, exit 1."""

    def __init__(self, data: dict[str, Any], text: str) -> None:
        super().__init__(text)
        self.data, self.text = data, text


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        data, line = run(args)
    except _Failed as failed:
        print(json.dumps(failed.data, ensure_ascii=False, indent=2, default=str) if args.json else failed.text)
        return 1
    except ValueError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(line)
    return 0
