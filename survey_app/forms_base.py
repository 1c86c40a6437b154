"""The base of every staff form: one text filter for control characters.

Text with control characters (NUL and the rest, except tab and newline) is refused
once, here, for every field of every form: the field keeps what was typed minus those
characters and shows a Chinese message, so nothing reaches the database that
PostgreSQL, openpyxl or Word would reject. Forms of new pages derive from
:class:`BaseForm` instead of ``FlaskForm``.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

from survey_app.services.cellsafe import clean_text, has_control

CONTROL_MESSAGE = "含有无法保存的控制字符（不可见的特殊字符），已为您删除，请检查后重新提交。"


def control_message(what: str) -> str:
    """The Chinese message for text named ``what`` that held control characters."""
    return f"{what}{CONTROL_MESSAGE}"


class BaseForm(FlaskForm):
    """``FlaskForm`` that refuses control characters in any text field."""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and has_control(field.data):
                field.data = clean_text(field.data)
                field.errors = [*field.errors, control_message("此项")]
                ok = False
        return ok


def controls_in(**texts: str | None) -> str | None:
    """For views reading ``request.form`` directly: the message for the first text
    (keyword = its Chinese name) holding control characters, or None."""
    for what, text in texts.items():
        if text and has_control(text):
            return control_message(what)
    return None
