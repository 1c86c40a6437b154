"""The ``survey-app`` command line: thin click wrappers around the services."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from survey_app import create_app
from survey_app.db import get_db, transaction
from survey_app.importer import ReadOptions, TableReadError
from survey_app.importer.cells import key
from survey_app.importer.columns import ROLE_LABELS
from survey_app.models import Project, Role, Unit, User
from survey_app.services.accounts import AccountError, create_user, update_user
from survey_app.services.import_store import load_mapping, merge_options, purge_expired, save_mapping
from survey_app.services.importing import import_file, project_dict

DEMO_USER = "demo"
DEMO_TABLE = Path(__file__).resolve().parent / "demo" / "seed_table.txt"


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _create_app():  # type: ignore[no-untyped-def]
    """The app for commands; a deployment error is one clear message, not a traceback."""
    from survey_app.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        _fail_plain(str(exc))


def _fail_plain(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """满意度核验服务 survey service for satisfaction indicators."""


# -- database ---------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the configured database to the latest schema."""
    from survey_app.migrate import upgrade

    upgrade(current_app, revision)
    click.echo(f"数据库已升级到 {revision}：{_safe_url()}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's schema revision."""
    from survey_app.migrate import current_revision

    click.echo(current_revision(current_app) or "（空数据库）")


def _safe_url() -> str:
    return get_db().engine.url.render_as_string(hide_password=True)


# -- import and listing ----------------------------------------------------------


@main.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit-code", help="Unit code when the file does not name its unit.")
@click.option("--unit-name", help="Unit name when the file does not name its unit.")
@click.option("--year", type=int, help="Budget year when the file does not state it (default: this year).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--map", "maps", multiple=True, metavar="表头=角色",
              help="Give a column a meaning, e.g. --map 指标性质=op --map 备注=ignore (roles: " + ", ".join(ROLE_LABELS) + ").")
@click.option("--sheet", "sheets", multiple=True, help="Read only this sheet (repeatable).")
@click.option("--table", "tables", multiple=True, type=int, help="Read only the N-th table of the file (repeatable).")
@click.option("--fix", "fixes", multiple=True, metavar="位置=文字",
              help="Correct one cell, e.g. --fix '工作表“项目1”E7 单元格=≥95%%'.")
@click.option("--use-saved-map", is_flag=True, help="Apply the column mapping saved for the unit (see --save-map).")
@click.option("--save-map", is_flag=True, help="Save --map/--sheet/--table for the unit, to reuse next year.")
@with_appcontext
def import_command(
    path: Path, unit_code: str | None, unit_name: str | None, year: int | None, dry_run: bool, as_json: bool,
    maps: tuple[str, ...], sheets: tuple[str, ...], tables: tuple[int, ...], fixes: tuple[str, ...],
    use_saved_map: bool, save_map: bool,
) -> None:
    """Import a target table (.xlsx, .xls, .docx, .pdf, .csv or text)."""
    if not path.exists():
        _fail(f"文件不存在：{path}")
    options = ReadOptions(sheets=list(sheets), tables=list(tables))
    for item in maps:
        header, sep, role = item.rpartition("=")
        if not sep or role not in ROLE_LABELS:
            _fail(f"--map {item} 写法不对：应为“表头=角色”，角色可以是：" +
                  "、".join(f"{k}（{v}）" for k, v in ROLE_LABELS.items()))
        options.mapping[key(header)] = role
    for item in fixes:
        place, sep, text = item.partition("=")
        if not sep:
            _fail(f"--fix {item} 写法不对：应为“位置=文字”，位置照预览或错误信息里的写法")
        options.corrections[place] = text
    session = get_db().session()
    if use_saved_map and unit_code:
        saved = load_mapping(session, unit_code)
        if saved is not None:
            options = merge_options(saved, options)
    try:
        plan = import_file(
            session,
            path.read_bytes(),
            path.name,
            actor="cli",
            unit_code=unit_code,
            unit_name=unit_name,
            year=year,
            dry_run=dry_run,
            options=options,
        )
        if save_map:
            for code, _ in plan.table.units:
                save_mapping(session, code, options, actor="cli")
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except TableReadError as exc:
        session.rollback()
        if as_json:
            click.echo(json.dumps({"ok": False, "error": str(exc), "file": exc.source, "location": exc.location,
                                   "reason": exc.reason, "candidates": exc.candidates}, ensure_ascii=False))
            sys.exit(1)
        if exc.candidates:
            _fail(str(exc) + "\n可选：\n" + "\n".join(f"  {n}. {c}" for n, c in enumerate(exc.candidates, start=1))
                  + "\n（用 --sheet 工作表名 或 --table 序号 指定要导入的表，用 --map 表头=角色 指定列的含义）")
        _fail(str(exc))
        return
    table = plan.table
    if as_json:
        if dry_run:
            projects = [_parsed_project_dict(p, table, plan.year) for p in table.projects]
        else:
            stored = session.scalars(
                select(Project).join(Unit).where(
                    Project.code.in_([p.code for p in table.projects]),
                ).order_by(Project.id)
            ).all()
            order = {(p.unit_code, p.code, p.year or plan.year): n for n, p in enumerate(table.projects)}
            by_name = {(p.unit_name, p.code, p.year or plan.year): n for n, p in enumerate(table.projects)}
            picked = [
                (order.get((s.unit.code, s.code, s.year), by_name.get((s.unit.name, s.code, s.year))), s) for s in stored
            ]
            projects = [project_dict(s) for n, s in sorted((x for x in picked if x[0] is not None), key=lambda x: x[0])]
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "file": table.source,
                    "dry_run": dry_run,
                    "status": plan.status,
                    "summary": plan.summary(),
                    "unit": {"code": table.unit_code, "name": table.unit_name},
                    "year": plan.year,
                    "created": plan.created,
                    "changes": plan.changes,
                    "warnings": table.warnings,
                    "projects": projects,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        units = "、".join(f"{c} {n}" if not c.startswith("AUTO-") else n for c, n in table.units)
        click.echo(f"{table.source}：{units}，{plan.year} 年，"
                   f"{len(table.projects)} 个项目，"
                   f"{sum(len(p.indicators) for p in table.projects)} 个指标。")
        click.echo(("（试运行，未写入）" if dry_run else "") + plan.summary())
        for line in plan.created:
            click.echo(f"  新增：{line}")
        for line in plan.changes:
            click.echo(f"  改动：{line}")
        for line in table.warnings:
            click.echo(f"  提醒：{line}")
    session.close()


@main.command("import-cleanup")
@with_appcontext
def import_cleanup_command() -> None:
    """Delete upload previews that were never confirmed and have expired."""
    session = get_db().session()
    removed = purge_expired(session)
    session.commit()
    session.close()
    click.echo(f"已删除 {removed} 个过期的导入预览。")


def _parsed_project_dict(p, table, year: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "code": p.code,
        "name": p.name,
        "unit_code": p.unit_code or table.unit_code,
        "unit_name": p.unit_name or table.unit_name,
        "year": p.year or year,
        "budget_wan": None if p.budget_wan is None else float(p.budget_wan),
        "indicators": [
            {
                "position": i.position,
                "level1": i.level1,
                "level2": i.level2,
                "name": i.name,
                "description": i.description,
                "target_raw": i.target_raw,
                "target": i.target.to_dict() if i.target else None,
                "basis": i.basis,
                "is_satisfaction": i.is_satisfaction,
                "respondent_group": i.respondent_group.value if i.respondent_group else None,
                "population": i.population,
                "population_unit": i.population_unit,
            }
            for i in p.indicators
        ],
    }


@main.command("projects")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (schema in README).")
@click.option("--unit-code", help="Only this unit's projects.")
@with_appcontext
def projects_command(as_json: bool, unit_code: str | None) -> None:
    """List imported projects with their indicators."""
    session = get_db().session()
    query = select(Project).join(Unit).order_by(Project.year, Unit.code, Project.id)
    if unit_code:
        query = query.where(Unit.code == unit_code)
    rows = session.scalars(query).all()
    if as_json:
        click.echo(json.dumps([project_dict(p) for p in rows], ensure_ascii=False, indent=2))
    else:
        for p in rows:
            satisfaction = [i for i in p.indicators if i.is_satisfaction]
            click.echo(f"{p.year} {p.code} {p.name} {p.budget_wan} 万元，{len(p.indicators)} 个指标，"
                       f"满意度指标 {len(satisfaction)} 个")
    session.close()


# -- accounts --------------------------------------------------------------------


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="staff", show_default=True)
@click.option("--unit", "unit_codes", multiple=True, metavar="CODE",
              help="A unit the account works for or may read (单位编码; repeatable).")
