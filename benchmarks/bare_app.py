"""Baseline for collect_bench.py: a Flask + SQLAlchemy app that only inserts a row."""

import os

from flask import Flask, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, func

metadata = MetaData()
rows = Table(
    "bench_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("satisfaction", String(16)),
    Column("comment", Text),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)
engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)  # the table is created by collect_bench.py before the workers start


@app.post("/insert")
def insert():
    with engine.begin() as conn:
        conn.execute(rows.insert().values(satisfaction=request.form["satisfaction"], comment=request.form["comment"]))
    return "ok"
