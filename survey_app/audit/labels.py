"""Audit-log events in plain Chinese; the technical names stay available for a 详细 line."""

from __future__ import annotations

from typing import Any

ACTIONS = {
    "login": "登录",
    "create_user": "创建账号",
    "update_user": "修改账号",
    "import_table": "导入绩效目标表",
    "update_indicator": "确认调查对象和人数",
    "create_village": "添加村庄",
    "update_village": "修改村庄",
    "generate_questionnaire": "生成问卷草稿",
    "edit_questionnaire": "保存问卷草稿",
    "publish_questionnaire": "发布问卷",
    "questionnaire_closed": "结束收集",
    "questionnaire_published": "重新开放问卷",
    "issue_cards": "发放一次性卡片",
    "void_link": "作废二维码",
    "enter_paper": "录入纸质问卷",
    "enter_paper_first": "双人录入：第一次录入",
    "paper_matched": "双人录入：两次一致，计入结果",
    "paper_mismatch": "双人录入：两次不一致",
    "paper_resolved": "双人录入：核对后计入结果",
    "exclude_response": "排除答卷",
    "revert_exclusion": "撤销排除",
    "writeback": "写回指标实际完成值",
    "edit_self_evaluation": "保存绩效自评表",
    "publish_head": "发布链头",
    "export_bundle": "下载核验数据包",
    "sample_pool_posters": "切换合并海报答卷",
    "grant_unit": "授权单位",
}

OBJECTS = {
    "Questionnaire": "问卷",
    "Response": "答卷",
    "Link": "二维码",
    "User": "账号",
    "Village": "村庄",
    "Project": "项目",
    "Indicator": "指标",
    "Unit": "单位",
    "Exclusion": "排除记录",
    "Measurement": "写回记录",
    "PublishedHead": "链头",
    "Table": "目标表",
}

DETAILS = {
    "actual_value": "实际完成值", "answers": "答案", "aspects": "分项问题数", "card_no": "卡号", "channel": "来源",
    "content_hash": "内容指纹", "count": "张数", "executed": "全年执行数", "fields": "不一致的题目", "first": "起始卡号",
    "form": "表单", "form_no": "问卷编号", "indicator_id": "指标编号", "kind": "类型", "last": "结束卡号", "link": "二维码",
    "n": "有效答卷", "questionnaire_id": "问卷编号", "rate_method": "计算方法", "reason": "理由", "receipt": "回执码",
    "response_id": "答卷编号", "responses": "答卷数", "role": "角色", "root": "链头", "submission_key": "提交编号",
    "title": "标题", "user_id": "账号编号", "username": "用户名", "verdict": "结论", "version": "版本",
    "village": "村", "pool_posters": "合并海报答卷", "weights": "权重", "name": "名称", "population": "人数", "cadres": "村干部人数",
    "before": "修改前", "after": "修改后", "active": "启用", "note": "备注", "digest": "文件指纹",
    "filename": "文件名", "year": "年度", "unit": "单位", "units": "可见单位", "all_units": "全部单位",
}

VALUES = {
    "poster": "海报", "card": "卡片", "paper": "纸质问卷", "interview": "访谈录入", "top2": "满意率（前两项）",
    "weighted": "加权得分", "supported": "达标（有统计支持）", "inconclusive": "尚无定论", "not_met": "未达标",
    "staff": "工作人员", "auditor": "审计人员", "admin": "管理员", "import": "导入目标表时新建", "True": "是", "False": "否", "None": "—",
}


PROBLEMS = {
    "altered": "内容被改动", "deleted": "记录被删除", "inserted": "插入了记录", "reordered": "顺序被打乱",
    "truncated": "链尾被截断", "not_extended": "没有延续链头", "missing_chain": "缺少记录链",
}


def problem_text(problem: Any) -> str:
    """A verification finding in Chinese: what, where (chain and position), and the detail."""
    kind = PROBLEMS.get(getattr(problem, "kind", ""), "问题")
    chain = getattr(problem, "chain_key", "")
    where = "全部记录" if chain in ("*", "") else ("操作日志链" if chain == "audit" else f"记录链 {chain}")
    seq = getattr(problem, "seq", None)
    where += f" 第 {seq} 条" if seq is not None else ""
    receipt = f"（回执码 {problem.receipt}）" if getattr(problem, "receipt", None) else ""
    return f"{kind}：{where}{receipt}。{getattr(problem, 'detail', '')}"


def action_label(action: str) -> str:
    return ACTIONS.get(action, "其他操作")


def object_label(object_type: str, object_id: str) -> str:
    if not object_type:
        return "—"
    name = OBJECTS.get(object_type, "记录")
    return f"{name} {object_id}" if object_id else name


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "，".join(f"{DETAILS.get(str(k), str(k))} {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(_value(v) for v in value)
    text = str(value)
    return VALUES.get(text, text)


def detail_lines(details: dict[str, Any] | None) -> list[str]:
    """Each detail as “中文名：值”; keys without a Chinese name are left for the 详细 line."""
    return [f"{DETAILS[key]}：{_value(value)}" for key, value in (details or {}).items()
            if key in DETAILS and value not in ("", None, [], {})]


def technical(event: Any) -> str:
    """The technical names, for auditors who compare with exports: action, object, raw details."""
    import json

    raw = json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True, default=str)
    obj = f"{event.object_type} {event.object_id}".strip()
    return f"{event.action} · {obj} · {raw}" if obj else f"{event.action} · {raw}"
