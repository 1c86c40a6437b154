"""The results pages at scale: 10,000 responses per indicator, four indicators, 34 villages with populations.

Times a logged-in auditor's ``GET /results`` (every indicator) and one indicator's results page
(``GET /questionnaires/<id>/results``) through the Flask test client, against a baseline measured in
the same run on the same rows: a plain ``SELECT village_id, satisfaction, count(*) ... GROUP BY``
over all 40,000 responses. Villages get populations, so the villagers' indicators take the
stratified design with its more-needed search (the costliest figure).

Run: .venv/bin/python benchmarks/results_page_bench.py  (prints Markdown)
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results_bench import OPTIONS, PG, SEED, WEIGHTS, _interleaved  # noqa: E402  (same setup, same data)
from survey_app import create_app  # noqa: E402
from survey_app.db import get_db  # noqa: E402
from survey_app.migrate import upgrade  # noqa: E402
from survey_app.models import Response, Unit  # noqa: E402
from survey_app.services.accounts import create_user  # noqa: E402
from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires  # noqa: E402
from survey_app.services.importing import import_file  # noqa: E402

PER_INDICATOR = 10_000


def prepare(url: str):  # type: ignore[no-untyped-def]
    """A migrated database with the seed, 34 villages with populations and 10,000 responses for each of the
    four published indicators; returns (app, database, logged-in auditor's test client, [(questionnaire, version)])."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    upgrade(app)
    db = get_db(app)
    session = db.session()
    import_file(session, SEED.read_bytes(), SEED.name, actor="bench", year=2024)
    unit = session.scalar(select(Unit))
    ensure_demo_villages(session, unit)
    rng = random.Random(3)
    for village in unit.villages:  # uneven villages: the stratified design applies
        village.population = rng.randint(400, 2500)
    published = publish_demo_questionnaires(session, unit)
    create_user(session, "auditor", "correct horse battery", "auditor", actor="bench")
    session.commit()
    targets = [(q.id, q.current_version.id) for q, _ in published]
    villages = [v.id for v in unit.villages]
    session.close()
    start_day = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        for n, (q_id, v_id) in enumerate(targets):
            answers = rng.choices(OPTIONS, WEIGHTS, k=PER_INDICATOR)
            conn.execute(insert(Response), [
                {"questionnaire_id": q_id, "version_id": v_id, "village_id": villages[(i * 7 + i // 50) % 34],
                 "channel": "poster", "submission_key": f"b{n}-{i}", "receipt": f"B{n}{i:08d}",
                 "satisfaction": a, "answers": {}, "comment": "", "simulated": False, "network_hash": "",
                 "device_hash": "", "entered_by": "", "form_no": "", "chain_key": f"bench{n}",
                 "chain_seq": i + 1, "prev_hash": "0" * 64, "row_hash": "0" * 64,  # not a real chain: figures only
                 "submitted_at": start_day + dt.timedelta(seconds=i * 60)}
                for i, a in enumerate(answers)])
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE responses"))
    client = app.test_client()
    client.post("/auth/login", data={"username": "auditor", "password": "correct horse battery"})
    return app, db, client, targets


def run(url: str) -> dict[str, float]:
    app, db, client, targets = prepare(url)
    baseline_sql = text("SELECT questionnaire_id, village_id, satisfaction, count(*) FROM responses "
                        "GROUP BY questionnaire_id, village_id, satisfaction")

    def baseline() -> None:
        with db.engine.connect() as conn:
            conn.execute(baseline_sql).all()

    def page(path: str):
        def get() -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
        return get

    baseline()
    page("/results")()
    out = _interleaved({"baseline": baseline, "all": page("/results"),
                        "one": page(f"/questionnaires/{targets[0][0]}/results")})
    db.engine.dispose()
    return out


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = run(f"sqlite:///{folder}/bench.sqlite3")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        results["PostgreSQL"] = run(f"{PG}?options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("## Results pages: 10,000 responses per indicator, 4 indicators, 34 villages with populations\n")
    print("| database | baseline: plain `GROUP BY` of the 40,000 rows | `GET /results` (4 indicators) | ratio | "
          "one indicator's results page | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['baseline'] * 1e3:.0f} ms | {r['all'] * 1e3:.0f} ms | {r['all_ratio']:.1f} | "
              f"{r['one'] * 1e3:.0f} ms | {r['one_ratio']:.1f} |")


if __name__ == "__main__":
    main()