@click.option("--all-units", is_flag=True, help="The account sees every unit, present and future.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(username: str, role: str, unit_codes: tuple[str, ...], all_units: bool,
                        password_stdin: bool) -> None:
    """Create a login account (password from a prompt or stdin).

    Staff and auditors see only the units given with --unit (or every unit with --all-units);
    admins always see every unit.
    """
    session = get_db().session()
    units = [_unit_or_fail(session, code) for code in unit_codes]
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    with transaction(AccountError, session=session, on_error=_fail):
        user = create_user(session, username, password, role, actor="cli", units=units, all_units=all_units)
    scope = "全部单位" if user.sees_every_unit else "、".join(f"{u.code} {u.name}" for u in units) or "还没有单位"
    click.echo(f"已创建账号 {username}（{Role(role).label}，可见：{scope}）。")
    if not user.sees_every_unit and not units:
        click.echo("提示：这个账号还看不到任何单位的数据；请用 --unit 单位编码 指定，或由管理员在“账号”页授权。")


def _unit_or_fail(session, code: str) -> Unit:  # type: ignore[no-untyped-def]
    """The unit with ``code``, or a clear error listing the known codes."""
    unit = session.scalar(select(Unit).where(Unit.code == code.strip()))
    if unit is None:
        known = "、".join(session.scalars(select(Unit.code).order_by(Unit.code).limit(20)))
        _fail(f"没有编码为“{code}”的单位。" + (f"已有单位编码：{known}。" if known else "还没有导入任何单位。"))
    return unit


