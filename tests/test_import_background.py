"""Large uploads are read by a background worker; the page says 正在读取 and refreshes until the preview
is ready; the state is in the database, so any server can show it and confirm it. Small files stay synchronous."""

import io
import re

import pytest
from sqlalchemy import func, select

from survey_app.models import ImportPreview, Project
from tests.conftest import SEED


def _upload(client, data, name, **extra):
    return client.post("/import", data={"file": (io.BytesIO(data), name), **extra}, content_type="multipart/form-data")


def _join(app):
    for worker in app.extensions.get("import_workers", []):
        worker.join(timeout=120)
        assert not worker.is_alive()


@pytest.fixture
def servers(two_servers):
    """Two servers on one committed database; every upload over 1 KB is read in the background."""
    return two_servers(IMPORT_BACKGROUND_BYTES=1024)


def test_large_upload_is_read_in_background_and_confirmed_on_another_server(servers):
    (one, _), (first, second), session = servers
    data = SEED.read_bytes()
    assert len(data) > 1024
    response = _upload(first, data, "seed.txt", year="2024")
    assert response.status_code == 302
    preview_id = int(re.search(r"/import/preview/(\d+)$", response.headers["Location"]).group(1))
    _join(one)
    row = session.get(ImportPreview, preview_id)
    session.refresh(row)
    assert row.status == "ready" and row.error is None and row.parsed is not None
    session.rollback()  # release SQLite's lock for the servers
    html = second.get(f"/import/preview/{preview_id}").get_data(as_text=True)  # the other server shows it
    assert "确认导入" in html and "正在读取" not in html
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', html).group(1)
    response = second.post("/import/confirm", data={"digest": digest, "preview": preview_id, "filename": "seed.txt",
                                                    "year": "2024"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/projects")
    assert session.scalar(select(func.count(Project.id))) == 4
    assert session.scalar(select(func.count(ImportPreview.id))) == 0


def test_reading_page_refreshes_and_confirm_waits(servers):
    (one, _), (first, second), session = servers
    response = _upload(first, SEED.read_bytes(), "seed.txt", year="2024")
    preview_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _join(one)
    row = session.get(ImportPreview, preview_id)
    row.status, row.parsed = "reading", None  # as while the worker is still at it
    session.commit()
    response = second.get(f"/import/preview/{preview_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 202
    assert "正在读取，请稍候" in html and '<meta http-equiv="refresh"' in html and "<script>" not in html
    response = second.post("/import/confirm", data={"digest": row.sha256, "preview": preview_id,
                                                    "filename": "seed.txt", "year": "2024"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/import/preview/{preview_id}")
    assert session.scalar(select(func.count(Project.id))) == 0


def test_background_failure_is_stored_and_shown_in_chinese(servers):
    (one, _), (first, _), session = servers
    response = _upload(first, b"PK\x03\x04" + b"\x00" * 4096, "broken.xlsx")
    preview_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _join(one)
    row = session.get(ImportPreview, preview_id)
    session.refresh(row)
    assert row.status == "failed" and "broken.xlsx" in row.error and row.parsed is None
    response = first.get(f"/import/preview/{preview_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "文件没有导入" in html and "broken.xlsx" in html
    assert session.scalar(select(func.count(Project.id))) == 0


def test_small_upload_stays_synchronous(app, client, auth, session):
    auth.login("staff")
    response = _upload(client, SEED.read_bytes(), "seed.txt", year="2024")
    assert response.status_code == 200 and "确认导入" in response.get_data(as_text=True)
    assert not app.extensions.get("import_workers")
    assert session.scalar(select(ImportPreview.status)) == "ready"


def test_stored_parse_altered_in_the_database_is_refused_not_unpickled(servers):
    import pickle

    (one, _), (first, second), session = servers
    response = _upload(first, SEED.read_bytes(), "seed.txt", year="2024")
    preview_id = int(re.search(r"/import/preview/(\d+)$", response.headers["Location"]).group(1))
    _join(one)
    row = session.get(ImportPreview, preview_id)
    session.refresh(row)
    # someone with write access to the database swaps in a pickle of their own (pickle runs code on load)
    row.parsed = bytes(32) + pickle.dumps({"not": "a table"})
    session.commit()
    html = second.get(f"/import/preview/{preview_id}", follow_redirects=True).get_data(as_text=True)
    assert "预览数据校验未通过" in html and "确认导入" not in html
