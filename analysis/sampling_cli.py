"""``python -m analysis draw | aapor | bounds | plan-draw``: the sampling commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from analysis.sampling import DISPOSITION_LABELS, DISPOSITIONS, aapor_rates, draw_sample, nonresponse_bounds, plan_draw

SAMPLING_COMMANDS = ("draw", "aapor", "bounds", "plan-draw")


def _pairs(text: str, flag: str) -> dict[str, int]:
    """``村A:120,村B:80`` → {'村A': 120, '村B': 80} (full-width ，：also accepted)."""
    out: dict[str, int] = {}
    for part in text.replace("，", ",").replace("：", ":").split(","):
        if not part.strip():
            continue
        name, sep, value = part.rpartition(":")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{flag} must look like 村A:120,村B:80, got {part!r}")
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"{flag}: {name} needs a whole number, got {value!r}") from None
        if name in out:
            raise ValueError(f"{flag}: {name} appears twice")
        out[name] = number
    if not out:
        raise ValueError(f"{flag} is empty")
    return out


def add_sampling_parsers(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("draw", help="recompute a random draw per village from a seed and the frames")
    p.add_argument("--seed", required=True, help="the published seed text")
    p.add_argument("--frame", required=True, help="roster sizes, e.g. 村A:120,村B:80")
    p.add_argument("--size", required=True, help="cards drawn per village, e.g. 村A:12,村B:8")
    p.add_argument("--reserves", type=int, default=5, help="reserves to print per village (default 5)")
    p.add_argument("--method", choices=("simple", "systematic"), default="simple",
                   help="simple random sample (default) or systematic with a random start")
    p.add_argument("--json", action="store_true", help="print JSON (all reserves)")

    p = sub.add_parser("aapor", help="AAPOR response rates from disposition counts")
    for key in DISPOSITIONS:
        p.add_argument(f"--{key.replace('_', '-')}", type=int, default=0, help=DISPOSITION_LABELS[key])
    p.add_argument("--e", type=float, help="share of unknown-eligibility cases assumed eligible")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bounds", help="worst/best-case verdicts when some people did not answer")
    p.add_argument("--satisfied", type=int, required=True)
    p.add_argument("--respondents", type=int, required=True)
    p.add_argument("--drawn", type=int, required=True, help="eligible people asked (N for a census)")
    p.add_argument("--target", required=True)
    p.add_argument("--population", type=int)
    add_common(p)

    p = sub.add_parser("plan-draw", help="cards to draw so the robust verdict is supported")
    p.add_argument("--target", required=True)
    p.add_argument("--expected", type=float, required=True, help="expected satisfaction, e.g. 0.99")
    p.add_argument("--response", type=float, required=True, help="expected response rate, e.g. 0.97")
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--population", type=int)
    add_common(p)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def run_sampling(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from analysis.cli import _target

    if args.command == "draw":
        draws = draw_sample(args.seed, _pairs(args.frame, "--frame"), _pairs(args.size, "--size"),
                            method=args.method)
        data = {"seed": args.seed, "method": args.method, "villages": {v: d.as_dict() for v, d in draws.items()}}
        lines = [f"种子：{args.seed}"]
        for d in draws.values():
            shown = "、".join(map(str, sorted(d.sample))) or "（不抽）"
            lines.append(f"{d.village}（名单 1–{d.frame}，抽 {d.size} 个）：{shown}")
            if d.reserves and args.reserves > 0:
                lines.append(f"  替补顺序：{'、'.join(map(str, d.reserves[:args.reserves]))}"
                             + (" ……" if len(d.reserves) > args.reserves else ""))
        return data, "\n".join(lines)
    if args.command == "aapor":
        counts = {key: getattr(args, key) for key in DISPOSITIONS}
        r = aapor_rates(counts, e=args.e)
        line = (f"应答率 RR1 {_pct(r.rr1)}，RR3 {_pct(r.rr3)}（e={r.e:.3f}），RR5 {_pct(r.rr5)}；"
                f"合作率 COOP1 {_pct(r.coop1)}；拒访率 REF1 {_pct(r.ref1)}；接触率 CON1 {_pct(r.con1)}")
        return r.as_dict(), line
    if args.command == "bounds":
        b = nonresponse_bounds(args.satisfied, args.respondents, args.drawn, _target(args.target),
                               population=args.population, confidence=args.confidence)
        assumed = b.assumed.label if b.assumed else "无人作答"
        line = (f"应答 {b.respondents}/{b.drawn}（{_pct(b.response_rate)}），满意 {b.satisfied}。"
                f"假定未答者与作答者相似：{assumed}；"
                f"最坏情况（未答者都不满意）{_pct(b.worst.point)}：{b.worst.label}；"
                f"最好情况（未答者都满意）{_pct(b.best.point)}：{b.best.label}。"
                f"稳健结论：{b.robust_label}")
        return b.as_dict(), line
    plan = plan_draw(_target(args.target), args.expected, args.response, power=args.power,
                     confidence=args.confidence, population=args.population)
    if plan.cards is None:
        line = (f"按预期应答率 {_pct(plan.expected_response)} 无法得到稳健的达标结论："
                f"应答率至少要达到 {_pct(plan.min_response_rate)}")
    else:
        line = (f"需抽取 {plan.cards} 张卡片（预期 {plan.expected_respondents:.0f} 人作答），"
                f"稳健结论达标的把握度 {plan.achieved_power:.1%}")
    return plan.as_dict(), line
