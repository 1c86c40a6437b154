"""Jinja filters for Chinese display of numbers, dates and labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask

from survey_app.models import GROUP_LABELS, RespondentGroup, Role

CHINA = dt.timezone(dt.timedelta(hours=8))


def wan(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def local_date(value: dt.datetime | None) -> str:
    return local_time(value)[:10]


def group_label(value: Any) -> str:
    if value is None:
        return "—"
    return GROUP_LABELS[RespondentGroup(value)]


def role_label(value: Any) -> str:
    return Role(value).label


def readable_json(value: Any) -> str:
    """JSON with Chinese left readable (Jinja's tojson escapes it to \\uXXXX); autoescaped as text."""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def verdict_label(value: Any) -> str:
    """A stored verdict code (supported / contradicted / inconclusive / none) in Chinese."""
    from analysis.verdict import VERDICT_LABELS

    return VERDICT_LABELS.get(str(value), "未判定")


def method_label(value: Any) -> str:
    """An interval method name in Chinese (the technical name belongs in a tooltip)."""
    from analysis.proportions import METHOD_LABELS

    labels = {**METHOD_LABELS, "census": "全面调查（没有抽样误差）", "t": "t 分布区间", "none": "未判定"}
    text = str(value)
    if "; verdict: " in text:  # a write-back records "interval method; verdict: verdict method"
        shown, judged = text.split("; verdict: ", 1)
        return f"{labels.get(shown, '其他方法')}；判定用{labels.get(judged, '其他方法')}"
    return labels.get(text, "其他方法")


TARGET_KINDS = {"quantity": "定量", "time": "时效", "qualitative": "定性"}


def target_label(target: Any) -> str:
    """How a parsed target was understood, in Chinese: “定量 ≥95%”, “时效：12月底前”, “定性”."""
    kind = TARGET_KINDS.get(getattr(target, "kind", ""), "其他")
    if getattr(target, "kind", "") == "quantity" and getattr(target, "value", None) is not None:
        return f"{kind} {target}"
    return kind


def register_filters(app: Flask) -> None:
    from survey_app.audit.labels import action_label, detail_lines, object_label, problem_text, technical

    app.jinja_env.filters.update(
        wan=wan, local_time=local_time, local_date=local_date, group_label=group_label, role_label=role_label,
        readable_json=readable_json,
        action_label=action_label, detail_lines=detail_lines, technical=technical, verdict_label=verdict_label,
        method_label=method_label, problem_text=problem_text, target_label=target_label,
        event_object=lambda e: object_label(e.object_type, e.object_id),
    )
