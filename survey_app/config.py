"""Configuration: built-in defaults, then ``SURVEY_*`` environment variables.

Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
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
        "TRUSTED_PROXIES": _count(env, "SURVEY_TRUSTED_PROXIES", 0, 0),
        #: app servers sharing the database (README "Deploying for a county")
        "SERVERS": _count(env, "SURVEY_SERVERS", 1, 1),
    }
    config.update(overrides)
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"] or "memory://")
    # staff cookies only over HTTPS once the public address is HTTPS (behind the TLS proxy)
    config.setdefault("SESSION_COOKIE_SECURE", str(config.get("PUBLIC_URL") or "").startswith("https://"))
    check_servers(config, env)
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
