"""Column and key synonyms, and how a header cell or a column's contents map to a meaning."""

from __future__ import annotations

import functools
import re
import unicodedata

from survey_app.importer.cells import clean, key, key_and_suffixes

#: roles staff can give a column in the preview / ``--map``
ROLE_LABELS = {
    "level1": "一级指标",
    "level2": "二级指标",
    "name": "三级指标（指标名称）",
    "target": "指标值",
    "op": "比较符（≥ ＝ ≤）",
    "unit": "度量单位",
    "direction": "指标方向（正向/反向）",
    "value_type": "指标值类型（定量/定性）",
    "points": "分值/权重",
    "description": "指标说明",
    "basis": "指标值确定依据",
    "project": "项目名称",
    "code": "项目编码",
    "unit_col": "预算单位",
    "budget": "预算数",
    "goal": "年度目标",
    "ignore": "忽略这一列",
}

# indicator-grid columns (first match wins; compared after key() and bracket suffixes removed)
COLUMNS: dict[str, tuple[str, ...]] = {
    "level1": ("一级指标", "一级绩效指标", "评价指标", "一级指标名称"),
    "level2": ("二级指标", "二级绩效指标", "评价内容", "二级指标名称"),
    "name": ("三级指标", "三级指标名称", "三级绩效指标", "指标名称", "指标内容", "绩效指标名称", "指标"),
    "target": (
        "年度指标值", "指标值", "目标值", "指标值及单位", "当年预期实现值", "目标值标准", "年度目标值",
        "预期目标值", "绩效指标值", "预期值", "年度预期值", "计划值", "年度绩效指标值",
    ),
    "long_target": ("中长期指标值", "实施期指标值", "长期指标值", "中期指标值", "实施期目标值", "中长期目标值", "长期目标值"),
    "actual": ("实际完成值", "实际值", "全年实际值", "完成值", "实际完成情况", "全年实际完成值"),
    "op": ("比较符", "运算符号", "计算符号", "符号", "比较方式"),
    "ambiguous": ("指标性质", "指标方向", "性质", "方向"),
    "direction": ("指标方向性",),
    "unit": ("度量单位", "计量单位", "单位"),
    "value_type": ("指标值类型", "值类型", "指标类型"),
    "points": ("分值", "权重", "指标权重", "权重%"),
    "score": ("得分",),
    "description": ("绩效指标描述", "指标描述", "指标解释", "指标说明", "绩效标准", "指标内涵"),
    "note": ("备注", "评(扣)分标准", "评扣分标准", "评分标准"),
    "basis": ("指标值确定依据", "确定依据", "指标值设定依据", "依据"),
    "ignore": ("序号", "偏差原因分析", "偏差原因分析及改进措施", "原因分析", "改进措施", "执行率"),
    # long format: the project (and unit, code, budget) in columns
    "project": ("项目名称", "项目支出名称", "专项资金名称", "项目"),
    "code": ("项目编码", "项目代码", "项目编号"),
    "unit_col": (
        "单位名称", "预算单位", "编制单位", "填报单位", "预算部门", "主管部门", "主管预算部门", "主管部门及编码",
        "主管预算部门及编码", "实施单位", "部门名称", "预算单位名称",
    ),
    "budget": (
        "预算数", "年度资金总额", "资金总额", "项目预算金额", "年度本级预算金额", "当年预算", "项目总预算", "年初预算数",
        "全年预算数", "项目金额", "预算金额", "项目资金总额", "当年资金总额",
    ),
    "fiscal": ("财政拨款", "财政资金", "其中财政拨款", "其中财政资金", "其中当年财政拨款", "当年财政拨款", "财政拨款数", "上级资金"),
    "other": ("其他资金", "其它资金", "其中其他资金", "上年结转资金"),
    "goal": (
        "年度目标", "总体目标", "绩效目标", "本年度绩效目标", "年度绩效目标", "实施期绩效目标", "年度主要目标和成果", "项目年度目标",
    ),
    "year_col": ("年度", "预算年度"),
}
_LOOKUP: dict[str, str] = {}
for _role, _names in COLUMNS.items():
    for _name in _names:
        _LOOKUP.setdefault(key(_name).replace("(", "").replace(")", ""), _role)

_LONG_WORDS = ("中长期", "长期", "实施期", "中期")


def column_role(text: str, mapping: dict[str, str] | None = None) -> str | None:
    """The meaning of a header cell, or None when unknown."""
    k = key(text)
    if not k:
        return None
    if mapping and k in mapping:
        return mapping[k]
    return _column_role(text)


@functools.lru_cache(maxsize=65536)
def _column_role(text: str) -> str | None:
    base, suffixes = key_and_suffixes(text)
    base = base.replace("(", "").replace(")", "")
    long_term = any(w in s for s in suffixes for w in _LONG_WORDS) or any(base.startswith(w) for w in _LONG_WORDS)
    role = _LOOKUP.get(base)
    if role is None:
        stripped = re.sub(r"^(年度|当年|本年)", "", base)
        stripped = re.sub(r"(年度|当年)$", "", stripped)
        role = _LOOKUP.get(stripped)
        if role is None:
            for w in _LONG_WORDS:
                if base.startswith(w) and _LOOKUP.get(base[len(w):]) == "target":
                    return "long_target"
                if base.endswith(w) and _LOOKUP.get(base[: -len(w)]) == "target":
                    return "long_target"
        if role is None and base.startswith("指标值") and not long_term:
            role = "target"  # 指标值(≥ ≤ =), 指标值（含单位） ...
    if role == "target" and long_term:
        return "long_target"
    return role


