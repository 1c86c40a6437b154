"""App-wide error pages in Chinese; the 500 handler rolls back first."""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError

MESSAGES = {
    400: ("请求无效", "提交的内容不完整或格式不对，请返回重试。"),
    403: ("没有权限", "您的账号没有权限进行此操作。如需权限，请联系管理员。"),
    404: ("页面不存在", "您要找的页面不存在，可能链接有误或内容已被删除。"),
    405: ("请求方式不正确", "该页面不接受这种请求方式。"),
    413: ("文件太大", "上传的文件超过 20 MB，请检查文件后重试。"),
    429: ("操作太频繁", "提交太频繁，请休息一两分钟后再试。按返回键可回到刚才的页面，答案通常仍在。"),
    500: ("服务器出错", "服务器处理请求时出错，您的操作没有保存。请稍后重试，或联系管理员。"),
}


def _render(code: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return _render(400, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重新提交。")

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, lambda e, code=code: _render(code))

    @app.errorhandler(500)
    def _server_error(error: Exception):  # type: ignore[no-untyped-def]
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        return _render(500)
