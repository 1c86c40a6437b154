"""The county overview at scale: 40 units × 4 satisfaction indicators × 2,000 responses (320,000 rows).

Times an admin's ``GET /county`` (every unit: status, verdict, rate, response rate, quality flags)
against, in the same run, ``GET /results`` of a deployment holding one unit with the same
4 × 2,000 responses (what a township's staff open today). Also prints where the overview's time
goes (figures, flags, the rest). Villages get populations, so the villagers' indicators take the
stratified design with its more-needed search (the costliest figure).

Run: .venv/bin/python benchmarks/overview_bench.py  (prints Markdown; PostgreSQL at BENCH_DATABASE_URL,
in a schema of its own that is dropped afterwards; skipped when BENCH_DATABASE_URL is not set)
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import OPTIONS, SEED, WEIGHTS  # noqa: E402  (same answers as the results benchmarks)
from benchmarks.common import median_seconds as _median  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.db import get_db  # noqa: E402
from survey_app.migrate import upgrade  # noqa: E402
from survey_app.models import Response, Unit  # noqa: E402
from survey_app.services.accounts import create_user  # noqa: E402
from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires  # noqa: E402
from survey_app.services.importing import import_file  # noqa: E402

UNITS, PER_INDICATOR = 40, 2_000
PASSWORD = "correct horse battery"


def _load(url: str, units: int):  # type: ignore[no-untyped-def]
    """A deployment with ``units`` townships (the seed table under other codes), answers inserted in bulk."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    upgrade(app)
    db = get_db(app)
    session = db.session()
    rng = random.Random(3)
    seed = SEED.read_text(encoding="utf-8")
    targets = []
    for n in range(units):
        code = f"{930001 + n}"
        import_file(session, seed.replace("929001", code).replace("张二庄镇", f"第{n + 1}镇").encode("utf-8"),
                    f"{code}.txt", actor="bench", year=2024)
        unit = session.scalar(select(Unit).where(Unit.code == code))
        ensure_demo_villages(session, unit)
        for village in unit.villages:  # uneven villages: the stratified design applies
            village.population = rng.randint(400, 2500)
        published = publish_demo_questionnaires(session, unit)
        targets += [(q.id, q.current_version.id, [v.id for v in unit.villages]) for q, _ in published]
    create_user(session, "admin", PASSWORD, "admin", actor="bench")
    create_user(session, "staff", PASSWORD, "staff", actor="bench", all_units=True)
    session.commit()
    session.close()
    start_day = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        for n, (q_id, v_id, villages) in enumerate(targets):
            answers = rng.choices(OPTIONS, WEIGHTS, k=PER_INDICATOR)
            conn.execute(insert(Response), [
                {"questionnaire_id": q_id, "version_id": v_id, "village_id": villages[(i * 7 + i // 50) % len(villages)],
                 "channel": "poster", "submission_key": f"b{n}-{i}", "receipt": f"B{n:03d}{i:07d}",
                 "satisfaction": a, "answers": {}, "comment": "", "simulated": False, "network_hash": "",
                 "device_hash": "", "entered_by": "", "form_no": "", "chain_key": f"bench{n}",
                 "chain_seq": i + 1, "prev_hash": "0" * 64, "row_hash": "0" * 64,  # not a real chain: figures only
                 "submitted_at": start_day + dt.timedelta(seconds=i * 60)}
                for i, a in enumerate(answers)])
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return app, db


def _get(client, path: str):  # type: ignore[no-untyped-def]
    def get() -> None:
        response = client.get(path)
        assert response.status_code == 200, response.status_code
    return get


def _login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    return client


def _parts(app, db) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Where the overview's time goes: all figures (one aggregation), all flag counts, the whole service."""
    from survey_app.models import Questionnaire, User
    from survey_app.services.flags import flag_counts
    from survey_app.services.overview import overview
    from survey_app.services.results import compute_many

    with app.app_context():
        session = db.session()
        questionnaires = list(session.scalars(select(Questionnaire).order_by(Questionnaire.id)))
        admin = session.scalar(select(User).where(User.username == "admin"))
        out = {"figures": _median(lambda: compute_many(session, questionnaires), 3),
               "flags": _median(lambda: flag_counts(session, [q.id for q in questionnaires]), 3),
               "service": _median(lambda: overview(session, admin), 3)}
        session.close()
    return out


def run(url_county: str, url_one: str) -> dict[str, float]:
    app, db = _load(url_one, 1)
    one = _get(_login(app, "staff"), "/results")
    one()
    result = {"one": _median(one)}
    db.engine.dispose()
    app, db = _load(url_county, UNITS)
    county = _get(_login(app, "admin"), "/county")
    start = time.perf_counter()
    county()
    result["first"] = time.perf_counter() - start
    result["county"] = _median(county, 3)
    result.update(_parts(app, db))
    db.engine.dispose()
    return result


def _pg(schema: str) -> str:
    return f"{os.environ['BENCH_DATABASE_URL']}?options=-csearch_path%3D{schema}"


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = run(f"sqlite:///{folder}/county.sqlite3", f"sqlite:///{folder}/one.sqlite3")
    if os.environ.get("BENCH_DATABASE_URL"):
        schemas = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        admin = create_engine(os.environ["BENCH_DATABASE_URL"])
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            results["PostgreSQL"] = run(_pg(schemas[0]), _pg(schemas[1]))
        finally:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"## County overview: {UNITS} units × 4 indicators × {PER_INDICATOR:,} responses "
          f"({UNITS * 4 * PER_INDICATOR:,} rows)\n")
    print("| database | one unit's `GET /results` (4 indicators, 8,000 rows) | `GET /county` (160 indicators) | ratio | "
          "per indicator, vs `/results` | overview service | of which: figures | flags | first request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        ratio = r["county"] / r["one"]
        print(f"| {name} | {r['one'] * 1e3:.0f} ms | {r['county'] * 1e3:.0f} ms | {ratio:.1f} | {ratio / UNITS:.2f} | "
              f"{r['service'] * 1e3:.0f} ms | {r['figures'] * 1e3:.0f} ms | {r['flags'] * 1e3:.0f} ms | {r['first'] * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
