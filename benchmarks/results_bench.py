"""Results of 1,000,000 stored responses for one indicator over 34 villages, on SQLite and PostgreSQL.

The results service (``survey_app.services.results.compute``) aggregates in SQL
(GROUP BY village, channel, answer, version, China-time day, read from the covering
index ``ix_responses_figures``; excluded and superseded rows subtracted; an exclusion
count) and runs the statistics on the counts. Baseline, in the same run and on the
same rows: a plain ``SELECT village_id, satisfaction, count(*) ... GROUP BY`` (which
the planner also answers from that index), and the same forced to read the table.

Run: .venv/bin/python benchmarks/results_bench.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SURVEY_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-instance-"))

from survey_app import create_app  # noqa: E402
from survey_app.db import get_db  # noqa: E402
from survey_app.migrate import upgrade  # noqa: E402
from survey_app.models import Questionnaire, Response, Unit  # noqa: E402
from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires  # noqa: E402
from survey_app.services.importing import import_file  # noqa: E402
from survey_app.services.results import compute  # noqa: E402

SEED = ROOT / "tests" / "fixtures" / "seed_000_d78a732831ec7d8e.txt"
PG = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPTIONS = ["非常满意", "满意", "一般", "不满意", "非常不满意", "不了解"]
WEIGHTS = [0.55, 0.41, 0.02, 0.01, 0.005, 0.005]


def _interleaved(fns: dict[str, Any], repeat: int = 7, *, also: tuple[tuple[str, str], ...] = ()) -> dict[str, float]:
    """Median time of each function, timed in turn (baseline, then the others) ``repeat`` times, and
    the median of each one's ratio to the baseline of the same round (``<name>_ratio``; ``<a>_to_<b>``
    for the pairs in ``also``): on a shared machine, a busy moment then slows both sides of a ratio
    instead of one."""
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
    first = runs[next(iter(fns))]
    out = {name: statistics.median(times) for name, times in runs.items()}
    out |= {f"{name}_ratio": statistics.median(t / b for t, b in zip(times, first, strict=True))
            for name, times in runs.items()}
    out |= {f"{a}_to_{b}": statistics.median(x / y for x, y in zip(runs[a], runs[b], strict=True)) for a, b in also}
    return out


def demo_database(url: str):  # type: ignore[no-untyped-def]
    """A migrated database with the seed, 34 demo villages and the published questionnaires.

    Returns (database, session, unit, first questionnaire); the caller closes the session.
    """
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    upgrade(app)
    db = get_db(app)
    session = db.session()
    import_file(session, SEED.read_bytes(), SEED.name, actor="bench", year=2024)
    unit = session.scalar(select(Unit))
    ensure_demo_villages(session, unit)
    questionnaire, _ = publish_demo_questionnaires(session, unit)[0]
    session.commit()
    return db, session, unit, questionnaire


def run(url: str, rows: int, *, vacuum: bool = True) -> dict[str, float]:
    db, session, unit, questionnaire = demo_database(url)
    q_id, v_id = questionnaire.id, questionnaire.current_version.id
    villages = [v.id for v in unit.villages]
    session.close()
    rng = random.Random(1)
    start_day = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    load_start = time.perf_counter()
    chunk = 50_000
    with db.engine.begin() as conn:
        for base in range(0, rows, chunk):
            answers = rng.choices(OPTIONS, WEIGHTS, k=min(chunk, rows - base))
            conn.execute(insert(Response), [
                {"questionnaire_id": q_id, "version_id": v_id, "village_id": villages[(base + i) % 34],
                 "channel": "poster", "submission_key": f"bench-{base + i}", "receipt": f"B{base + i:09d}",
                 "satisfaction": a, "answers": {}, "comment": "", "simulated": False, "network_hash": "",
                 "device_hash": "", "entered_by": "", "form_no": "", "chain_key": "bench",
                 "chain_seq": base + i + 1, "prev_hash": "0" * 64, "row_hash": "0" * 64,  # figures only, no real chain
                 "submitted_at": start_day + dt.timedelta(seconds=(base + i) * 2)}
                for i, a in enumerate(answers)])
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:  # fresh statistics and visibility map, as autovacuum does after a bulk load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE responses" if vacuum else "ANALYZE responses"))
    load = time.perf_counter() - load_start
    baseline_sql = text("SELECT village_id, satisfaction, count(*) FROM responses WHERE questionnaire_id = :q "
                        "GROUP BY village_id, satisfaction")
    table_scan_sql = text("SELECT village_id, satisfaction, count(*) FROM responses"
                          f"{'' if postgresql else ' NOT INDEXED'} WHERE questionnaire_id = :q "
                          "GROUP BY village_id, satisfaction")

    def baseline() -> None:
        with db.engine.connect() as conn:
            conn.execute(baseline_sql, {"q": q_id}).all()

    def table_scan() -> None:
        """The same GROUP BY reading the table itself, not an index (what the baseline did before
        the covering index existed)."""
        with db.engine.connect() as conn:
            if postgresql:
                for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
                    conn.execute(text(f"SET LOCAL {setting} = off"))
            conn.execute(table_scan_sql, {"q": q_id}).all()

    def service() -> None:
        s = db.session()
        result = compute(s, s.get(Questionnaire, q_id))
        assert result.total == rows
        s.close()

    baseline()
    service()
    out = {"load": load, **_interleaved({"baseline": baseline, "table_scan": table_scan, "service": service},
                                          also=(("service", "table_scan"),))}
    db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-vacuum", action="store_true",
                        help="PostgreSQL: ANALYZE only, before autovacuum has set the visibility map "
                             "(index-only scans then visit the table)")
    parser.add_argument("--postgresql-only", action="store_true")
    args = parser.parse_args()
    results = {}
    if not args.postgresql_only:
        with tempfile.TemporaryDirectory() as folder:
            results["SQLite"] = run(f"sqlite:///{folder}/bench.sqlite3", args.rows)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        name = "PostgreSQL (ANALYZE only, not vacuumed)" if args.no_vacuum else "PostgreSQL"
        results[name] = run(f"{PG}?options=-csearch_path%3D{schema}", args.rows, vacuum=not args.no_vacuum)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("# results benchmark\n")
    print(f"{args.rows:,} stored responses for one indicator over 34 villages (plus the demo's other rows).\n")
    print("| database | baseline: plain `SELECT … count(*) … GROUP BY` | same, forced to read the table | "
          "results service (all figures) | ratio to baseline | ratio to table read | bulk load of the rows |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['baseline'] * 1e3:.0f} ms | {r['table_scan'] * 1e3:.0f} ms | {r['service'] * 1e3:.0f} ms | "
              f"{r['service_ratio']:.2f} | {r['service_to_table_scan']:.2f} | {r['load']:.0f} s |")


if __name__ == "__main__":
    main()
