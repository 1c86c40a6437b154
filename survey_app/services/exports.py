"""Answer exports per questionnaire: .xlsx, .csv and an SPSS-friendly .zip (numeric codes + codebook).

One row per response, one column per question with the question text (Chinese) as
header, answers as text, village and channel by name, China local time, receipt
code. Simulated responses only when asked for. A corrected paper form appears in
its latest version only (the 更正 columns name the row it replaced and why);
excluded responses are included and marked (columns 已排除 / 排除理由), since an
export is for checking.

Rows are read with ``yield_per`` and written as they come: the .xlsx uses openpyxl's
write-only mode and the .zip writes its members as streams, so 100,000 responses
never sit in memory at once (``benchmarks/export_bench.py``). Every value passes
through :func:`survey_app.services.cellsafe.safe_cell`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from survey_app.models import Channel, Exclusion, Questionnaire, QuestionnaireVersion, Response
from survey_app.services.answers import CHINA, superseded
from survey_app.services.cellsafe import safe_cell
from survey_app.services.questionnaires import DONT_KNOW

FORMATS = ("xlsx", "csv", "spss")
BATCH = 2000
#: numeric codes of the satisfaction scale (SPSS and the codes sheet); 9 = 不了解, declared missing
LIKERT_CODES = {"非常满意": 5, "满意": 4, "一般": 3, "不满意": 2, "非常不满意": 1, DONT_KNOW: 9}
MISSING_CODE = 9
CHANNEL_CODES = {c.value: n for n, c in enumerate(Channel, start=1)}
FIXED = ["回执码", "提交时间（北京时间）", "村", "渠道", "问卷版本", "纸质问卷编号"]
TRAILING = ["已排除", "排除理由", "更正（取代的回执码）", "更正理由"]


@dataclass
class Column:
    key: str
    kind: str
    text: str
    options: list[str]

    def codes(self) -> dict[str, int]:
        if self.kind == "likert":
            return dict(LIKERT_CODES)
        return {option: n for n, option in enumerate(self.options, start=1)}


def columns(session: Session, questionnaire: Questionnaire) -> list[Column]:
    """The questions of every version, current wording first; the village question is the 村 column."""
    versions = session.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id
                                                                  == questionnaire.id)
                               .order_by(QuestionnaireVersion.number.desc())).all()
    contents = [v.content for v in versions] or [questionnaire.draft]
    out: dict[str, Column] = {}
    for content in contents:
        for q in content.get("questions", []):
            if q["kind"] != "village" and q["key"] not in out:
                out[q["key"]] = Column(q["key"], q["kind"], q["text"], list(q.get("options") or []))
    return list(out.values())


def _local(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _rows(session: Session, questionnaire: Questionnaire, simulated: bool) -> Iterator[Any]:
    replaced = aliased(Response)
    query = (
        select(Response.receipt, Response.submitted_at, Response.village_id, Response.channel, Response.version_id,
               Response.form_no, Response.satisfaction, Response.answers, Response.comment,
               Response.correction_reason, Exclusion.reason, replaced.receipt)
        .outerjoin(Exclusion, and_(Exclusion.response_id == Response.id, Exclusion.reverted_at.is_(None)))
        .outerjoin(replaced, replaced.id == Response.supersedes_id)
        .where(Response.questionnaire_id == questionnaire.id, Response.simulated.is_(simulated), ~superseded())
        .order_by(Response.submitted_at, Response.id)
    )
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _lookups(session: Session, questionnaire: Questionnaire) -> tuple[dict[int, str], dict[int, int]]:
    villages = {v.id: v.name for v in questionnaire.indicator.project.unit.villages}
    numbers = dict(session.execute(select(QuestionnaireVersion.id, QuestionnaireVersion.number)
                                   .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)).all())
    return villages, numbers


def header(cols: list[Column]) -> list[str]:
    return [*FIXED, *(c.text for c in cols), *TRAILING]


def text_rows(session: Session, questionnaire: Questionnaire, *, simulated: bool = False) -> Iterator[list[Any]]:
    """Header, then one row per response with answers as text (every value through ``safe_cell``)."""
    cols = columns(session, questionnaire)
    villages, numbers = _lookups(session, questionnaire)
    yield [safe_cell(h) for h in header(cols)]
    for (receipt, at, village_id, channel, version_id, form_no, satisfaction, answers, comment, correction,
         exclusion, replaced) in _rows(session, questionnaire, simulated):
        cells: list[Any] = [receipt, _local(at), villages.get(village_id, "") if village_id else "",
                            Channel(channel).label, numbers.get(version_id, ""), form_no]
        for c in cols:
            if c.kind == "likert":
                cells.append(satisfaction)
            elif c.kind == "text":
                cells.append(comment)
            else:
                cells.append((answers or {}).get(c.key, ""))
        cells += ["是" if exclusion is not None else "否", exclusion or "", replaced or "", correction]
        yield [safe_cell(v) for v in cells]


def code_rows(session: Session, questionnaire: Questionnaire, *, simulated: bool = False) -> Iterator[list[Any]]:
    """Header of variable names (q1, q2, …), then one row per response in numeric codes."""
    cols = columns(session, questionnaire)
    villages, numbers = _lookups(session, questionnaire)
    village_codes = {vid: n for n, vid in enumerate(sorted(villages, key=lambda i: villages[i]), start=1)}
    coded = [c for c in cols if c.kind != "text"]
    yield ["receipt", "date", "village", "channel", "version", *(f"q{n}" for n in range(1, len(coded) + 1)),
           "excluded", "corrected"]
    code_maps = [c.codes() for c in coded]
    for (receipt, at, village_id, channel, version_id, _form, satisfaction, answers, _comment, _corr,
         exclusion, replaced) in _rows(session, questionnaire, simulated):
        values: list[Any] = [receipt, _local(at), village_codes.get(village_id, "") if village_id else "",
                             CHANNEL_CODES[Channel(channel).value], numbers.get(version_id, "")]
        for c, codes in zip(coded, code_maps, strict=True):
            answer = satisfaction if c.kind == "likert" else (answers or {}).get(c.key, "")
            values.append(codes.get(answer, "") if answer else "")
        values += [1 if exclusion is not None else 0, 1 if replaced else 0]
        yield [safe_cell(v) for v in values]


def codebook(session: Session, questionnaire: Questionnaire) -> list[list[Any]]:
    """变量, 题目, 代码, 含义: every coded variable and value (the codes sheet and the SPSS codebook)."""
    cols = [c for c in columns(session, questionnaire) if c.kind != "text"]
    villages, _ = _lookups(session, questionnaire)
    rows: list[list[Any]] = [["变量", "题目", "代码", "含义"], ["receipt", "回执码", "", ""],
                             ["date", "提交时间（北京时间）", "", ""]]
    for n, vid in enumerate(sorted(villages, key=lambda i: villages[i]), start=1):
        rows.append(["village", "村", n, villages[vid]])
    rows += [["channel", "渠道", code, Channel(value).label] for value, code in CHANNEL_CODES.items()]
    rows.append(["version", "问卷版本", "", "版本号"])
    for n, c in enumerate(cols, start=1):
        for option, code in c.codes().items():
            meaning = option + ("（缺失值，不计入满意率）" if c.kind == "likert" and code == MISSING_CODE else "")
            rows.append([f"q{n}", c.text, code, meaning])
    rows += [["excluded", "已被工作人员排除", 1, "是"], ["excluded", "已被工作人员排除", 0, "否"],
             ["corrected", "纸质问卷更正后的版本", 1, "是"], ["corrected", "纸质问卷更正后的版本", 0, "否"]]
    return [[safe_cell(v) for v in row] for row in rows]


# -- writers -------------------------------------------------------------------------------------


def csv_chunks(session: Session, questionnaire: Questionnaire, *, simulated: bool = False,
               every: int = 500) -> Iterator[bytes]:
    """The .csv as byte chunks of ``every`` rows: UTF-8 with a byte-order mark (Excel needs it for Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    for n, row in enumerate(text_rows(session, questionnaire, simulated=simulated), start=1):
        writer.writerow(row)
        if n % every == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(session: Session, questionnaire: Questionnaire, out: IO[bytes], *, simulated: bool = False) -> None:
    for chunk in csv_chunks(session, questionnaire, simulated=simulated):
        out.write(chunk)


def write_xlsx(session: Session, questionnaire: Questionnaire, out: IO[bytes] | str, *, simulated: bool = False,
               codes: bool = True) -> None:
    """答卷 sheet (text answers), optionally a 代码 sheet (codebook); write-only mode streams rows."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("答卷")
    sheet.freeze_panes = "B2"
    for row in text_rows(session, questionnaire, simulated=simulated):
        sheet.append(row)
    if codes:
        code_sheet = book.create_sheet("代码")
        for row in codebook(session, questionnaire):
            code_sheet.append(row)
    book.save(out)


def _sps(session: Session, questionnaire: Questionnaire) -> str:
    """SPSS syntax that reads data.csv and applies the variable and value labels."""
    cols = [c for c in columns(session, questionnaire) if c.kind != "text"]
    names = [f"q{n}" for n in range(1, len(cols) + 1)]
    lines = ["* 由满意度核验导出：读取 data.csv 并加上变量与取值标签.",
             "GET DATA /TYPE=TXT /FILE='data.csv' /ENCODING='UTF8' /DELIMITERS=',' /QUALIFIER='\"'",
             "  /FIRSTCASE=2 /VARIABLES=receipt A12 date A19 village F4.0 channel F1.0 version F3.0 "
             + " ".join(f"{n} F2.0" for n in names) + " excluded F1.0 corrected F1.0.",
             "VARIABLE LABELS receipt '回执码' /date '提交时间（北京时间）' /village '村' /channel '渠道' "
             "/version '问卷版本' /excluded '已被工作人员排除' /corrected '纸质问卷更正后的版本'"]
    for name, c in zip(names, cols, strict=True):
        lines.append(f" /{name} '{c.text.replace(chr(39), '’')}'")
    lines[-1] += "."
    for name, c in zip(names, cols, strict=True):
        labels = " ".join(f"{code} '{option}'" for option, code in c.codes().items())
        lines.append(f"VALUE LABELS {name} {labels}.")
        if c.kind == "likert":
            lines.append(f"MISSING VALUES {name} ({MISSING_CODE}).")
    lines.append("EXECUTE.")
    return "\n".join(lines) + "\n"


def write_spss(session: Session, questionnaire: Questionnaire, out: IO[bytes] | str, *,
               simulated: bool = False) -> None:
    """A .zip: data.csv (numeric codes), codebook.csv, survey.sps (labels for SPSS)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.csv", "w") as member:
            text = io.TextIOWrapper(member, encoding="utf-8", newline="")
            writer = csv.writer(text)
            for row in code_rows(session, questionnaire, simulated=simulated):
                writer.writerow(row)
            text.flush()
            text.detach()
        book = io.StringIO()
        csv.writer(book).writerows(codebook(session, questionnaire))
        archive.writestr("codebook.csv", "\ufeff" + book.getvalue())
        archive.writestr("survey.sps", _sps(session, questionnaire))


def write(session: Session, questionnaire: Questionnaire, fmt: str, out: IO[bytes] | str, *,
          simulated: bool = False, codes: bool = True) -> None:
    if fmt == "xlsx":
        write_xlsx(session, questionnaire, out, simulated=simulated, codes=codes)
    elif fmt == "csv":
        if isinstance(out, str):
            with open(out, "wb") as handle:
                write_csv(session, questionnaire, handle, simulated=simulated)
        else:
            write_csv(session, questionnaire, out, simulated=simulated)
    elif fmt == "spss":
        write_spss(session, questionnaire, out, simulated=simulated)
    else:
        raise ValueError(f"导出格式只能是 {'、'.join(FORMATS)}，不能是“{fmt}”。")


def filename(questionnaire: Questionnaire, fmt: str, simulated: bool = False) -> str:
    suffix = {"xlsx": "xlsx", "csv": "csv", "spss": "zip"}[fmt]
    extra = "（模拟数据）" if simulated else ""
    kind = "SPSS" if fmt == "spss" else "答卷"
    return f"{questionnaire.indicator.project.name}{questionnaire.indicator.name}{kind}{extra}.{suffix}"
