"""Two phones submitting the same card at the same moment store exactly one response.

These tests need real commits from parallel connections, so they use a database
of their own (a fresh SQLite file, or a fresh PostgreSQL schema) instead of the
rolled-back test transaction.
"""

import re
import threading

import pytest
from sqlalchemy import func, select

from survey_app import create_app
from survey_app.db import get_db
from survey_app.migrate import upgrade
from survey_app.models import Link, LinkKind, Response
from tests.conftest import fresh_database, load_demo


@pytest.fixture(params=["sqlite", "postgresql"])
def live_app(request, tmp_path, pg_base_url):
    if request.param == "postgresql" and not pg_base_url:
        pytest.skip("TEST_DATABASE_URL not set: the PostgreSQL race test runs in CI")
    with fresh_database(request.param, tmp_path, pg_base_url, "race") as url:
        yield from _live_app(url, tmp_path)


def _live_app(url, tmp_path):
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "race", "RATELIMIT_ENABLED": False,
                      "UPLOAD_FOLDER": str(tmp_path)})
    upgrade(app)
    session = get_db(app).session()
    load_demo(session)
    session.close()
    yield app
    get_db(app).engine.dispose()


def _token(client, link_token):
    html = client.get(f"/R/{link_token}").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _race(app, link_token, tokens):
    barrier = threading.Barrier(len(tokens))
    results = [None] * len(tokens)

    def worker(i, token):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/R/{link_token}/submit", data={"form_token": token, "satisfaction": "满意",
                                                         "identity": "其他"})
        results[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_same_card_two_phones_at_once(live_app):
    session = get_db(live_app).session()
    cards = session.scalars(select(Link).where(Link.kind == LinkKind.CARD).order_by(Link.id).limit(8)).all()
    session.commit()  # hold no lock while the phones race (SQLite takes the write lock at BEGIN)
    for card in cards:
        client = live_app.test_client()
        tokens = [_token(client, card.token), _token(client, card.token)]
        results = _race(live_app, card.token, tokens)
        codes = sorted(code for code, _ in results)
        assert codes == [200, 410], results
        assert any("此二维码已使用" in body for _, body in results)
    stored = session.scalar(select(func.count(Response.id)).where(Response.card_id.in_([c.id for c in cards])))
    assert stored == len(cards)
    session.close()


def test_same_form_submitted_twice_at_once(live_app):
    session = get_db(live_app).session()
    poster = session.scalar(select(Link).where(Link.kind == LinkKind.POSTER, Link.village_id.is_not(None)))
    session.commit()
    client = live_app.test_client()
    token = _token(client, poster.token)
    results = _race(live_app, poster.token, [token, token, token])
    receipts = {re.search(r'class="receipt">([^<]+)<', body).group(1) for code, body in results if code == 200}
    assert [code for code, _ in results] == [200, 200, 200] and len(receipts) == 1
    assert session.scalar(select(func.count(Response.id))) == 1
    session.close()


def test_a_long_read_does_not_delay_a_submit(live_app):
    """A slow page reading the database must not hold the write lock: a respondent's submit goes through
    while the read transaction is still open (SQLite took the write lock for every transaction)."""
    from survey_app.db import get_session

    session = get_db(live_app).session()
    poster = session.scalar(select(Link).where(Link.kind == LinkKind.POSTER, Link.village_id.is_not(None)))
    session.commit()
    session.close()
    token = _token(live_app.test_client(), poster.token)
    done = {}

    def submit():
        response = live_app.test_client().post(f"/R/{poster.token}/submit", data={
            "form_token": token, "satisfaction": "满意", "identity": "其他"})
        done["code"] = response.status_code

    with live_app.test_request_context("/results", method="GET"):
        reader = get_session()
        assert reader.scalar(select(func.count(Response.id))) == 0  # the read transaction is open
        thread = threading.Thread(target=submit)
        thread.start()
        thread.join(10)
        finished_during_read = done.get("code")
        reader.rollback()
    thread.join(40)
    assert finished_during_read == 200


def test_a_dropped_connection_on_the_one_statement_path_falls_back(live_app, pg_base_url, caplog):
    """The respondent's one-statement write uses a pool without a ping: a connection the server has
    dropped (restart, pg_terminate_backend) fails the statement, and the full path stores the answer."""
    from sqlalchemy import create_engine, text

    writer = get_db(live_app).writer
    if writer is None:
        pytest.skip("SQLite has no one-statement pool")
    with writer.connect() as connection:  # the pooled connection the next answer will get
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = create_engine(pg_base_url)
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()
    session = get_db(live_app).session()
    poster = session.scalar(select(Link).where(Link.kind == LinkKind.POSTER, Link.village_id.is_not(None)))
    session.commit()
    client = live_app.test_client()
    token = _token(client, poster.token)
    response = client.post(f"/R/{poster.token}/submit", data={"form_token": token, "satisfaction": "满意",
                                                              "identity": "其他"})
    assert response.status_code == 200 and re.search(r'class="receipt">([^<]+)<', response.get_data(as_text=True))
    assert "database error on the fast path" in caplog.text  # the one statement did fail
    assert session.scalar(select(func.count(Response.id))) == 1
    session.close()
