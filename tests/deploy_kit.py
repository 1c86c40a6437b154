"""The deployment kit's nginx on loopback, for the deployment test and the scale-out benchmark.

A self-signed certificate, the site rendered from deploy/nginx/ by deploy/render-nginx.sh, and an
nginx.conf that keeps every file nginx writes inside one work folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def self_signed(work: Path, host: str) -> tuple[Path, Path]:
    """(certificate, key) for ``host`` in ``work``, made once."""
    cert, key = work / "cert.pem", work / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
                        "-addext", f"subjectAltName=IP:{host}", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
    return cert, key


def nginx_conf(work: Path, host: str, *, https_port: int, http_port: int, upstreams: list[int],
               error_log: Path, access_log: str = "off", connections: int = 512) -> Path:
    """Write the kit's site and an nginx.conf around it into ``work``; returns the nginx.conf path."""
    cert, key = self_signed(work, host)
    site = subprocess.run(["sh", str(ROOT / "deploy" / "render-nginx.sh")], capture_output=True, text=True, check=True,
                          env=os.environ | {
                              "SURVEY_SERVER_NAME": host, "SURVEY_PUBLIC_URL": f"https://{host}:{https_port}",
                              "SURVEY_HTTP_LISTEN": f"{host}:{http_port}", "SURVEY_HTTPS_LISTEN": f"{host}:{https_port}",
                              "SURVEY_TLS_CERT": str(cert), "SURVEY_TLS_KEY": str(key),
                              "SURVEY_STATIC_ROOT": str(ROOT / "survey_app" / "static"),
                              "SURVEY_UPSTREAMS": " ".join(f"server {host}:{p};" for p in upstreams)}).stdout
    (work / "site.conf").write_text(site)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / sub).mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(f"""
{'user root;' if os.geteuid() == 0 else ''}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {error_log} warn;
events {{ worker_connections {connections}; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {access_log};
    client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
    include {work}/site.conf;
}}
""")
    return conf


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"
