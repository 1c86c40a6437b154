"""The blank target table (.xlsx) offered to units that have no electronic table."""

from __future__ import annotations

import io

HEADER = ["预算单位", "项目名称", "项目编码（可不填）", "预算数（万元）", "年度目标", "一级指标", "二级指标", "三级指标",
          "指标性质", "指标值", "度量单位", "指标说明"]
EXAMPLES = [
    ["929001某某镇人民政府", "村道养护", "", 120, "养护村道35公里，群众出行更方便", "产出指标", "数量指标", "养护村道里程",
     "≥", 35, "公里", "全年养护的村道长度"],
    ["", "", "", "", "", "满意度指标", "服务对象满意度指标", "沿线群众满意度", "≥", 95, "%", "问卷调查沿线村民"],
]


def blank_template() -> bytes:
    """The template workbook: a 2024-style title, the standard long-format columns and an example project."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "绩效目标表"
    sheet.append(["2025年度项目支出绩效目标表（年度请按实际修改）"])
    sheet.append(["金额单位：万元"])
    sheet.append(HEADER)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in EXAMPLES:
        sheet.append(row)
    sheet.append(["填表说明：每行一个指标；同一项目的后续行可以不再填写项目名称和预算数；示例行请删除后填写本单位的内容。"])
    for column, width in zip("ABCDEFGHIJKL", (22, 16, 14, 12, 30, 12, 18, 20, 8, 8, 8, 24), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
