"""The results pages at scale: 10,000 responses per indicator, four indicators, 34 villages with populations.

Times a logged-in auditor's ``GET /results`` (every indicator) and one indicator's results page
(``GET /questionnaires/<id>/results``) through the Flask test client, against a baseline measured in
the same run on the same rows: a plain ``SELECT village_id, satisfaction, count(*) ... GROUP BY``
over all 40,000 responses (timed in turns; ratios are medians of the per-round ratios). Villages get
populations, so the villagers' indicators take the stratified design with its more-needed search
(the costliest figure).

Run: .venv/bin/python benchmarks/results_page_bench.py  (prints Markdown)
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402
from survey_app.models import Response  # noqa: E402
from survey_app.services.accounts import create_user  # noqa: E402

PER_INDICATOR = 10_000


def run(url: str) -> dict[str, float]:
    rng = random.Random(3)

    def uneven(unit) -> None:  # type: ignore[no-untyped-def]
        for village in unit.villages:  # uneven villages: the stratified design applies
            village.population = rng.randint(400, 2500)

    app, db, session, unit, published = common.demo_database(url, before_publish=uneven, WTF_CSRF_ENABLED=False)
    create_user(session, "auditor", common.PASSWORD, "auditor", actor="bench", all_units=True)
    session.commit()
    targets = [(q.id, q.current_version.id) for q in published]
    villages = [v.id for v in unit.villages]
    session.close()
    start_day = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        for n, (q_id, v_id) in enumerate(targets):
            answers = rng.choices(common.OPTIONS, common.WEIGHTS, k=PER_INDICATOR)
            conn.execute(insert(Response), [
                common.response_row(q_id, v_id, villages[(i * 7 + i // 50) % 34], f"{n}{i:08d}", a,
                             start_day + dt.timedelta(seconds=i * 60), chain_key=f"bench{n}", chain_seq=i + 1)
                for i, a in enumerate(answers)])
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE responses"))
    client = app.test_client()
    client.post("/auth/login", data={"username": "auditor", "password": common.PASSWORD})
    baseline_sql = text("SELECT questionnaire_id, village_id, satisfaction, count(*) FROM responses "
                        "GROUP BY questionnaire_id, village_id, satisfaction")

    def baseline() -> None:
        with db.engine.connect() as conn:
            conn.execute(baseline_sql).all()

    def page(path: str):  # type: ignore[no-untyped-def]
        def get() -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
        return get

    baseline()
    page("/results")()
    runs = common.interleaved_runs({"baseline": baseline, "all": page("/results"),
                                    "one": page(f"/questionnaires/{targets[0][0]}/results")}, repeat=7)
    out = {name: statistics.median(times) for name, times in runs.items()}
    out |= {f"{name}_ratio": common.median_ratio(runs, name, "baseline") for name in ("all", "one")}
    db.engine.dispose()
    return out


def main() -> None:
    results = common.on_both_databases(run)
    print("## Results pages: 10,000 responses per indicator, 4 indicators, 34 villages with populations\n")
    print(common.table(["database", "baseline: plain `GROUP BY` of the 40,000 rows", "`GET /results` (4 indicators)", "ratio",
                 "one indicator's results page", "ratio"],
                [[name, f"{r['baseline'] * 1e3:.0f} ms", f"{r['all'] * 1e3:.0f} ms", f"{r['all_ratio']:.1f}",
                  f"{r['one'] * 1e3:.0f} ms", f"{r['one_ratio']:.1f}"] for name, r in results.items()]))


if __name__ == "__main__":
    main()
