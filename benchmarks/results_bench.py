"""Results of 1,000,000 stored responses for one indicator over 34 villages, on SQLite and PostgreSQL.

The results service (``survey_app.services.results.compute``) aggregates in SQL
(GROUP BY village, channel, answer, version, China-time day, read from the covering
index ``ix_responses_figures``; excluded and superseded rows subtracted; an exclusion
count) and runs the statistics on the counts. Baseline, in the same run and on the
same rows: a plain ``SELECT village_id, satisfaction, count(*) ... GROUP BY`` (which
the planner also answers from that index), and the same forced to read the table.
Timed in turns; ratios are medians of the per-round ratios.

Run: .venv/bin/python benchmarks/results_bench.py [--rows 1000000] [--no-vacuum --postgresql-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    OPTIONS,
    WEIGHTS,
    demo_database,
    interleaved_runs,
    median_ratio,
    on_both_databases,
    pg_schema_url,
    response_row,
    table,
)
from survey_app.models import Questionnaire, Response  # noqa: E402
from survey_app.services.results import compute  # noqa: E402


def run(url: str, rows: int, *, vacuum: bool = True) -> dict[str, float]:
    _, db, session, unit, published = demo_database(url)
    q_id, v_id = published[0].id, published[0].current_version.id
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
                response_row(q_id, v_id, villages[(base + i) % 34], f"{base + i:09d}", a,
                             start_day + dt.timedelta(seconds=(base + i) * 2), chain_key="bench", chain_seq=base + i + 1)
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
        """The same GROUP BY reading the table itself, not an index (what the baseline did before the
        covering index existed)."""
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
    runs = interleaved_runs({"baseline": baseline, "table_scan": table_scan, "service": service}, repeat=7)
    out = {"load": load, **{name: statistics.median(times) for name, times in runs.items()},
           "ratio": median_ratio(runs, "service", "baseline"), "to_table": median_ratio(runs, "service", "table_scan")}
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
    if args.postgresql_only:
        with pg_schema_url() as url:
            name = "PostgreSQL (ANALYZE only, not vacuumed)" if args.no_vacuum else "PostgreSQL"
            results = {name: run(url, args.rows, vacuum=not args.no_vacuum)}
    else:
        results = on_both_databases(lambda url: run(url, args.rows, vacuum=not args.no_vacuum))
    print("# results benchmark\n")
    print(f"{args.rows:,} stored responses for one indicator over 34 villages (plus the demo's other rows).\n")
    print(table(["database", "baseline: plain `SELECT … count(*) … GROUP BY`", "same, forced to read the table",
                 "results service (all figures)", "ratio to baseline", "ratio to table read", "bulk load of the rows"],
                [[name, f"{r['baseline'] * 1e3:.0f} ms", f"{r['table_scan'] * 1e3:.0f} ms", f"{r['service'] * 1e3:.0f} ms",
                  f"{r['ratio']:.2f}", f"{r['to_table']:.2f}", f"{r['load']:.0f} s"] for name, r in results.items()]))


if __name__ == "__main__":
    main()
