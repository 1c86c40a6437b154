from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from survey_app.forms_base import BaseForm


class LoginForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=80)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])
    submit = SubmitField("登录")
