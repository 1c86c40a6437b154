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
        #: proxies in front that set X-Forwarded-For/-Proto (0: none; the client address is the peer)
        "PROXY_HOPS": int(env.get("SURVEY_PROXY_HOPS", "0") or 0),
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
    # a Redis outage must never take the survey down: limits fail open to per-process memory
    # (Flask-Limiter logs a warning and goes back to Redis when it answers again)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = env.get("SURVEY_SECRET_KEY") or _load_or_create_secret(instance)
    return config
