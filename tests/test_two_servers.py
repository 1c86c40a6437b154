"""The deployment kit, run for real: Debian's nginx (TLS, self-signed) in front of TWO gunicorn servers.

Both servers use deploy/gunicorn.conf.py, one PostgreSQL schema, one Redis, different ports and
instance folders; nginx uses the site rendered from deploy/nginx/ by deploy/render-nginx.sh. The
test then drives everything over HTTPS on loopback addresses only (several source addresses in
127.0.0.0/8 stand for villagers on different networks). Every loop is bounded; every process is
stopped at the end. Needs nginx, openssl, PostgreSQL (TEST_DATABASE_URL) and Redis at 127.0.0.1:6379;
skipped without them unless SURVEY_REQUIRE_DEPLOY=1 (set by .ci/run), which makes it fail instead.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD, pg_schema
from tests.deploy_kit import nginx_binary, nginx_conf, self_signed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def _requirements() -> str | None:
    if not os.environ.get("TEST_DATABASE_URL"):
        return "TEST_DATABASE_URL (PostgreSQL) not set"
    for tool in ("nginx", "openssl", "envsubst"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} not installed"
    with contextlib.suppress(OSError), socket.create_connection((HOST, 6379), timeout=1):
        return None
    return "Redis not reachable at 127.0.0.1:6379"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(150):
        if proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text(errors='replace')[-2000:]}")


class Client:
    """HTTPS through nginx (certificate checked against the self-signed one) from one source address."""

    def __init__(self, port: int, cafile: Path, source: str = HOST, *, tls: bool = True) -> None:
        self.port, self.source, self.tls = port, source, tls
        self.context = ssl.create_default_context(cafile=str(cafile)) if tls else None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        if self.tls:
            conn = http.client.HTTPSConnection(HOST, self.port, context=self.context, timeout=30,
                                               source_address=(self.source, 0))
        else:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=30, source_address=(self.source, 0))
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response, data

    def get(self, path: str, **headers):  # type: ignore[no-untyped-def]
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict, **headers):  # type: ignore[no-untyped-def]
        return self.request("POST", path, urlencode(form).encode(), headers=headers)


def _form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _receipt(html: str) -> str | None:
    match = re.search(r'class="receipt">([0-9A-Z]{4}-[0-9A-Z]{4})<', html)
    return match.group(1) if match else None


ANSWERS = {"satisfaction": "满意", "identity": "其他"}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, pg_base_url):
    missing = _requirements()
    if missing:
        if os.environ.get("SURVEY_REQUIRE_DEPLOY"):
            pytest.fail(f"deployment test cannot run: {missing}")
        pytest.skip(missing)
    work = tmp_path_factory.mktemp("deploy")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(pg_schema(pg_base_url, "survey_deploy"))
        https_port, http_port, ports = _free_port(), _free_port(), [_free_port(), _free_port()]
        prefix = f"deploytest-{uuid.uuid4().hex[:8]}"
        common = {
            "SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": uuid.uuid4().hex * 2, "SURVEY_SERVERS": "2",
            "SURVEY_TRUSTED_PROXIES": "1", "SURVEY_REDIS_URL": f"redis://{HOST}:6379/0",
            "SURVEY_RATELIMIT_KEY_PREFIX": prefix, "SURVEY_PUBLIC_URL": f"https://{HOST}:{https_port}",
            "SURVEY_RESPOND_LIMIT_NETWORK": "8 per minute", "SURVEY_WORKERS": "1", "SURVEY_THREADS": "4",
        }
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")} | common
        run = lambda *args: subprocess.run([str(BIN / "survey-app"), *args], env=base_env | {  # noqa: E731
            "SURVEY_INSTANCE_PATH": str(work / "cli")}, capture_output=True, text=True, timeout=120)
        assert run("db", "upgrade").returncode == 0
        assert run("demo").returncode == 0
        engine = create_engine(url)
        stack.callback(engine.dispose)
        with engine.connect() as conn:  # closed at once: an open read would block DROP SCHEMA at the end
            questionnaire = conn.execute(text("SELECT min(id) FROM questionnaires")).scalar()
        links = json.loads(run("links", "--questionnaire", str(questionnaire), "--json").stdout)

        cert, _ = self_signed(work, HOST)

        procs: list[subprocess.Popen] = []

        def stop_all() -> None:
            for proc in reversed(procs):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(15)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)

        stack.callback(stop_all)
        logs = []
        for n, port in enumerate(ports):
            log = work / f"server{n}.log"
            logs.append(log)
            env = base_env | {"SURVEY_BIND": f"{HOST}:{port}", "SURVEY_INSTANCE_PATH": str(work / f"instance{n}")}
            procs.append(subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                                          cwd=ROOT, env=env, stdout=stack.enter_context(log.open("w")), stderr=subprocess.STDOUT))
            _wait_port(port, procs[-1], log)

        nginx_log = work / "nginx-error.log"
        conf = nginx_conf(work, HOST, https_port=https_port, http_port=http_port, upstreams=ports, error_log=nginx_log,
                          access_log=str(work / "nginx-access.log"), connections=256)
        nginx = nginx_binary()
        check = subprocess.run([nginx, "-t", "-p", str(work), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        procs.append(subprocess.Popen([nginx, "-p", str(work), "-c", str(conf)],
                                      stdout=subprocess.DEVNULL, stderr=stack.enter_context(nginx_log.open("a"))))
        _wait_port(https_port, procs[-1], nginx_log)

        yield {"https": https_port, "http": http_port, "servers": ports, "cert": cert, "links": links, "run": run,
               "url": url, "logs": logs, "engine": engine, "redis_prefix": prefix}

        with contextlib.suppress(Exception):
            import redis

            store = redis.Redis.from_url(f"redis://{HOST}:6379/0")
            for key in list(store.scan_iter(match=f"{prefix}*", count=500))[:10000]:
                store.delete(key)
            store.close()


def _villager(d, n: int) -> Client:
    return Client(d["https"], d["cert"], f"127.0.0.{n}")


def _path(link: dict) -> str:
    return urlsplit(link["url"]).path


def _poster(d, index: int = 0) -> dict:
    return [link for link in d["links"] if link["kind"] == "poster" and link["village"]][index]


def _cards(d) -> list[dict]:
    return [link for link in d["links"] if link["kind"] == "card"]


def test_http_redirects_to_https_and_static_files_come_from_nginx(deployment):
    d = deployment
    response, _ = Client(d["http"], d["cert"], tls=False).get("/R/ABC")
    assert response.status == 301 and response.getheader("Location") == f"https://{HOST}:{d['https']}/R/ABC"
    response, body = _villager(d, 10).get("/static/style.css")
    assert response.status == 200 and response.getheader("Expires") and b"{" in body
    assert not any("/static/style.css" in log.read_text() for log in d["logs"])  # never reached the app


def test_respondent_page_is_gzipped_and_a_poster_answer_is_stored_once(deployment):
    d = deployment
    phone, path = _villager(d, 11), _path(_poster(d))
    response, body = phone.get(path, **{"Accept-Encoding": "gzip"})
    assert response.status == 200 and response.getheader("Content-Encoding") == "gzip"
    html = gzip.decompress(body).decode()
    assert len(body) < len(html) / 2 and "default-src 'none'" in response.getheader("Content-Security-Policy")
    form = {"form_token": _form_token(html), **ANSWERS}
    first, body1 = phone.post(path + "/submit", form)
    again, body2 = phone.post(path + "/submit", form)  # double submit
    assert first.status == again.status == 200
    receipt = _receipt(body1.decode())
    assert receipt and _receipt(body2.decode()) == receipt
    with d["engine"].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses WHERE receipt = :r"), {"r": receipt}).scalar() == 1


def test_card_answer_then_the_card_is_used(deployment):
    d = deployment
    phone, path = _villager(d, 12), _path(_cards(d)[0])
    _, html = phone.get(path)
    done, body = phone.post(path + "/submit", {"form_token": _form_token(html.decode()), **ANSWERS})
    assert done.status == 200 and _receipt(body.decode())
    used, body = phone.get(path)
    assert used.status == 410 and "此二维码已使用" in body.decode()


def _direct(d, server: int) -> Client:
    return Client(d["servers"][server], d["cert"], tls=False)


def test_exactly_once_across_servers(deployment):
    """The same form posted at once to both servers directly and twice through nginx; one card raced on both."""
    d = deployment
    path = _path(_poster(d, 1))
    _, html = _villager(d, 13).get(path)
    form = {"form_token": _form_token(html.decode()), **ANSWERS}
    senders = [_direct(d, 0), _direct(d, 1), _villager(d, 13), _villager(d, 13)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: c.post(path + "/submit", form), senders))
    assert [r.status for r, _ in results] == [200] * 4
    receipts = {_receipt(body.decode()) for _, body in results}
    assert len(receipts) == 1 and None not in receipts
    # one card, two phones that each opened it, submitting at the same moment to different servers
    card = _path(_cards(d)[1])
    forms = [{"form_token": _form_token(_direct(d, n).get(card)[1].decode()), **ANSWERS} for n in (0, 1)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        raced = list(pool.map(lambda n: _direct(d, n).post(card + "/submit", forms[n]), (0, 1)))
    assert sorted(r.status for r, _ in raced) == [200, 410]
    token = card.rsplit("/", 1)[-1]
    with d["engine"].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses WHERE receipt IN :r").bindparams(
            __import__("sqlalchemy").bindparam("r", expanding=True)), {"r": list(receipts)}).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM responses r JOIN links l ON l.id = r.card_id "
                                 "WHERE l.token = :t"), {"t": token}).scalar() == 1


def test_rate_limit_keyed_by_the_forwarded_address_and_shared_by_both_servers(deployment):
    d = deployment
    path = _path(_poster(d, 2))
    village = _villager(d, 21)
    statuses = [village.get(path)[0].status for _ in range(9)]  # nginx spreads these over both servers
    assert statuses == [200] * 8 + [429]
    response, body = village.get(path, **{"X-Forwarded-For": "10.9.8.7"})  # a forged address gains nothing
    assert response.status == 429 and "操作太频繁" in body.decode()
    assert _villager(d, 22).get(path)[0].status == 200  # another village's network is not affected


def test_staff_logged_in_through_one_server_continue_on_the_other(deployment):
    d = deployment
    done = subprocess.run([str(BIN / "survey-app"), "create-user", "clerk", "--role", "staff", "--all-units", "--password-stdin"],
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
                          | {"SURVEY_DATABASE_URL": d["url"], "SURVEY_SECRET_KEY": "x"})
    assert done.returncode == 0, done.stderr
    staff = _villager(d, 30)
    origin = f"https://{HOST}:{d['https']}"
    _, page = staff.get("/auth/login")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.decode()).group(1)
    # a browser sends a same-origin Referer (the staff pages allow it), which Flask-WTF requires on HTTPS
    response, _ = staff.post("/auth/login", {"csrf_token": csrf, "username": "clerk", "password": PASSWORD},
                             Referer=f"{origin}/auth/login")
    assert response.status == 302, response.status
    assert "Secure" in "".join(v for k, v in response.getheaders() if k.lower() == "set-cookie")
    for _ in range(6):  # round robin: both servers answer, neither asks for a login
        response, _ = staff.get("/projects")
        assert response.status == 200
    hits = [log.read_text().count("GET /projects") for log in d["logs"]]
    assert all(hits), hits
    for server in (0, 1):  # and straight to each server with the same cookie
        direct = _direct(d, server)
        direct.cookies = dict(staff.cookies)
        assert direct.get("/projects", **{"X-Forwarded-Proto": "https"})[0].status == 200


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
              f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
              for k, (name, data) in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)


def test_upload_preview_on_one_server_confirm_on_the_other(deployment):
    """The uploaded file and its preview live in the database: server 1 confirms what server 0 read."""
    d = deployment
    done = subprocess.run([str(BIN / "survey-app"), "create-user", "importer", "--role", "staff", "--password-stdin"],
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
                          | {"SURVEY_DATABASE_URL": d["url"], "SURVEY_SECRET_KEY": "x"})
    assert done.returncode == 0, done.stderr
    first, second = _direct(d, 0), _direct(d, 1)
    _, page = first.get("/auth/login")
    response, _ = first.post("/auth/login", {"csrf_token": _hidden(page.decode(), "csrf_token"),
                                             "username": "importer", "password": PASSWORD})
    assert response.status == 302
    second.cookies = first.cookies  # the same browser, sent to the other server by the balancer

    from tests.conftest import SEED

    table = SEED.read_text(encoding="utf-8").replace("929001", "929077").replace("张二庄镇", "王五庄镇").encode()
    _, page = first.get("/import")
    body, content_type = _multipart({"csrf_token": _hidden(page.decode(), "csrf_token"), "year": "2024"},
                                    {"file": ("table.txt", table)})
    response, preview = first.request("POST", "/import", body, {"Content-Type": content_type})
    assert response.status == 200, preview.decode()[-500:]
    html = preview.decode()
    assert "929077" in html and "确认导入" in html
    form = {name: _hidden(html, name) for name in ("csrf_token", "digest", "filename", "preview", "year")}
    response, _ = second.post("/import/confirm", form)
    assert response.status == 302 and response.getheader("Location").endswith("/projects"), response.status
    with d["engine"].connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM projects JOIN units ON units.id = projects.unit_id "
                                     "WHERE units.code = '929077'")).scalar()
        left = conn.execute(text("SELECT count(*) FROM import_previews")).scalar()
    assert projects > 0 and left == 0
    hits = [log.read_text() for log in d["logs"]]
    assert "POST /import " in hits[0] and "POST /import/confirm" in hits[1]


def test_upload_over_the_limit_is_refused_by_nginx_in_chinese(deployment):
    d = deployment
    conn = http.client.HTTPSConnection(HOST, d["https"], context=ssl.create_default_context(cafile=str(d["cert"])),
                                       timeout=30)
    conn.putrequest("POST", "/import")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(21 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 413 and "超过 20 MB" in body


def test_zz_everything_verifies_at_the_end(deployment):
    d = deployment
    done = d["run"]("verify")
    assert done.returncode == 0 and done.stdout.startswith("通过"), done.stdout + done.stderr
