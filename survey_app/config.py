"""Configuration: built-in defaults, then ``SURVEY_*`` environment variables.

Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """A deployment setting is missing or wrong: the service refuses to start (message in Chinese and English)."""


def _count(env: dict[str, str] | os._Environ[str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"配置错误：{name}={raw!r} 必须是不小于 {minimum} 的整数。"
                          f" Configuration error: {name} must be an integer >= {minimum}.")
    return int(raw)


def _load_or_create_secret(instance: Path) -> str:
    """Return the secret key kept in ``instance/secret_key``, creating it once."""
    path = instance / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    key = secrets.token_hex(32)
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def configured_workers(env: Mapping[str, str], argv: list[str]) -> int:
    """How many gunicorn workers serve the app: ``-w N``/``--workers N`` or ``WEB_CONCURRENCY``."""
    args = [*argv, *shlex.split(env.get("GUNICORN_CMD_ARGS", ""))]
    for i, arg in enumerate(args):
        value = None
        if arg in ("-w", "--workers") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value and value.isdigit():
            return int(value)
    concurrency = env.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping for :func:`survey_app.create_app`."""
    instance = Path(instance_path)
    env = os.environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("SURVEY_DATABASE_URL")
        or f"sqlite:///{(instance / 'survey.sqlite3').as_posix()}",
        "REDIS_URL": env.get("SURVEY_REDIS_URL") or None,
        "RATELIMIT_ENABLED": env.get("SURVEY_RATELIMIT_ENABLED", "true").lower() in TRUE_WORDS,
        "DEMO_MODE": env.get("SURVEY_DEMO_MODE", "false").lower() in TRUE_WORDS,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        #: longer URLs get a Chinese 414 page (gunicorn's own limit, 4094 by default, must be higher)
        "MAX_URL_LENGTH": 2048,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "UPLOAD_FOLDER": str(instance / "uploads"),
        #: base of the links printed in QR codes (default: the address the staff page was opened at)
        "PUBLIC_URL": env.get("SURVEY_PUBLIC_URL") or None,
        # respondent rate limits (docs: README "Abuse limits"); a whole village behind one
        # network must still be able to answer, so the per-network limit is generous
        "RESPOND_LIMIT_DEVICE": env.get("SURVEY_RESPOND_LIMIT_DEVICE", "10 per minute;60 per hour"),
        "RESPOND_LIMIT_NETWORK": env.get("SURVEY_RESPOND_LIMIT_NETWORK", "120 per minute;3000 per hour"),
        "RESPOND_LIMIT_LINK": env.get("SURVEY_RESPOND_LIMIT_LINK", "300 per 10 minutes"),
        # several deployments (or test runs) may share one Redis: their limits must not mix
        "RATELIMIT_KEY_PREFIX": env.get("SURVEY_RATELIMIT_KEY_PREFIX", "survey"),
        #: reverse proxies in front of the app whose X-Forwarded-* headers are trusted (nginx: 1)
        #: (SURVEY_PROXY_HOPS is the same setting under its earlier name)
        "TRUSTED_PROXIES": _count(env, "SURVEY_TRUSTED_PROXIES", _count(env, "SURVEY_PROXY_HOPS", 0, 0), 0),
        #: app servers sharing the database (README "Deploying for a county")
        "SERVERS": _count(env, "SURVEY_SERVERS", 1, 1),
        # clients without the signed device cookie share one bucket per address
        "RESPOND_LIMIT_NO_COOKIE": env.get("SURVEY_RESPOND_LIMIT_NO_COOKIE", "10 per minute;60 per hour"),
        #: worker processes serving the app (gunicorn -w / WEB_CONCURRENCY): memory limits are per process
        "WORKERS": configured_workers(env, sys.argv),
        # failed logins (README "Security"): per account, and per address (an office shares one)
        "LOGIN_LIMIT_ACCOUNT": env.get("SURVEY_LOGIN_LIMIT_ACCOUNT", "5 per minute;20 per hour"),
        "LOGIN_LIMIT_ADDRESS": env.get("SURVEY_LOGIN_LIMIT_ADDRESS", "20 per minute;100 per hour"),
        # staff sessions end after this long without a request, and this long after the login
        "SESSION_IDLE_SECONDS": int(env.get("SURVEY_SESSION_IDLE_SECONDS", 2 * 3600)),
        "SESSION_ABSOLUTE_SECONDS": int(env.get("SURVEY_SESSION_ABSOLUTE_SECONDS", 12 * 3600)),
    }
    config.update(overrides)
    # Secure cookies and HSTS: on by default when the public address is https
    https = str(config.get("PUBLIC_URL") or "").startswith("https://")
    secure_env = env.get("SURVEY_SECURE_COOKIES")
    secure = https if secure_env is None else secure_env.lower() in TRUE_WORDS
    config.setdefault("SESSION_COOKIE_SECURE", secure)
    config.setdefault("HSTS", config["SESSION_COOKIE_SECURE"])
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"] or "memory://")
    check_servers(config, env)
    # a Redis outage must never take the survey down: limits fail open to per-process memory
    # (Flask-Limiter logs a warning and goes back to Redis when it answers again)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = env.get("SURVEY_SECRET_KEY") or _load_or_create_secret(instance)
    return config


def check_servers(config: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> None:
    """Several app servers need one secret key from the environment and one shared database.

    A key generated into one server's ``instance/`` would differ on the next server: staff
    logged in on one would be logged out on the other, and a form shown by one would be
    refused by the other as forged. A SQLite file lives on one server's disk.
    """
    servers = int(config["SERVERS"])
    if servers <= 1:
        return
    if not (config.get("SECRET_KEY") or env.get("SURVEY_SECRET_KEY")):
        raise ConfigError(
            f"配置错误：SURVEY_SERVERS={servers}（多台应用服务器）时必须设置 SURVEY_SECRET_KEY，"
            "且每台服务器相同（例如用 python3 -c 'import secrets; print(secrets.token_hex(32))' 生成一次）。"
            "否则工作人员在一台服务器登录后到另一台会被要求重新登录，村民的答卷会被当作伪造而拒收。"
            f" Configuration error: SURVEY_SECRET_KEY is required (the same on every server) when SURVEY_SERVERS={servers}."
        )
    if str(config["DATABASE_URL"]).startswith("sqlite"):
        raise ConfigError(
            f"配置错误：SURVEY_SERVERS={servers}（多台应用服务器）时数据库必须是各服务器共用的 PostgreSQL，"
            "不能是某一台服务器磁盘上的 SQLite 文件；请设置 SURVEY_DATABASE_URL=postgresql+psycopg://…。"
            " Configuration error: several app servers need one shared PostgreSQL database, not SQLite."
        )