# -- contents --------------------------------------------------------------------

OP_WORDS = {
    "≥": "≥", ">=": "≥", "大于等于": "≥", "不低于": "≥", "不少于": "≥", "至少": "≥", "以上": "≥",
    "≤": "≤", "<=": "≤", "小于等于": "≤", "不高于": "≤", "不超过": "≤", "以下": "≤",
    "=": "=", "＝": "=", "等于": "=", ">": ">", "大于": ">", "高于": ">", "<": "<", "小于": "<", "低于": "<",
    "定性": "", "定量": "",
}
DIRECTION_WORDS = {"正向": "≥", "正向指标": "≥", "反向": "≤", "反向指标": "≤", "中性": "", "中性指标": ""}


def contents_role(values: list[str]) -> str | None:
    """What a column holds, judged by its contents: op, direction or value_type."""
    texts = [unicodedata.normalize("NFKC", clean(v)) for v in values if clean(v)]
    if not texts:
        return None
    ops = sum(1 for t in texts if t in OP_WORDS and t not in ("定性", "定量"))
    kinds = sum(1 for t in texts if t in ("定性", "定量"))
    directions = sum(1 for t in texts if t in DIRECTION_WORDS)
    if directions >= 0.6 * len(texts):
        return "direction"
    if ops and (ops + kinds) >= 0.6 * len(texts):
        return "op"
    if kinds >= 0.6 * len(texts):
        return "value_type"
    return None


def op_symbol(text: str) -> str:
    return OP_WORDS.get(unicodedata.normalize("NFKC", clean(text)), clean(text))


# -- project keys (block format) ---------------------------------------------------

PROJECT_KEYS = {
    "code": ("项目编码", "项目代码", "项目编号"),
    "name": ("项目名称", "项目支出名称", "专项资金名称"),
    "department": ("部门(单位)名称", "部门名称", "部门单位名称"),
    "budget": (
        "预算数", "年度资金总额", "资金总额", "当年资金总额", "项目资金总额", "预算金额", "项目预算金额", "年度本级预算金额",
        "当年预算", "项目总预算", "年初预算数", "项目金额", "年度金额", "年度预算", "部门预算", "预算总额", "年度预算数",
    ),
    "fiscal": (
        "其中财政资金", "财政资金", "其中当年财政拨款", "当年财政拨款", "财政拨款", "其中财政拨款", "财政拨款数",
        "其中财政拨款数", "上级资金", "其中上级资金",
    ),
    "other": ("其他资金", "其它资金", "其中其他资金", "上年结转资金", "其中上年结转资金"),
    "money_label": ("项目资金", "项目资金万元", "项目资金元", "资金情况", "年度资金", "资金来源"),
    "fund_header": ("预算规模及资金用途", "资金用途", "项目资金用途"),
    "plan": ("资金支出计划(%)", "资金支出计划"),
    "goal": (
        "绩效目标", "年度绩效目标", "年度目标", "项目年度目标", "总体目标", "年度总体目标", "本年度绩效目标",
        "实施期绩效目标", "年度主要目标和成果", "部门整体绩效目标", "年度主要任务",
    ),
    "unit": ("单位名称", "预算单位", "实施单位", "项目执行单位", "编制单位", "填报单位", "预算部门", "主管部门",
             "主管预算部门", "主管部门及编码", "主管预算部门及编码", "预算单位名称"),
    "year": ("预算年度", "年度"),
}
ALL_KEYS = {}
for _name, _keys in PROJECT_KEYS.items():
    for _k in _keys:
        ALL_KEYS.setdefault(key(_k).replace("(", "").replace(")", ""), _name)
#: words that label columns of a key row rather than being values (self-evaluation forms)
HEADER_WORDS = {key(w) for w in (
    "分值", "执行率", "得分", "全年执行数", "执行数", "全年预算数", "年初预算数", "预期目标", "实际完成情况",
    "备注", "权重", "金额", "万元", "元",
)}


@functools.lru_cache(maxsize=65536)
def key_of(text: str) -> tuple[str | None, tuple[str, ...]]:
    """The project key a label names (with its bracket suffixes, e.g. 万元), or None."""
    base, suffixes = key_and_suffixes(text)
    base = base.replace("(", "").replace(")", "")
    name = ALL_KEYS.get(base)
    if name is None and base.startswith("其中"):
        name = ALL_KEYS.get(base[2:])
    return name, suffixes


FOOTER_RE = re.compile(
    r"^(总分|合计得分|评价结论|存在问题|改进措施|签字|填表人|审核人|单位负责人|负责人|联系电话|填报日期|填表日期|日期)"
)
NOTE_RE = re.compile(r"^(填表说明|说明|注|备注)[:：]?\s*")
SUBTOTAL_RE = re.compile(r"^(合计|小计|总计|总合计|汇总)$")
