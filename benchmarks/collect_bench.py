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
import socket
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


def _free_port() -> int:
    """A free loopback port (other benchmarks may run on this machine at the same time)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The worker processes of a gunicorn master (Linux)."""
    for _ in range(50):
        path = Path(f"/proc/{pid}/task/{pid}/children")
        kids = [int(p) for p in path.read_text().split()] if path.exists() else []
        if kids:
            return kids
        time.sleep(0.1)
    return []


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far (Linux /proc; gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _backends(admin, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    """PostgreSQL server processes serving connections named ``name`` (same machine: loopback)."""
    with admin.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                 {"n": name}).scalars())


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


def _load(port: int, bodies: list[tuple[str, str]], concurrency: int, tls=None) -> tuple[float, list[float], int]:
    """POST each (path, body) once; returns (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    index = [0]

    def connect() -> http.client.HTTPConnection:
        if tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def worker() -> None:
        conn = connect()
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
                conn = connect()
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


def _nginx(upstreams: list[int], port: int, work: Path) -> subprocess.Popen:
    """nginx with the kit's site (deploy/render-nginx.sh) on loopback, TLS with a self-signed certificate."""
    from tests.deploy_kit import nginx_binary, nginx_conf

    conf = nginx_conf(work, "127.0.0.1", https_port=port, http_port=_free_port(), upstreams=upstreams,
                      error_log=work / "error.log")
    proc = subprocess.Popen([nginx_binary(), "-p", str(work), "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc


def _scale_out(args, env, url, posters, body) -> None:  # type: ignore[no-untyped-def]
    """The same submissions through nginx to one app server, then to two (each --workers processes)."""
    import ssl
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="survey-scale-"))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    size = (args.requests - 200) // args.rounds
    results = {}
    for servers in (1, 2):
        ports = [_free_port() for _ in range(servers)]
        procs = [_gunicorn("survey_app:create_app()", port, env | {"SURVEY_SERVERS": str(servers),
                                                                  "SURVEY_TRUSTED_PROXIES": "1"}, args.workers)
                 for port in ports]
        https = _free_port()
        proxy = _nginx(ports, https, work)
        try:
            _load(https, [body(*posters[i % len(posters)]) for i in range(200)], args.concurrency, context)
            bodies = [body(*posters[i % len(posters)]) for i in range(size * args.rounds)]
            t, lat, err = _load(https, bodies, args.concurrency, context)
            results[servers] = (len(bodies) / t, lat, err)
        finally:
            proxy.terminate()
            proxy.wait(10)
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    print("\n## Scale-out: through nginx (TLS), 34 village posters\n")
    print("| app servers behind nginx | submissions/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for servers, (rps, lat, err) in results.items():
        print(f"| {servers} × gunicorn {args.workers} workers × 4 threads | {rps:.0f} | {_p(lat, 50) * 1e3:.1f} | "
              f"{_p(lat, 99) * 1e3:.1f} | {err} |")
    print(f"\nTwo servers / one: **{results[2][0] / results[1][0]:.2f}×** on this 2-core machine "
          "(both servers, nginx, PostgreSQL and the load generator share the same two cores).")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale-out", action="store_true", help="also 1 vs 2 app servers behind nginx (TLS)")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _schema_url(schema)
    # each app's connections carry a name, so that their PostgreSQL server processes' CPU can be read
    env = {"SURVEY_DATABASE_URL": url + "&application_name=bench_app", "SURVEY_SECRET_KEY": SECRET,
           "SURVEY_RATELIMIT_ENABLED": "false", "SURVEY_INSTANCE_PATH": f"/tmp/{schema}",
           "BENCH_DATABASE_URL": url + "&application_name=bench_bare"}
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
                "SELECT l.id, l.token, v.id, l.village_id FROM links l JOIN questionnaire_versions v "
                "ON v.questionnaire_id = l.questionnaire_id WHERE l.kind = 'poster' AND l.village_id IS NOT NULL "
                "AND l.questionnaire_id = (SELECT min(questionnaire_id) FROM links) ORDER BY l.id")).all()
        from survey_app.services.collection import form_payload

        serializer = URLSafeTimedSerializer(SECRET, salt="respond-form")

        def body(link_id: int, token: str, version_id: int, village_id: int) -> tuple[str, str]:
            # the token a form page of the app carries (as the app mints it)
            form_token = serializer.dumps(form_payload(link_id, version_id, card=False, village_id=village_id))
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
        bare_port, app_port = _free_port(), _free_port()
        procs.append(_gunicorn("benchmarks.bare_app:app", bare_port, env, args.workers))
        procs.append(_gunicorn("survey_app:create_app()", app_port, env, args.workers))
        _load(bare_port, bare_bodies[:200], args.concurrency)  # warm-up
        _load(app_port, real_bodies[:200], args.concurrency)
        # the machine is shared: the three runs take turns in rounds, so a burst of outside load
        # hits all of them alike; times, latencies and CPU are summed over the rounds
        runs = {"bare": (bare_port, bare_bodies, "bench_bare"), "posters": (app_port, real_bodies, "bench_app"),
                "one": (app_port, single_bodies, "bench_app")}
        sums = {name: {"t": 0.0, "lat": [], "err": 0, "app": 0.0, "pg": 0.0, "gen": 0.0} for name in runs}
        workers = {bare_port: _children(procs[0].pid), app_port: _children(procs[1].pid)}
        rounds = args.rounds
        size = (args.requests - 200) // rounds
        ratios = []
        for r in range(rounds):
            part = slice(200 + r * size, 200 + (r + 1) * size)
            round_t = {}
            for name, (port, bodies, app_name) in runs.items():
                before = _cpu(workers[port]), _cpu(_backends(admin, app_name)), time.process_time()
                t, lat, err = _load(port, bodies[part], args.concurrency)
                after = _cpu(workers[port]), _cpu(_backends(admin, app_name)), time.process_time()
                total = sums[name]
                round_t[name] = t
                total["t"] += t
                total["lat"] += lat
                total["err"] += err
                for key, b, a in zip(("app", "pg", "gen"), before, after, strict=True):
                    total[key] += a - b
            ratios.append(round_t["bare"] / round_t["posters"])
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM responses")).scalar()
        engine.dispose()
        verified = subprocess.run([str(BIN / "survey-app"), "verify"], env={**os.environ, **env},
                                  capture_output=True, text=True)
        n = size * rounds
        rps = {name: n / total["t"] for name, total in sums.items()}
        labels = {"bare": "baseline: bare Flask + SQLAlchemy insert",
                  "posters": "survey app `POST /R/<token>/submit`, 34 village posters",
                  "one": "survey app, everyone through one poster (one hash chain)"}
        print("# collection benchmark\n")
        print(f"{n} timed submissions each, {args.concurrency} concurrent keep-alive clients, gunicorn "
              f"{args.workers} workers × 4 threads, PostgreSQL on loopback, rate limits off.\n")
        print("| app | submissions/s | p50 ms | p99 ms | errors | CPU ms / submission: app workers | PostgreSQL | "
              "load generator |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, total in sums.items():
            print(f"| {labels[name]} | {rps[name]:.0f} | {_p(total['lat'], 50) * 1e3:.1f} | "
                  f"{_p(total['lat'], 99) * 1e3:.1f} | {total['err']} | {total['app'] / n * 1e3:.2f} | "
                  f"{total['pg'] / n * 1e3:.2f} | {total['gen'] / n * 1e3:.2f} |")
        cpu = {name: (total["app"] + total["pg"]) / n for name, total in sums.items()}
        print(f"\n**Ratio survey / baseline: {rps['posters'] / rps['bare']:.2f}** over 34 posters, "
              f"{rps['one'] / rps['bare']:.2f} through one poster (aim: ≥ 0.7). Ratio per round (34 posters): "
              f"{min(ratios):.2f}–{max(ratios):.2f}. CPU per submission (app workers + PostgreSQL), "
              f"baseline / survey: {cpu['bare'] / cpu['posters']:.2f} over 34 posters. Responses stored: "
              f"{stored} of {200 + 2 * n} sent (warm-up included); `survey-app verify`: "
              f"{'passed' if verified.returncode == 0 else 'FAILED'}.")
        if verified.returncode != 0:
            print(verified.stdout[-2000:], verified.stderr[-2000:])
        if args.scale_out:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            procs.clear()
            _scale_out(args, env, url, posters, body)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
