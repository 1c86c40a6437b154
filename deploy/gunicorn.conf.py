"""gunicorn settings for one survey-app server behind nginx: ``gunicorn -c deploy/gunicorn.conf.py``.

Every value can be overridden from the environment file (deploy/survey-app.env.example).
"""

import multiprocessing
import os
import sys

wsgi_app = "survey_app:create_app()"
#: nginx reaches the app here; a private address when nginx runs on another machine
bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
# threads wait on PostgreSQL, so a few per process; processes for the CPU work
workers = int(os.environ.get("SURVEY_WORKERS", str(min(2 * multiprocessing.cpu_count() + 1, 9))))
threads = int(os.environ.get("SURVEY_THREADS", "4"))
worker_class = "gthread"
# an import of a large workbook is the slowest request; nginx's proxy_read_timeout is 60 s
timeout = 60
graceful_timeout = 30
# longer than nginx's upstream keepalive, so nginx closes idle connections first
keepalive = 75
# recycle processes now and then (bounded memory over weeks of collection)
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("SURVEY_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("SURVEY_LOG_LEVEL", "info")
# nginx on this machine sets X-Forwarded-*; the app reads them through SURVEY_TRUSTED_PROXIES
forwarded_allow_ips = os.environ.get("SURVEY_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "survey-app"


def on_starting(server):  # type: ignore[no-untyped-def]
    """Refuse to start with a clear message when the deployment settings are wrong (e.g. no shared key)."""
    from survey_app.config import ConfigError, load_config

    instance = os.environ.get("SURVEY_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    try:
        load_config(instance)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
