"""Results of 1,000,000 stored responses for one indicator over 34 villages, on SQLite and PostgreSQL.

The results service (``survey_app.services.results.compute``) aggregates in SQL
(GROUP BY village, channel, answer; an exclusion count; the versions; a daily
trend) and runs the statistics on the counts. Baseline, in the same run and on
the same rows: a plain ``SELECT village_id, satisfaction, count(*) ... GROUP BY``.

Run: .venv/bin/python benchmarks/results_bench.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OPTIONS, WEIGHTS, demo_database, median_seconds, on_both_databases, response_row, table  # noqa: E402
from survey_app.models import Questionnaire, Response  # noqa: E402
from survey_app.services.results import compute  # noqa: E402


def run(url: str, rows: int) -> dict[str, float]:
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
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE responses"))  # fresh statistics, as autovacuum would after a load
    load = time.perf_counter() - load_start
    baseline_sql = text("SELECT village_id, satisfaction, count(*) FROM responses WHERE questionnaire_id = :q "
                        "GROUP BY village_id, satisfaction")

    def baseline() -> None:
        with db.engine.connect() as conn:
            conn.execute(baseline_sql, {"q": q_id}).all()

    def service() -> None:
        s = db.session()
        result = compute(s, s.get(Questionnaire, q_id))
        assert result.total == rows
        s.close()

    baseline()
    service()
    out = {"load": load, "baseline": median_seconds(baseline), "service": median_seconds(service)}
    db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    results = on_both_databases(lambda url: run(url, args.rows))
    print("# results benchmark\n")
    print(f"{args.rows:,} stored responses for one indicator over 34 villages (plus the demo's other rows).\n")
    print(table(["database", "baseline: plain `SELECT … count(*) … GROUP BY`", "results service (all figures)", "ratio",
                 "bulk load of the rows"],
                [[name, f"{r['baseline'] * 1e3:.0f} ms", f"{r['service'] * 1e3:.0f} ms",
                  f"{r['service'] / r['baseline']:.2f}", f"{r['load']:.0f} s"] for name, r in results.items()]))


if __name__ == "__main__":
    main()
