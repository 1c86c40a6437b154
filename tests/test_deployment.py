"""County deployment: behind a TLS proxy, several app servers sharing one database and one key."""

from __future__ import annotations

import contextlib
import re
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from survey_app import create_app
from survey_app.config import ConfigError
from survey_app.db import get_db
from survey_app.models import Response
from survey_app.services.collection import salted_hash
from tests.conftest import PASSWORD, load_demo
from tests.test_collection import answer, open_form, poster_of, receipt_in

PROXY = "127.0.0.1"  # nginx on the same machine as the app server


@contextlib.contextmanager
def apps(database_url, tmp_path, n=1, **config):
    """``n`` app objects (as on ``n`` servers) sharing one rolled-back database transaction."""
    settings = {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "shared-county-key",
                "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False,
                "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex, **config}
    made = [create_app(settings) for _ in range(n)]
    database = get_db(made[0])
    connection = database.engine.connect()
    outer = connection.begin()
    shared = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    for app in made:
        get_db(app).sessionmaker = shared
    try:
        yield made, shared()
    finally:
        outer.rollback()
        connection.close()
        for app in made:
            get_db(app).engine.dispose()


def _via_proxy(address: str, **headers: str) -> dict:
    """What nginx sends: the villager's address appended to X-Forwarded-For, the scheme it was reached by."""
    return {"environ_base": {"REMOTE_ADDR": PROXY},
            "headers": {"X-Forwarded-For": address, "X-Forwarded-Proto": "https", **headers}}


# -- behind a proxy ---------------------------------------------------------------------------


def test_trusted_proxy_gives_the_villagers_address_scheme_and_host(database_url, tmp_path):
    with apps(database_url, tmp_path, TRUSTED_PROXIES=1) as ([app], _):
        @app.get("/_whoami")
        def whoami():  # type: ignore[no-untyped-def]
            from flask import request, url_for

            return f"{request.remote_addr} {request.scheme} {url_for('respond.receipt', _external=True)}"

        body = app.test_client().get(
            "/_whoami", environ_base={"REMOTE_ADDR": PROXY},
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": "survey.example.gov.cn"}).get_data(as_text=True)
    assert body == "203.0.113.7 https https://survey.example.gov.cn/receipt"


def test_forwarded_headers_ignored_without_trusted_proxies(database_url, tmp_path):
    with apps(database_url, tmp_path) as ([app], _):  # SURVEY_TRUSTED_PROXIES default 0
        @app.get("/_whoami")
        def whoami():  # type: ignore[no-untyped-def]
            from flask import request

            return f"{request.remote_addr} {request.scheme}"

        body = app.test_client().get("/_whoami", **_via_proxy("203.0.113.7")).get_data(as_text=True)
    assert body == f"{PROXY} http"  # a client cannot choose its own address


def test_rate_limit_keyed_by_the_forwarded_address(database_url, tmp_path):
    with apps(database_url, tmp_path, TRUSTED_PROXIES=1, RATELIMIT_ENABLED=True,
              RESPOND_LIMIT_NETWORK="2 per minute") as ([app], session):
        _, published = load_demo(session)
        poster = poster_of(published[0][0])
        client = app.test_client()
        first = [client.get(f"/R/{poster.token}", **_via_proxy("198.51.100.1")).status_code for _ in range(3)]
        assert first == [200, 200, 429]
        # another village's network through the same proxy has its own limit
        assert client.get(f"/R/{poster.token}", **_via_proxy("198.51.100.2")).status_code == 200
        # a villager who writes an address into X-Forwarded-For himself gains nothing: nginx appends
        # the real one, and only the last (trusted) hop counts
        assert client.get(f"/R/{poster.token}", **_via_proxy("198.51.100.9, 198.51.100.1")).status_code == 429


def test_without_trusted_proxy_everybody_shares_the_proxys_limit(database_url, tmp_path):
    """The defect ProxyFix fixes: every villager seen as the proxy, one limit for the county."""
    with apps(database_url, tmp_path, RATELIMIT_ENABLED=True, RESPOND_LIMIT_NETWORK="2 per minute") as ([app], session):
        _, published = load_demo(session)
        poster = poster_of(published[0][0])
        client = app.test_client()
        statuses = [client.get(f"/R/{poster.token}", **_via_proxy(f"198.51.100.{n}")).status_code for n in (1, 2, 3)]
    assert statuses == [200, 200, 429]


def test_response_hashes_use_the_forwarded_address(database_url, tmp_path):
    with apps(database_url, tmp_path, TRUSTED_PROXIES=1) as ([app], session):
        unit, published = load_demo(session)
        poster = poster_of(published[0][0])
        client = app.test_client()
        for address in ("198.51.100.1", "198.51.100.2"):
            page = client.get(f"/R/{poster.token}", **_via_proxy(address))
            token = re.search(r'name="form_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
            done = client.post(f"/R/{poster.token}/submit", data={"form_token": token, "satisfaction": "满意",
                                                                   "identity": "其他"}, **_via_proxy(address))
            assert done.status_code == 200, done.get_data(as_text=True)
        stored = session.scalars(select(Response.network_hash).order_by(Response.id)).all()
    assert stored == [salted_hash("shared-county-key", "net", a) for a in ("198.51.100.1", "198.51.100.2")]


def test_staff_pages_send_a_same_origin_referer_and_login_works_over_forwarded_https(database_url, tmp_path):
    """Flask-WTF checks the Referer on HTTPS; staff pages must let the browser send it (same origin)."""
    with apps(database_url, tmp_path, TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=True) as ([app], session):
        from survey_app.services.accounts import create_user

        create_user(session, "clerk", PASSWORD, "staff", actor="t", all_units=True)
        session.commit()
        client = app.test_client()
        page = client.get("/auth/login", **_via_proxy("203.0.113.7"))
        assert page.headers["Referrer-Policy"] == "same-origin"
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        logged_in = client.post("/auth/login", data={"csrf_token": csrf, "username": "clerk", "password": PASSWORD},
                                **_via_proxy("203.0.113.7", Referer="https://localhost/auth/login"))
        assert logged_in.status_code == 302, logged_in.get_data(as_text=True)


# -- several servers ----------------------------------------------------------------------------


def test_staff_login_and_respondent_forms_carry_across_servers(database_url, tmp_path):
    with apps(database_url, tmp_path, n=2, WTF_CSRF_ENABLED=True) as ((one, two), session):
        from survey_app.services.accounts import create_user

        create_user(session, "staff", PASSWORD, "staff", actor="t", all_units=True)
        _, published = load_demo(session)
        a, b = one.test_client(), two.test_client()
        page = a.get("/auth/login").get_data(as_text=True)  # login form from server one ...
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        b.set_cookie("session", a.get_cookie("session").value)
        logged_in = b.post("/auth/login", data={"csrf_token": csrf, "username": "staff", "password": PASSWORD})
        assert logged_in.status_code == 302  # ... posted to server two
        a.set_cookie("session", b.get_cookie("session").value)
        assert a.get("/projects").status_code == 200  # logged in on two, continuing on one
        assert b.get("/projects").status_code == 200
        poster = poster_of(published[0][0])
        _, token = open_form(a, poster)  # form shown by server one ...
        first = answer(b, poster, token)  # ... submitted through server two
        again = answer(a, poster, token)  # and the double tap lands on server one
        assert first.status_code == again.status_code == 200
        assert receipt_in(first.get_data(as_text=True)) == receipt_in(again.get_data(as_text=True))
        assert session.scalar(select(func.count(Response.id))) == 1


def _env(monkeypatch, tmp_path, **values):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("SURVEY_SECRET_KEY", "SURVEY_SERVERS", "SURVEY_DATABASE_URL", "SURVEY_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


PG = "postgresql+psycopg://survey@10.0.0.5/survey"  # never connected to: the factory does not connect


def test_several_servers_without_secret_key_refuse_to_start(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, SURVEY_SERVERS="2", SURVEY_DATABASE_URL=PG)
    with pytest.raises(ConfigError) as exc:
        create_app()
    assert "必须设置 SURVEY_SECRET_KEY" in str(exc.value) and "SURVEY_SECRET_KEY is required" in str(exc.value)
    assert not (tmp_path / "instance" / "secret_key").exists()  # no per-server key was made


def test_several_servers_refuse_sqlite(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, SURVEY_SERVERS="3", SURVEY_SECRET_KEY="k" * 64)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        create_app()


def test_several_servers_start_with_key_from_environment(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, SURVEY_SERVERS="2", SURVEY_SECRET_KEY="k" * 64, SURVEY_DATABASE_URL=PG,
         SURVEY_TRUSTED_PROXIES="1")
    app = create_app()
    assert app.config["SECRET_KEY"] == "k" * 64 and app.config["SERVERS"] == 2 and app.config["TRUSTED_PROXIES"] == 1
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_one_server_keeps_the_generated_key(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path)
    assert create_app().config["SERVERS"] == 1
    assert (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize("name, value", [("SURVEY_TRUSTED_PROXIES", "one"), ("SURVEY_TRUSTED_PROXIES", "-1"),
                                         ("SURVEY_SERVERS", "0")])
def test_bad_counts_are_refused_with_the_setting_named(monkeypatch, tmp_path, name, value):
    _env(monkeypatch, tmp_path, **{name: value})
    with pytest.raises(ConfigError, match=f"配置错误：{name}="):
        create_app()


def test_command_line_says_why_it_refuses(monkeypatch, tmp_path):
    from survey_app.cli import main

    _env(monkeypatch, tmp_path, SURVEY_SERVERS="2", SURVEY_DATABASE_URL=PG)
    result = CliRunner().invoke(main, ["projects"])
    assert result.exit_code == 1
    assert "必须设置 SURVEY_SECRET_KEY" in result.output and "Traceback" not in result.output
