"""Reading a county workbook: 2,000 projects and 30,000 indicator rows in long format (.xlsx).

Measured in child processes, same run, same file:

* baseline — openpyxl merely loading the file in read-only mode and walking every row
  (``load_workbook(read_only=True)`` + ``iter_rows(values_only=True)``);
* read — ``survey_app.importer.read_table`` (streaming reader, layout, interpretation: targets,
  groups, populations), everything up to the database;
* import — ``import_file`` into a fresh SQLite database (plan + apply + audit), for the record.

Reported: wall time and peak resident memory growth of each, and ratios against the baseline.

Run: .venv/bin/python benchmarks/import_bench.py [--projects 2000] [--rows-per-project 15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, tempfile, time
sys.path.insert(0, sys.argv[3])
os.environ.setdefault("SURVEY_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-instance-"))
mode, path = sys.argv[1], sys.argv[2]
import openpyxl
from survey_app.importer import read_table
if mode == "import":
    from survey_app import create_app
    from survey_app.db import get_db
    from survey_app.migrate import upgrade
    from survey_app.services.importing import import_file
    app = create_app({"DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/b.sqlite3", "SECRET_KEY": "b"})
    upgrade(app)
data = open(path, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "baseline":
    import io
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for ws in wb.worksheets for _ in ws.iter_rows(values_only=True))
    wb.close()
    extra = {"rows": rows}
elif mode == "read":
    table = read_table(data, "county.xlsx")
    extra = {"projects": len(table.projects), "indicators": sum(len(p.indicators) for p in table.projects),
             "units": len(table.units)}
else:
    with app.app_context():
        session = get_db(app).session()
        plan = import_file(session, data, "county.xlsx", actor="bench")
        session.commit()
        extra = {"projects": len(plan.table.projects)}
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_growth_mb": (after - before) / 1024, **extra}))
"""


def county_workbook(path: Path, projects: int, rows_per_project: int, units: int = 20) -> None:
    """A long-format county workbook: unit subtotal lines, project columns on every indicator row."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("项目支出绩效目标")
    sheet.append(["某某县2025年度项目支出绩效目标表"])
    sheet.append(["金额单位：万元"])
    sheet.append(["预算单位", "项目名称", "项目编码", "预算数", "年度目标", "一级指标", "二级指标", "三级指标", "指标性质",
                  "指标值", "度量单位", "指标说明"])
    per_unit = projects // units
    levels = [("产出指标", "数量指标"), ("产出指标", "质量指标"), ("产出指标", "时效指标"), ("产出指标", "成本指标"),
              ("效益指标", "社会效益指标"), ("效益指标", "可持续影响指标")]
    n = 0
    for u in range(units):
        unit = f"{900000 + u}某某{u + 1}镇人民政府"
        sheet.append([f"{900 + u}-某某{u + 1}镇部门"])
        for _ in range(per_unit):
            n += 1
            for r in range(rows_per_project):
                first = r == 0
                if r == rows_per_project - 1:
                    level1, level2, name, op, value, uom = "满意度指标", "服务对象满意度指标", "受益群众满意度", "≥", 90, "%"
                else:
                    level1, level2 = levels[r % len(levels)]
                    name, op, value, uom = f"指标{r + 1}", "≥" if r % 2 else "＝", 10 + r, "个"
                sheet.append([unit if first else None, f"项目{n}" if first else None, f"P{n:06d}" if first else None,
                              round(10 + n % 97 + 0.25, 2) if first else None, f"完成项目{n}的年度任务" if first else None,
                              level1, level2, name, op, value, uom, "按年度计划"])
    sheet.append(["合计"])
    workbook.save(path)


def measure(mode: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(ROOT)], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--rows-per-project", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "county.xlsx"
        county_workbook(path, args.projects, args.rows_per_project)
        print(f"workbook: {args.projects} projects, {args.projects * args.rows_per_project} indicator rows, "
              f"{path.stat().st_size / 1024 / 1024:.1f} MB")
        results: dict[str, list[dict]] = {"baseline": [], "read": [], "import": []}
        for _ in range(args.repeat):
            for mode in results:
                results[mode].append(measure(mode, path))
        base_t = statistics.median(r["seconds"] for r in results["baseline"])
        base_m = statistics.median(r["rss_growth_mb"] for r in results["baseline"])
        print(f"{'':<40}{'median s':>10}{'x base':>9}{'peak RSS growth MB':>21}{'x base':>9}")
        for mode, label in (("baseline", "openpyxl read-only load + walk rows"), ("read", "read_table (importer)"),
                            ("import", "import_file into SQLite")):
            t = statistics.median(r["seconds"] for r in results[mode])
            m = statistics.median(r["rss_growth_mb"] for r in results[mode])
            print(f"{label:<40}{t:>10.2f}{t / base_t:>9.2f}{m:>21.1f}{m / base_m:>9.2f}")
        print("read_table found:", {k: v for k, v in results["read"][0].items() if k not in ("seconds", "rss_growth_mb")})


if __name__ == "__main__":
    main()
