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
from survey_app.db import get_db
from survey_app.models import Project, Role, Unit, User
from survey_app.services.accounts import AccountError, create_user, update_user
from survey_app.services.importing import import_file, project_dict
from survey_app.services.tables import TableReadError

DEMO_USER = "demo"
DEMO_TABLE = Path(__file__).resolve().parent / "demo" / "seed_table.txt"


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True, add_version_option=False)
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
@with_appcontext
def import_command(
    path: Path, unit_code: str | None, unit_name: str | None, year: int | None, dry_run: bool, as_json: bool
) -> None:
    """Import a target table (.docx, .xlsx or text like the seed)."""
    if not path.exists():
        _fail(f"文件不存在：{path}")
    session = get_db().session()
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
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except TableReadError as exc:
        session.rollback()
        if as_json:
            click.echo(json.dumps({"ok": False, "error": str(exc), "file": exc.source, "location": exc.location,
                                   "reason": exc.reason}, ensure_ascii=False))
            sys.exit(1)
        _fail(str(exc))
        return
    table = plan.table
    if as_json:
        if dry_run:
            projects = [_parsed_project_dict(p, table, plan.year) for p in table.projects]
        else:
            stored = session.scalars(
                select(Project).join(Unit).where(
                    Unit.code == table.unit_code,
                    Project.year == plan.year,
                    Project.code.in_([p.code for p in table.projects]),
                ).order_by(Project.id)
            ).all()
            order = {p.code: n for n, p in enumerate(table.projects)}
            projects = [project_dict(p) for p in sorted(stored, key=lambda p: order[p.code])]
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
        click.echo(f"{table.source}：{table.unit_code} {table.unit_name}，{plan.year} 年，"
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


def _parsed_project_dict(p, table, year: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "code": p.code,
        "name": p.name,
        "unit_code": table.unit_code,
        "unit_name": table.unit_name,
        "year": year,
        "budget_wan": float(p.budget_wan),
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
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(username: str, role: str, password_stdin: bool) -> None:
    """Create a login account (password from a prompt or stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    session = get_db().session()
    try:
        create_user(session, username, password, role, actor="cli")
        session.commit()
    except AccountError as exc:
        session.rollback()
        _fail(str(exc))
    click.echo(f"已创建账号 {username}（{Role(role).label}）。")


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
    try:
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
            create_user(session, DEMO_USER, password, Role.STAFF, actor="demo")
        else:
            update_user(session, user, actor="demo", password=password, active=True)
        session.commit()
    except (TableReadError, AccountError) as exc:
        session.rollback()
        _fail(str(exc))
        return
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
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2, default=str))
    else:
        for r in results:
            v = r.verdict
            line = f"{r.indicator.project.name}·{r.indicator.name} 目标{r.indicator.target_raw}：有效 {r.valid_n} 份"
            if r.value is not None:
                line += (f"，{r.actual_value} [{r.lower * 100:.1f}%, {r.upper * 100:.1f}%]" if r.rate_method == "top2"
                         else f"，{r.actual_value}")
                line += f"，{r.design_label}"
            if v is not None:
                line += f"；{v.label}（单侧下限 {v.lower * 100:.1f}%）"
            click.echo(line)
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
        click.echo(f"已写回 {m.indicator.name}：实际完成值 {m.actual_value}，n={m.n}，结论 {m.verdict}")
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
        total = sum(seq for key, (seq, _) in heads.items() if key != "audit")
        events = heads.get("audit", (0, ""))[0]
        click.echo(f"{'通过' if not problems else '发现问题'}：{len(heads)} 条链，{total} 条答卷，"
                   f"{events} 条操作日志，链头 {root(heads)}")
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


if __name__ == "__main__":  # pragma: no cover
    main()
