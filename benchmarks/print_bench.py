"""Posters and 50 cards for each of 34 villages: issuing, rendering the print sheets, the ZIP.

Baseline in the same run: segno alone making the same 1,734 QR codes as SVG.
Run: .venv/bin/python benchmarks/print_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segno  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks.common import PASSWORD, SEED, bench_app, table  # noqa: E402
from survey_app.db import get_db  # noqa: E402
from survey_app.models import Unit  # noqa: E402
from survey_app.services.accounts import create_user  # noqa: E402
from survey_app.services.demo import ensure_demo_villages  # noqa: E402
from survey_app.services.distribution import ensure_posters, issue_cards, link_url, qr_payload  # noqa: E402
from survey_app.services.importing import import_file  # noqa: E402
from survey_app.services.questionnaires import ensure_questionnaire, publish  # noqa: E402


def main() -> None:
    folder = tempfile.mkdtemp()
    app = bench_app(f"sqlite:///{folder}/b.sqlite3", WTF_CSRF_ENABLED=False, PUBLIC_URL="http://127.0.0.1:5000")
    session = get_db(app).session()
    import_file(session, SEED.read_bytes(), SEED.name, actor="bench", year=2024)
    unit = session.scalar(select(Unit))
    ensure_demo_villages(session, unit)
    indicator = next(i for p in unit.projects for i in p.indicators if i.is_satisfaction)
    questionnaire, _ = ensure_questionnaire(session, indicator, actor="bench")
    publish(session, questionnaire, actor="bench")
    create_user(session, "staff", PASSWORD, "staff", actor="bench", all_units=True)
    session.commit()
    start = time.perf_counter()
    ensure_posters(session, questionnaire, list(unit.villages), actor="bench")
    for village in unit.villages:
        issue_cards(session, questionnaire, village, 50, actor="bench")
    session.commit()
    issue = time.perf_counter() - start
    urls = [link_url("http://127.0.0.1:5000", link) for link in questionnaire.links]
    questionnaire_id = questionnaire.id
    session.close()  # hold no SQLite write lock while the app serves the requests below
    start = time.perf_counter()
    for url in urls:
        segno.make(qr_payload(url), error="m").svg_inline(scale=4)
    baseline = time.perf_counter() - start
    client = app.test_client()
    client.post("/auth/login", data={"username": "staff", "password": PASSWORD})
    start = time.perf_counter()
    posters = client.get(f"/questionnaires/{questionnaire_id}/print/posters")
    cards = client.get(f"/questionnaires/{questionnaire_id}/print/cards")
    render = time.perf_counter() - start
    start = time.perf_counter()
    bundle = client.get(f"/questionnaires/{questionnaire_id}/bundle.zip")
    zipped = time.perf_counter() - start
    assert cards.data.count(b"<svg") == 34 * 50 and posters.data.count(b"<svg") == 35
    print("# print benchmark\n")
    print(f"Posters for 34 villages (+1 township-wide) and 50 cards each: {len(urls)} QR codes.\n")
    print(table(["step", "time", "ratio to baseline"], [
        [f"baseline: segno alone, {len(urls)} QR codes as SVG", f"{baseline:.2f} s", "1.0"],
        ["issue 35 posters and 1,700 cards (tokens, rows, audit)", f"{issue:.2f} s", f"{issue / baseline:.2f}"],
        [f"render the A4 poster and card pages ({len(posters.data) // 1024} KB + {len(cards.data) // 1024} KB)",
         f"{render:.2f} s", f"{render / baseline:.2f}"],
        [f"one-click ZIP of everything ({len(bundle.data) // 1024} KB)", f"{zipped:.2f} s", f"{zipped / baseline:.2f}"],
    ]))

if __name__ == "__main__":
    main()
