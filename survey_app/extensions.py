"""Extension objects, created unbound and bound in the app factory."""

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"


def client_address() -> str:
    return request.remote_addr or "unknown"


#: limits for respondent pages; storage is Redis when SURVEY_REDIS_URL is set, memory otherwise
limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=False)
