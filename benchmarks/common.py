"""What the benchmark scripts share: paths, timing, the demo database, both databases, Markdown output.

Each script puts the repository root on ``sys.path`` before importing this module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed_000_d78a732831ec7d8e.txt"
PG = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPTIONS = ["非常满意", "满意", "一般", "不满意", "非常不满意", "不了解"]
WEIGHTS = [0.55, 0.41, 0.02, 0.01, 0.005, 0.005]
PASSWORD = "correct horse battery"

os.environ.setdefault("SURVEY_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-instance-"))

T = TypeVar("T")


def median_seconds(fn: Callable[[], object], repeat: int = 5, number: int = 1,
                   before: Callable[[], object] | None = None) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls (``before`` runs untimed before each run)."""
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def interleaved_runs(fns: dict[str, Callable[[], object]], repeat: int = 9) -> dict[str, list[float]]:
    """Seconds of each run of each function, run in turns (order alternating) so that a burst of other load
    on a shared machine hits every one alike."""
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeat):
        for name in (list(fns) if r % 2 == 0 else list(reversed(fns))):
            start = time.perf_counter()
            fns[name]()
            runs[name].append(time.perf_counter() - start)
    return runs


def interleaved_medians(fns: dict[str, Callable[[], object]], repeat: int = 9) -> dict[str, float]:
    """Median seconds of each function, run in turns (see :func:`interleaved_runs`)."""
    return {name: statistics.median(values) for name, values in interleaved_runs(fns, repeat).items()}


def median_ratio(runs: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """The median over the rounds of ``numerator``'s time over ``denominator``'s in the same round."""
    return statistics.median(x / y for x, y in zip(runs[numerator], runs[denominator], strict=True))


def machine(**versions: str) -> str:
    """One line naming the machine and the versions that matter to the figures."""
    parts = [f"{name} {version}" for name, version in versions.items()]
    return (f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
            + "".join(f", {part}" for part in parts) + ".")


def table(header: list[str], rows: list[list[object]], align: str | None = None) -> str:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bench_app(url: str, **config: object):  # type: ignore[no-untyped-def]
    """An app on ``url`` with its database migrated."""
    from survey_app import create_app
    from survey_app.migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, **config})
    upgrade(app)
    return app


def demo_database(url: str, *, before_publish: Callable[[object], object] | None = None, **config: object):  # type: ignore[no-untyped-def]
    """A migrated database with the seed, 34 demo villages and the published questionnaires.

    ``before_publish(unit)`` may change the villages first. Returns (app, database, session, unit,
    published questionnaires); the caller closes the session.
    """
    from sqlalchemy import select

    from survey_app.db import get_db
    from survey_app.models import Unit
    from survey_app.services.demo import ensure_demo_villages, publish_demo_questionnaires
    from survey_app.services.importing import import_file

    app = bench_app(url, **config)
    db = get_db(app)
    session = db.session()
    import_file(session, SEED.read_bytes(), SEED.name, actor="bench", year=2024)
    unit = session.scalar(select(Unit))
    ensure_demo_villages(session, unit)
    if before_publish is not None:
        before_publish(unit)
    published = [q for q, _ in publish_demo_questionnaires(session, unit)]
    session.commit()
    return app, db, session, unit, published


def response_row(q_id: int, v_id: int, village_id: int, key: str, satisfaction: str, submitted_at: dt.datetime, *,
                 chain_key: str, chain_seq: int, answers: dict | None = None, comment: str = "") -> dict[str, object]:
    """A row for a bulk ``INSERT`` into responses: figures only, not a real hash chain."""
    return {"questionnaire_id": q_id, "version_id": v_id, "village_id": village_id, "channel": "poster",
            "submission_key": f"bench-{key}", "receipt": f"B{key}", "satisfaction": satisfaction,
            "answers": answers or {}, "comment": comment, "simulated": False, "network_hash": "", "device_hash": "",
            "entered_by": "", "form_no": "", "chain_key": chain_key, "chain_seq": chain_seq, "prev_hash": "0" * 64,
            "row_hash": "0" * 64, "submitted_at": submitted_at}


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """A fresh schema on the benchmark's PostgreSQL server, dropped afterwards."""
    from tests.conftest import pg_schema

    with pg_schema(PG, "bench") as url:
        yield url


def on_both_databases(run: Callable[[str], T]) -> dict[str, T]:
    """``run(url)`` on a fresh SQLite file and on a fresh PostgreSQL schema."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = run(f"sqlite:///{folder}/bench.sqlite3")
    with pg_schema_url() as url:
        results["PostgreSQL"] = run(url)
    return results
