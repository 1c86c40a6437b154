"""App-wide error pages in Chinese.

Respondent URLs get the respondent layout (inline style, no staff navigation, no link
to the staff login); staff URLs the staff layout. A database outage anywhere gives a
503 page that keeps what was typed: the posted fields come back as hidden inputs of a
"retry" form posting to the same URL (a submitted form's token included, so a retry
stores at most one response). Rollbacks after a failure are best effort: a second
database error while cleaning up is logged, never shown as a server's English page.
"""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

MESSAGES = {
    400: ("请求无效", "提交的内容不完整或格式不对，请返回重试。"),
    403: ("没有权限", "您的账号没有权限进行此操作。如需权限，请联系管理员。"),
    404: ("页面不存在", "您要找的页面不存在，可能链接有误或内容已被删除。"),
    405: ("请求方式不正确", "该页面不接受这种请求方式。"),
    413: ("文件太大", "上传的文件超过 20 MB，请检查文件后重试。"),
    414: ("网址太长", "网址太长，无法处理。请检查链接是否完整、正确，或重新扫描二维码。"),
    429: ("操作太频繁", "提交太频繁，请休息一两分钟后再试。按返回键可回到刚才的页面，答案通常仍在。"),
    500: ("服务器出错", "服务器处理请求时出错，您的操作没有保存。请稍后重试，或联系管理员。"),
    503: ("服务暂时不可用", "数据库暂时连接不上，您的操作没有保存。请稍等片刻后按“重试”。"),
}
LOGIN_THROTTLED = "登录失败次数太多，请过几分钟再试。如忘记密码，请联系管理员重置。"
RESPONDENT_503 = "服务器暂时繁忙，您的答案没有提交成功，但已保留在本页。请稍等片刻后按“重试”。"
RESPONDENT_503_OPEN = "服务器暂时繁忙，请稍等片刻后按“重试”，或稍后重新扫码。"
#: fields never written back into a page (any field whose name contains one of these)
SECRET_FIELDS = ("password",)


def respondent_request() -> bool:
    return request.blueprint == "respond"


def _retry_fields() -> list[tuple[str, str]]:
    if request.method != "POST":
        return []
    return [(k, v) for k, v in request.form.items(multi=True)
            if not any(secret in k for secret in SECRET_FIELDS)]


def _render(code: int, detail: str | None = None, *, retry: bool = False):  # type: ignore[no-untyped-def]
    title, message = MESSAGES.get(code, MESSAGES[500])
    message = detail or message
    fields = _retry_fields() if retry else []
    if respondent_request():
        from survey_app.respond.views import _page

        if code == 503:
            message = detail or (RESPONDENT_503 if request.method == "POST" else RESPONDENT_503_OPEN)
        return _page("respond/error.html", status=code, code=code, title=title, message=message,
                     retry=retry, fields=fields)
    context = {"code": code, "title": title, "message": message, "retry": retry, "fields": fields,
               "files_lost": retry and bool(request.files)}
    try:
        return render_template("errors/error.html", **context), code
    except (OperationalError, InterfaceError):  # the layout asked the database who is logged in
        safe_rollback()
        g._login_user = AnonymousUserMixin()
        return render_template("errors/error.html", **context), code


def safe_rollback() -> None:
    """Roll the request's session back, logging (not raising) a failure of the rollback itself."""
    session = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already gone; nothing left to undo
        current_app.logger.warning("rollback after an error failed", exc_info=True)


def database_unavailable(error: Exception):  # type: ignore[no-untyped-def]
    """A database outage or dropped connection: Chinese 503 with a retry that keeps the input."""
    current_app.logger.error("database unavailable: %s", error)
    safe_rollback()
    if "_login_user" not in g:  # the staff layout must not ask the database who is logged in
        g._login_user = AnonymousUserMixin()
    return _render(503, retry=True)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return _render(400, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重新提交。")

    for code in (400, 403, 404, 405, 413, 414):
        app.register_error_handler(code, lambda e, code=code: _render(code))

    @app.errorhandler(429)
    def _too_many(error: Exception):  # type: ignore[no-untyped-def]
        return _render(429, LOGIN_THROTTLED if request.blueprint == "auth" else None)

    for exc_class in (OperationalError, InterfaceError):
        app.register_error_handler(exc_class, database_unavailable)

    @app.errorhandler(DBAPIError)
    def _dbapi(error: DBAPIError):  # type: ignore[no-untyped-def]
        if error.connection_invalidated:
            return database_unavailable(error)
        current_app.logger.exception("database error")
        safe_rollback()
        return _render(500)

    @app.errorhandler(500)
    def _server_error(error: Exception):  # type: ignore[no-untyped-def]
        safe_rollback()
        return _render(500)
