"""Streaming answer export of 100,000 responses: peak memory against a load-everything baseline.

Each variant runs in its own process on the same SQLite file, and reports its peak
resident memory (``ru_maxrss``) and wall time; an "idle" process (app and imports
only) gives the floor that is subtracted. Variants:

* baseline: load every response object (``.all()``), build a normal openpyxl workbook, save;
* streaming .xlsx (:func:`survey_app.services.exports.write_xlsx`, write-only mode, ``yield_per``);
* streaming .csv and SPSS .zip;
* streaming .xlsx on a tenth of the rows: bounded memory means the peak hardly grows with the rows.

Run: .venv/bin/python benchmarks/export_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OPTIONS, WEIGHTS, demo_database, response_row, table  # noqa: E402

ASPECTS = ["是", "部分做到", "否", "不清楚"]


def build(url: str, rows: int) -> int:
    from sqlalchemy import insert

    from survey_app.models import Response

    _, db, session, unit, published = demo_database(url)
    questionnaire = published[0]
    q_id, v_id = questionnaire.id, questionnaire.current_version.id
    aspects = [q["key"] for q in questionnaire.current_version.content["questions"] if q["key"].startswith("aspect_")]
    identities = next(q["options"] for q in questionnaire.current_version.content["questions"] if q["key"] == "identity")
    villages = [v.id for v in unit.villages]
    session.close()
    rng = random.Random(1)
    start = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        for base in range(0, rows, 20_000):
            batch = []
            for i in range(base, min(rows, base + 20_000)):
                sat = rng.choices(OPTIONS, WEIGHTS)[0]
                comment = f"希望第{i % 97}组的路灯尽快修好，谢谢。" if i % 5 == 0 else ""
                answers = {"satisfaction": sat, "identity": rng.choice(identities), "comment": comment,
                           **{k: rng.choice(ASPECTS) for k in aspects}}
                batch.append(response_row(q_id, v_id, villages[i % len(villages)], f"{i:09d}", sat,
                                          start + dt.timedelta(seconds=i * 7), chain_key=f"bench:{i % 34}", chain_seq=i,
                                          answers=answers, comment=comment))
            conn.execute(insert(Response), batch)
    db.engine.dispose()
    return q_id


def variant(url: str, q_id: int, name: str, out: str) -> None:
    """Run one variant in this process and print its peak memory and time as JSON."""
    from survey_app import create_app
    from survey_app.db import get_db
    from survey_app.models import Questionnaire

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    session = get_db(app).session()
    questionnaire = session.get(Questionnaire, q_id)
    import openpyxl  # noqa: F401  (imported by every variant, so the idle floor includes it)
    from sqlalchemy import select

    from survey_app.models import Response
    from survey_app.services import exports

    limit = None
    if name.endswith("-tenth"):
        name, limit = name.removesuffix("-tenth"), True
    if limit:  # a tenth of the rows: mark the rest simulated for this run only (rolled back), before timing
        from sqlalchemy import update

        session.execute(update(Response).where(Response.questionnaire_id == q_id, Response.id % 10 != 0)
                        .values(simulated=True))
    started = time.perf_counter()
    if name == "baseline":
        from openpyxl import Workbook

        cols = exports.columns(session, questionnaire)
        villages, numbers = exports._lookups(session, questionnaire)
        responses = session.scalars(select(Response).where(Response.questionnaire_id == q_id)).all()
        book = Workbook()
        sheet = book.active
        sheet.append(exports.header(cols))
        for r in responses:
            sheet.append([r.receipt, exports._local(r.submitted_at), villages.get(r.village_id, ""), r.channel.label,
                          numbers.get(r.version_id, ""), r.form_no,
                          *((r.satisfaction if c.kind == "likert" else r.comment if c.kind == "text"
                             else r.answers.get(c.key, "")) for c in cols), "否", "", "", ""])
        book.save(out)
    elif name != "idle":
        exports.write(session, questionnaire, name, out)
        session.rollback()
    elapsed = time.perf_counter() - started
    size = os.path.getsize(out) if os.path.exists(out) else 0
    print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "seconds": elapsed,
                      "bytes": size}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--questionnaire", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        variant(args.url, args.questionnaire, args.variant, args.out)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        load = time.perf_counter()
        q_id = build(url, args.rows)
        load = time.perf_counter() - load
        results = {}
        for name, suffix in (("idle", "none"), ("baseline", "xlsx"), ("xlsx", "xlsx"), ("csv", "csv"),
                             ("spss", "zip"), ("xlsx-tenth", "xlsx")):
            out = f"{folder}/{name}.{suffix}"
            proc = subprocess.run([sys.executable, __file__, "--variant", name, "--url", url, "--questionnaire",
                                   str(q_id), "--out", out], capture_output=True, text=True, check=True)
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    floor = results["idle"]["peak_kb"]
    base = results["baseline"]["peak_kb"] - floor
    labels = {"baseline": "baseline: load all rows, normal workbook (.xlsx)", "xlsx": "streaming .xlsx (write-only)",
              "csv": "streaming .csv", "spss": "streaming SPSS .zip", "xlsx-tenth": f"streaming .xlsx, {args.rows // 10:,} rows"}
    print("# export benchmark\n")
    print(f"{args.rows:,} responses of one questionnaire (34 villages, aspects, identity, a comment on every fifth), "
          f"SQLite; each variant in its own process; loading the rows took {load:.0f} s. Peak memory is the process's "
          f"peak resident set minus that of an idle process with the same imports ({floor / 1024:.0f} MB).\n")
    rows = []
    for name, label in labels.items():
        r = results[name]
        extra = max(0, r["peak_kb"] - floor)
        rows.append([label, f"{r['peak_kb'] / 1024:.0f} MB", f"{extra / 1024:.1f} MB", f"{extra / base:.3f}",
                     f"{r['seconds']:.1f} s", f"{r['bytes'] / 1e6:.1f} MB"])
    print(table(["variant", "peak resident memory", "above idle", "ratio to baseline (above idle)", "time", "file size"],
                rows))
    print("\nTimes are wall-clock on a shared 2-core machine and only indicative; the claim is the memory.")


if __name__ == "__main__":
    main()
