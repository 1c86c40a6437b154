"""Submissions per second through the real app against a bare insert-only app.

Both run under gunicorn (same worker count) against the same PostgreSQL, in the
same run, driven by the same load generator (Python threads with keep-alive
HTTP connections, loopback only, bounded by a request count):

* real: ``POST /R/<token>/submit`` of the survey app (signed form token check,
  validation against the published version, exactly-once insert with UNIQUE
  submission key, salted hashes, receipt page rendered);
* baseline: a Flask + SQLAlchemy app whose only route inserts one row.

Form tokens are minted with the app's secret before the timed run, so the timed
part is the submissions alone. Rate limits are switched off
(SURVEY_RATELIMIT_ENABLED=false) as for any load test.

Run: .venv/bin/python benchmarks/collect_bench.py [--requests 3000] [--concurrency 16]
Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-" + secrets.token_hex(8)


def _schema_url(schema: str) -> str:
    return f"{BASE_URL}?options=-csearch_path%3D{schema}"


def _wait(port: int) -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz-not-there")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _gunicorn(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen:
    cmd = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4",
           "--log-level", "warning", app]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    _wait(port)
    return proc


def _load(port: int, bodies: list[tuple[str, str]], concurrency: int) -> tuple[float, list[float], int]:
    """POST each (path, body) once; returns (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    index = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if index[0] >= len(bodies):
                    break
                path, body = bodies[index[0]]
                index[0] += 1
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors[0]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 100 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _schema_url(schema)
    env = {"SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": SECRET, "SURVEY_RATELIMIT_ENABLED": "false",
           "SURVEY_INSTANCE_PATH": f"/tmp/{schema}", "BENCH_DATABASE_URL": url}
    procs = []
    try:
        subprocess.run([str(BIN / "survey-app"), "db", "upgrade"], env={**os.environ, **env}, check=True,
                       capture_output=True)
        subprocess.run([str(BIN / "survey-app"), "demo"], env={**os.environ, **env}, check=True, capture_output=True)
        sys.path.insert(0, str(ROOT))
        from itsdangerous import URLSafeTimedSerializer

        engine = create_engine(url)
        with engine.connect() as conn:
            posters = conn.execute(text(
                "SELECT l.id, l.token, v.id FROM links l JOIN questionnaire_versions v "
                "ON v.questionnaire_id = l.questionnaire_id WHERE l.kind = 'poster' AND l.village_id IS NOT NULL "
                "AND l.questionnaire_id = (SELECT min(questionnaire_id) FROM links) ORDER BY l.id")).all()
        serializer = URLSafeTimedSerializer(SECRET, salt="respond-form")
        now = int(time.time())

        def body(link_id: int, token: str, version_id: int) -> tuple[str, str]:
            form_token = serializer.dumps({"l": link_id, "v": version_id, "k": secrets.token_urlsafe(24), "t": now})
            return (f"/R/{token}/submit", urlencode({"form_token": form_token, "satisfaction": "满意",
                                                     "identity": "其他", "aspect_1": "是", "comment": "好"}))

        # 34 villages answering at once through their own posters (one hash chain each) ...
        real_bodies = [body(*posters[i % len(posters)]) for i in range(args.requests)]
        # ... and the worst case: everybody through one village's poster (one chain)
        single_bodies = [body(*posters[0]) for _ in range(args.requests)]
        bare_bodies = [("/insert", urlencode({"satisfaction": "满意", "comment": "好"})) for _ in range(args.requests)]
        from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func

        Table("bench_rows", MetaData(), Column("id", Integer, primary_key=True), Column("satisfaction", String(16)),
              Column("comment", Text), Column("created_at", DateTime(timezone=True), server_default=func.now())
              ).create(engine)
        procs.append(_gunicorn("benchmarks.bare_app:app", 5101, env, args.workers))
        procs.append(_gunicorn("survey_app:create_app()", 5102, env, args.workers))
        _load(5101, bare_bodies[:200], args.concurrency)  # warm-up
        _load(5102, real_bodies[:200], args.concurrency)
        bare_t, bare_lat, bare_err = _load(5101, bare_bodies[200:], args.concurrency)
        real_t, real_lat, real_err = _load(5102, real_bodies[200:], args.concurrency)
        one_t, one_lat, one_err = _load(5102, single_bodies[200:], args.concurrency)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM responses")).scalar()
        engine.dispose()
        n = len(real_bodies) - 200
        bare_rps, real_rps = n / bare_t, n / real_t
        print("# collection benchmark\n")
        print(f"{n} timed submissions each, {args.concurrency} concurrent keep-alive clients, gunicorn "
              f"{args.workers} workers × 4 threads, PostgreSQL on loopback, rate limits off.\n")
        print("| app | submissions/s | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|")
        print(f"| baseline: bare Flask + SQLAlchemy insert | {bare_rps:.0f} | {_p(bare_lat, 50) * 1e3:.1f} | "
              f"{_p(bare_lat, 99) * 1e3:.1f} | {bare_err} |")
        print(f"| survey app `POST /R/<token>/submit`, 34 village posters | {real_rps:.0f} | "
              f"{_p(real_lat, 50) * 1e3:.1f} | {_p(real_lat, 99) * 1e3:.1f} | {real_err} |")
        print(f"| survey app, everyone through one poster (one hash chain) | {n / one_t:.0f} | "
              f"{_p(one_lat, 50) * 1e3:.1f} | {_p(one_lat, 99) * 1e3:.1f} | {one_err} |")
        print(f"\n**Ratio survey / baseline: {real_rps / bare_rps:.2f}** over 34 posters, "
              f"{(n / one_t) / bare_rps:.2f} through one poster (aims: ≥ 0.7 collection, ≥ 0.5 with the chain). "
              f"Responses stored: {stored} of {len(real_bodies) + len(single_bodies) - 200} sent (warm-up included).")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