# -- distribution ----------------------------------------------------------------------


@main.command("links")
@click.option("--questionnaire", "questionnaire_id", type=int, required=True, help="Questionnaire id.")
@click.option("--village", help="Only this village (name or code).")
@click.option("--base-url", help="Base of the printed links (default: SURVEY_PUBLIC_URL or http://127.0.0.1:5000).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def links_command(questionnaire_id: int, village: str | None, base_url: str | None, as_json: bool) -> None:
    """List the poster and card links of a questionnaire."""
    from survey_app.models import Questionnaire, Village
    from survey_app.services.distribution import links_listing

    session = get_db().session()
    questionnaire = session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        _fail(f"没有编号为 {questionnaire_id} 的问卷。")
        return
    chosen = None
    if village:
        unit_id = questionnaire.indicator.project.unit_id
        chosen = session.scalar(select(Village).where(Village.unit_id == unit_id)
                                .where((Village.name == village) | (Village.code == village)))
        if chosen is None:
            _fail(f"没有找到村“{village}”。")
            return
    base = base_url or current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    rows = links_listing(questionnaire, base, chosen)
    from survey_app.services.distribution import address_warning

    if address_warning(base):
        click.echo("注意：" + (address_warning(base) or ""), err=True)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            label = f"卡片 {row['card_no']}" if row["kind"] == "card" else "海报"
            click.echo(f"{row['village'] or '全镇'}\t{label}\t{row['url']}")
    session.close()


# -- demo ------------------------------------------------------------------------


@main.command("demo")
@click.option("--simulate", is_flag=True, help="Also add labelled simulated responses (never in real figures).")
@with_appcontext
def demo_command(simulate: bool) -> None:
    """Load the seed township's target table as demo data with a demo account."""
    session = get_db().session()
    with transaction(TableReadError, AccountError, session=session, on_error=_fail):
        plan = import_file(session, DEMO_TABLE.read_bytes(), "张二庄镇绩效目标表（演示）.txt", actor="demo")
        from survey_app.services.demo import ensure_demo_villages

        unit = session.scalar(select(Unit).where(Unit.code == plan.table.unit_code))
        assert unit is not None
        villages = ensure_demo_villages(session, unit)
        from survey_app.services.demo import publish_demo_questionnaires

        published = publish_demo_questionnaires(session, unit)
        simulated = 0
        if simulate:
            from survey_app.services.demo import simulate as add_simulated

            simulated = add_simulated(session, unit)
        password = secrets.token_urlsafe(9)
        user = session.scalar(select(User).where(User.username == DEMO_USER))
        if user is None:
            create_user(session, DEMO_USER, password, Role.STAFF, actor="demo", units=[unit])
        else:
            update_user(session, user, actor="demo", password=password, active=True,
                        units=sorted({*user.units, unit}, key=lambda u: u.code))
    click.echo(f"演示数据：{plan.summary()} 村庄 {villages} 个。问卷 {len(published)} 份已发布：")
    if simulated:
        click.echo(f"已添加模拟答卷 {simulated} 份（标记为模拟数据，不计入任何正式结果和导出）。")
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    if not current_app.config.get("PUBLIC_URL"):
        from survey_app.services.distribution import address_warning

        click.echo("注意：没有设置 SURVEY_PUBLIC_URL，下面的链接只能在本机打开。"
                   + (address_warning(base) or ""))
    for questionnaire, poster in published:
        click.echo(f"  #{questionnaire.id} {questionnaire.indicator.project.name}·{questionnaire.indicator.name}："
                   f"{base}/R/{poster.token}")
    click.echo("=" * 60)
    click.echo("演示账号（仅用于演示，每次运行都会换新密码）：")
    click.echo(f"  用户名：{DEMO_USER}")
    click.echo(f"  密码：  {password}")
    click.echo("=" * 60)


# -- results -----------------------------------------------------------------------------


@main.command("results")
@click.option("--project", "project_code", help="Only this project's indicators (项目编码).")
@click.option("--simulated", is_flag=True, help="Figures from the simulated demo responses instead of real ones.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def results_command(project_code: str | None, simulated: bool, as_json: bool) -> None:
    """Satisfaction results per indicator: counts, design, rate, interval, verdict."""
    from survey_app.services.results import compute_all

    session = get_db().session()
    results = compute_all(session, project_code=project_code, simulated=simulated)
    if as_json:
        from survey_app.services.sampling import design_keys

        click.echo(json.dumps([{**r.as_dict(), **design_keys(session, r)} for r in results], ensure_ascii=False,
                              indent=2, default=str))
    else:
        for r in results:  # the figure function's own statement, as on every page
            click.echo(f"{r.indicator.project.name}·{r.indicator.name}：{r.figure.statement}")
    session.close()


@main.command("writeback")
@click.option("--project", "project_code", required=True, help="项目编码.")
@with_appcontext
def writeback_command(project_code: str) -> None:
    """Write each satisfaction indicator's current result back onto the indicator."""
    from survey_app.services.writeback import writeback_project

    session = get_db().session()
    project = session.scalar(select(Project).where(Project.code == project_code).order_by(Project.year.desc()))
    if project is None:
        _fail(f"没有项目编码为 {project_code} 的项目。")
        return
    stored = writeback_project(session, project, actor="cli")
    session.commit()
    if not stored:
        _fail("没有可写回的结果（满意度指标还没有问卷或有效答卷）。")
    for m in stored:
        click.echo(f"已写回 {m.indicator.name}：实际完成值 {m.actual_value}，有效答卷 {m.n} 份，结论：{m.verdict_label}")
    session.close()


# -- integrity -----------------------------------------------------------------------------


@main.command("verify")
@click.option("--head", help="A published head root the database must extend.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def verify_command(head: str | None, as_json: bool) -> None:
    """Check the live database against the hash chains; report anything changed behind the app's back."""
    from survey_app.services.integrity import current_head, verify_database

    session = get_db().session()
    problems = verify_database(session, head=head)
    heads = current_head(session, include_simulated=True)
    from analysis.chain import root

    if as_json:
        click.echo(json.dumps({"ok": not problems, "root": root(heads), "problems": [vars(p) for p in problems]},
                              ensure_ascii=False, indent=2, default=str))
    else:
        real = {k: seq for k, (seq, _) in heads.items() if k != "audit" and not k.endswith(":sim")}
        simulated = {k: seq for k, (seq, _) in heads.items() if k.endswith(":sim")}
        events = heads.get("audit", (0, ""))[0]
        line = f"{'通过' if not problems else '发现问题'}：真实答卷 {sum(real.values())} 条（{len(real)} 条链）"
        if simulated:
            line += f"；演示用模拟答卷 {sum(simulated.values())} 条（{len(simulated)} 条链，不计入任何结果）"
        click.echo(f"{line}；操作日志 {events} 条；链头 {root(heads)}")
        for problem in problems:
            click.echo(f"  {problem}")
    session.close()
    if problems:
        sys.exit(1)


@main.command("head")
@click.option("--publish", is_flag=True, help="Record the current head as published (staff action).")
@click.option("--note", default="", help="Where the head was sent or printed.")
@with_appcontext
def head_command(publish: bool, note: str) -> None:
    """Show the current head of the response log (and optionally record it as published)."""
    from analysis.chain import root
    from survey_app.services.integrity import current_head, publish_head

    session = get_db().session()
    heads = current_head(session)
    if publish:
        published = publish_head(session, actor="cli", note=note)
        session.commit()
        click.echo(f"已发布链头 {published.root}（{published.responses} 条答卷）")
    else:
        answers = sum(seq for key, (seq, _) in heads.items() if key != "audit")
        click.echo(f"当前链头 {root(heads)}（{len(heads)} 条链，{answers} 条答卷）")
    session.close()


@main.command("bundle")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def bundle_command(path: Path) -> None:
    """Write the audit bundle ZIP (verify it offline: python -m analysis verify PATH)."""
    from survey_app.services.integrity import bundle

    session = get_db().session()
    path.write_bytes(bundle(session, actor="cli"))
    session.commit()
    click.echo(f"已导出审计包 {path}")
    session.close()


@main.command("export")
@click.option("--questionnaire", "questionnaire_id", type=int, required=True, help="Questionnaire id.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "spss"]), required=True,
              help="xlsx (answers + codes sheet), csv (UTF-8 with BOM) or spss (zip: numeric codes, codebook, .sps).")
@click.option("--simulated", is_flag=True, help="Export the simulated demo responses instead of real ones.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_command(questionnaire_id: int, fmt: str, simulated: bool, path: Path) -> None:
    """Export one questionnaire's answers (one row per response, Chinese headers, local time)."""
    from survey_app.models import Questionnaire
    from survey_app.services.exports import write

    session = get_db().session()
    questionnaire = session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        _fail(f"没有编号为 {questionnaire_id} 的问卷。")
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as out:
            write(session, questionnaire, fmt, out, simulated=simulated)
        partial.replace(path)  # a failed export never leaves a half-written file under PATH
    except OSError as exc:
        partial.unlink(missing_ok=True)
        _fail(f"无法写入 {path}：{exc.strerror}")
    finally:
        session.close()
    click.echo(f"已导出 {path}")


# -- backups -----------------------------------------------------------------------------------


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def backup_command(path: Path, as_json: bool) -> None:
    """Back up the whole database to PATH while the service runs (manifest in PATH.json)."""
    from dataclasses import asdict

    from survey_app.services.backup import BackupError, backup

    try:
        made = backup(get_db().engine, path)
    except BackupError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps({"ok": True, "path": str(path), **asdict(made)}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"已备份到 {path}（{made.taken_at}）：{made.responses} 条答卷，{made.audit_events} 条操作日志，"
                   f"链头 {made.root}；说明文件 {path}.json")


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore a backup into the configured (empty) database, then verify it against its chains and heads."""
    from survey_app.services.backup import BackupError, restore, state
    from survey_app.services.integrity import verify_database

    try:
        manifest = restore(get_db().engine, path)
    except BackupError as exc:
        _fail(str(exc))
        return
    session = get_db().session()
    problems = verify_database(session)
    now = state(session)
    session.close()
    click.echo(f"已恢复 {path} 到 {_safe_url()}：{now['responses']} 条答卷，{now['audit_events']} 条操作日志，"
               f"{now['published_heads']} 个已发布链头，链头 {now['root']}")
    same = manifest is None or (now["responses"], now["root"]) == (manifest.responses, manifest.root)
    if manifest is not None:
        click.echo(f"备份时（{manifest.taken_at}）：{manifest.responses} 条答卷，链头 {manifest.root}："
                   + ("一致" if same else "不一致！"))
    for problem in problems:
        click.echo(f"  {problem}")
    if problems or not same:
        _fail("恢复后的数据库核验未通过，请勿切换到它。")
    click.echo("核验通过：所有记录链完整，延续了每一个已发布的链头。")


if __name__ == "__main__":  # pragma: no cover
    main()
