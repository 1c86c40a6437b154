"""In-app help: a glossary of the figures in plain Chinese, and downloadable templates."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, render_template
from flask import Response as FlaskResponse

from survey_app.auth.decorators import ALL_ROLES, role_required
from survey_app.services.cellsafe import safe_cell

bp = Blueprint("help", __name__, url_prefix="/help")

#: (anchor, term, explanation): linked from every figure with ``#anchor``
GLOSSARY = [
    ("rate", "满意率",
     "回答“非常满意”或“满意”的人数，除以有效答卷数。例如 150 份有效答卷中 146 份满意，满意率就是 97.3%。"),
    ("dont-know", "不了解",
     "选“不了解”的答卷照样保存、照样计数，但不算进满意率的分母：不了解情况的人既不算满意，也不算不满意。"),
    ("n", "有效答卷（n）",
     "除去“不了解”、被工作人员排除的答卷和演示用的模拟答卷之后，参与计算满意率的答卷份数。"),
    ("ci", "置信区间",
     "只问了一部分人时，算出的满意率会有误差。95% 置信区间是“真实满意率大概率落在其中”的范围；问的人越多，区间越窄。"),
    ("lower-bound", "单侧下限",
     "判断“满意率是否达到 95%”时看的数：按最不利的情况估计，真实满意率至少有多少。单侧下限达到目标，才能说达标有统计支持。"),
    ("finite", "有限总体",
     "知道一共有多少人（例如全镇 197 名村干部）时，问到的人占总数越多，误差越小；全部问到时没有抽样误差（全面调查）。"),
    ("census", "全面调查",
     "总体中每个人都答了问卷：满意率就是实际的比例，没有抽样误差，直接与目标比较。"),
    ("strata", "分层",
     "各村人数不同、各村问到的比例也不同时，按各村人数加权计算全镇满意率，避免问得多的村左右结果。"),
    ("inconclusive", "尚无定论",
     "现有答卷还不足以判断是否达标：乐观估计达标、悲观估计不达标。页面会给出大约还需要多少份答卷；这是如实的结论，不是系统出错。"),
    ("supported", "达标（有统计支持）",
     "连单侧下限都达到了目标：即使按不利的情况估计，满意率也达标。"),
    ("contradicted", "未达标",
     "连乐观的上限都低于目标：即使按有利的情况估计，满意率也达不到目标。"),
    ("wilson", "Wilson 区间",
     "一种计算置信区间的常用方法，在答卷少或满意率接近 100% 时也可靠。"),
    ("weighted", "加权得分",
     "把“非常满意”到“非常不满意”分别记 100、80、60、40、20 分，求平均分。"),
    ("excluded", "排除",
     "工作人员认为某份答卷不应计入（例如重复填写），写明理由后排除；原答卷保留，可撤销，审计人员看得到。"),
    ("correction", "更正",
     "纸质问卷录入错误时，不修改原记录，而是新建一条记录取代它并写明理由；结果只用最新版本，审计人员能看到全部版本。"),
    ("simulated", "模拟数据",
     "演示用的虚构答卷，单独显示，不进入任何正式结果、写回或导出。"),
]


@bp.route("/glossary")
@role_required(*ALL_ROLES)
def glossary():  # type: ignore[no-untyped-def]
    """名词解释."""
    return render_template("help/glossary.html", glossary=GLOSSARY)


def village_template() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "村庄名单"
    for row in (["村名", "村民人数", "村干部人数", "编码"], ["张二庄村", 1260, 7, ""], ["李家营村", 830, 5, ""]):
        sheet.append([safe_cell(v) for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 18
    notes = book.create_sheet("填写说明")
    for line in ("每行一个村，第一行是标题，不要改动。", "村民人数、村干部人数填整数；不知道的留空。",
                 "编码可留空，系统自动编号。", "填好后全选复制，粘贴到“村庄 → 粘贴名单”里（全部正确才会导入）。",
                 "示例中的两个村请删除或改为本镇的村。"):
        notes.append([safe_cell(line)])
    notes.column_dimensions["A"].width = 70
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.route("/templates/villages.xlsx")
@role_required(*ALL_ROLES)
def village_list_template():  # type: ignore[no-untyped-def]
    """The village-list template (.xlsx)."""
    return FlaskResponse(village_template(),
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         headers={"Content-Disposition": "attachment; filename=villages.xlsx; "
                                                         f"filename*=UTF-8''{quote('村庄名单模板.xlsx')}"})
