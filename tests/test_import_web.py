"""The import pages: places in the preview, column mapping, single-cell correction, saved mappings,
previews held in the database (preview on one server, confirm on another)."""

import datetime as dt
import io
import re

from sqlalchemy import func, select

from survey_app.models import ImportMapping, ImportPreview, Indicator, Project
from tests.conftest import SEED
from tests.fixtures.tables.needs_mapping import needs_mapping_xlsx


def _upload(client, data, name, **extra):
    return client.post("/import", data={"file": (io.BytesIO(data), name), **extra}, content_type="multipart/form-data")


def _ids(html):
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', html).group(1)
    preview = re.search(r'name="preview" value="(\d+)"', html).group(1)
    return digest, preview


def test_preview_shows_every_field_with_its_place(client, auth, session):
    auth.login("staff")
    html = _upload(client, SEED.read_bytes(), "seed.txt", year="2024").get_data(as_text=True)
    assert "第 46 行" in html  # 预算数 of the first project
    for label in ("预算单位", "项目编码", "年度", "预算数", "其中财政资金", "资金用途", "年度目标"):
        assert f"<dt>{label}</dt>" in html
    assert "第 126 行" in html  # the first satisfaction target's place
    assert "quantity" not in html and "None" not in html
    assert session.scalar(select(func.count(Project.id))) == 0
    assert session.scalar(select(func.count(ImportPreview.id))) == 1


def test_map_unknown_column_correct_a_cell_save_and_reuse(client, auth, session):
    auth.login("staff")
    html = _upload(client, needs_mapping_xlsx(), "mapping.xlsx").get_data(as_text=True)
    assert "计值符号" in html and "有些列没有认出来" in html and "无法识别，按原文保存" in html
    digest, preview = _ids(html)
    html = client.post("/import/preview", data={
        "digest": digest, "preview": preview, "map_header": ["计值符号"], "map_role": ["unit"],
        "fix_place": "工作表“目标”D5 单元格", "fix_text": "30个",
    }).get_data(as_text=True)
    assert "数值 ≥95%" in html and "无法识别，按原文保存" not in html and "数值 ＝30个" in html
    assert session.scalar(select(func.count(Project.id))) == 0  # still nothing written
    response = client.post("/import/confirm", data={"digest": digest, "preview": preview, "filename": "mapping.xlsx",
                                                    "save_map": "1"})
    assert response.status_code == 302
    sat = session.scalar(select(Indicator).where(Indicator.name == "群众满意度"))
    assert (sat.target_op, sat.target_value, sat.target_unit) == (">=", 95.0, "%")
    assert session.scalar(select(Indicator).where(Indicator.name == "覆盖村数")).target_value == 30.0
    saved = session.scalar(select(ImportMapping))
    assert saved.unit_code == "929006" and saved.options["mapping"] == {"计值符号": "unit"}
    assert session.scalar(select(func.count(ImportPreview.id))) == 0  # confirmed previews are gone
    # next year: the saved mapping is applied when the unit is named on upload
    html = _upload(client, needs_mapping_xlsx(), "mapping.xlsx", unit_code="929006").get_data(as_text=True)
    assert "≥95%" in html and "计值符号（已指定）" in html


def test_auditor_cannot_upload_or_adjust(client, auth):
    auth.login("auditor")
    assert _upload(client, SEED.read_bytes(), "seed.txt").status_code == 403
    assert client.post("/import/preview", data={"digest": "0" * 64}).status_code == 403
    assert client.get("/import/template.xlsx").status_code == 200


def test_blank_template_imports_as_is(client, auth, session):
    import openpyxl

    from survey_app.importer import read_table

    auth.login("staff")
    data = client.get("/import/template.xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[3]][:4] == ["预算单位", "项目名称", "项目编码（可不填）", "预算数（万元）"]
    table = read_table(data, "模板.xlsx")
    assert [(p.name, len(p.indicators)) for p in table.projects] == [("村道养护", 2)]
    assert table.projects[0].indicators[1].target_raw == "≥95%"


def test_preview_on_one_server_confirm_on_another(two_servers, tmp_path):
    """Two app instances with different instance folders and one (fresh, committed) database."""
    (one, two), (first, second), session = two_servers()
    assert one.instance_path != two.instance_path
    html = _upload(first, SEED.read_bytes(), "seed.txt", year="2024").get_data(as_text=True)
    digest, preview = _ids(html)
    response = second.post("/import/confirm", data={"digest": digest, "preview": preview, "filename": "seed.txt",
                                                    "year": "2024"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/projects")
    assert session.scalar(select(func.count(Project.id))) == 4
    assert session.scalar(select(func.count(ImportPreview.id))) == 0
    assert not any((tmp_path / name / "uploads").exists() for name in ("one", "two"))  # nothing on disk


def test_expired_previews_are_purged_on_upload_and_by_cli(client, auth, session, cli):
    auth.login("staff")
    _upload(client, SEED.read_bytes(), "seed.txt")
    old = session.scalar(select(ImportPreview))
    old.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    session.commit()
    html = client.post("/import/confirm", data={"digest": old.sha256, "preview": str(old.id), "filename": "seed.txt"},
                       follow_redirects=True).get_data(as_text=True)
    assert "预览的文件已失效" in html
    _upload(client, SEED.read_bytes(), "seed.txt")
    assert session.scalar(select(func.count(ImportPreview.id))) == 1  # the expired one was deleted
    fresh = session.scalar(select(ImportPreview))
    fresh.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    session.commit()
    result = cli("import-cleanup")
    assert result.exit_code == 0 and "1" in result.output
    assert session.scalar(select(func.count(ImportPreview.id))) == 0
