"""The results aggregation (SQL, one pass) against a straightforward reference computed in Python.

Random responses over villages, channels, two questionnaire versions, simulated rows, times
around midnight China time (16:00 UTC), exclusions (some reverted, some excluded again),
paper corrections (some corrected twice, some of them excluded) and the auditor's
``leave_out``: every count the figures rest on must equal the reference's.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from analysis.figure import figure
from survey_app.models import Channel, Exclusion, Response
from survey_app.services.collection import Answers, new_submission_key, submit
from survey_app.services.corrections import correct
from survey_app.services.exclusions import ExclusionError, exclude, revert_exclusion
from survey_app.services.questionnaires import publish
from survey_app.services.results import compute, compute_all

OPTIONS = ["非常满意", "满意", "一般", "不满意", "非常不满意", "不了解"]
CHINA_MIDNIGHT_UTC = dt.time(16, 0)


class Clock:
    """``utcnow`` for the services: the next submission time, set by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _near_china_midnight(rng: random.Random) -> dt.datetime:
    day = dt.date(2024, 11, 1) + dt.timedelta(days=rng.randrange(5))
    start = dt.datetime.combine(day, CHINA_MIDNIGHT_UTC, dt.UTC)
    offset = rng.choice([0, -1e-6, 1e-6, -1, 1, rng.uniform(-300, 300), rng.uniform(-12 * 3600, 12 * 3600)])
    return start + dt.timedelta(seconds=offset)


def _answers(rng: random.Random, villages, unlike: Response | None = None) -> Answers:  # type: ignore[no-untyped-def]
    while True:
        choice = rng.choices(OPTIONS, [30, 30, 10, 10, 10, 10])[0]
        village = rng.choice([*villages, None])
        answers = Answers({"satisfaction": choice}, choice, "", village.id if village else None)
        if unlike is None or (answers.values, answers.village_id) != (unlike.answers, unlike.village_id):
            return answers


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("survey_app.services.collection.utcnow", clock)
    monkeypatch.setattr("survey_app.services.corrections.utcnow", clock)
    return clock


def _fill(session, questionnaire, villages, rng, clock, n, cards=()):  # type: ignore[no-untyped-def]
    """n random responses (the first ones through ``cards``), then corrections and exclusions on them."""
    stored = []
    for i in range(n):
        if i == n // 2 and rng.random() < 0.7:  # a second version half-way
            questionnaire.draft = {**questionnaire.draft, "title": f"{questionnaire.draft['title']}（第二版）"}
            publish(session, questionnaire, actor="test")
        clock.now = _near_china_midnight(rng)
        card = cards[i] if i < len(cards) else None
        channel = Channel.CARD if card else rng.choice([Channel.PAPER, Channel.PAPER, Channel.INTERVIEW, Channel.POSTER])
        response, _ = submit(session, link=card, version=questionnaire.current_version, answers=_answers(rng, villages),
                             submission_key=new_submission_key(), channel=channel, entered_by="test",
                             simulated=rng.random() < 0.15)
        stored.append(response)
    session.commit()
    for response in rng.sample(stored, n // 5):  # corrections, some of them corrected again
        if response.simulated or response.channel in (Channel.POSTER, Channel.CARD):
            continue
        clock.now = _near_china_midnight(rng)
        latest = correct(session, response, _answers(rng, villages, response), "录入错误", actor="test")
        stored.append(latest)
        if rng.random() < 0.3:
            clock.now = _near_china_midnight(rng)
            stored.append(correct(session, latest, _answers(rng, villages, latest), "再次更正", actor="test"))
    session.commit()
    for response in rng.sample(stored, len(stored) // 6):  # exclusions, some reverted, some excluded again
        record = exclude(session, response, "重复填写", actor="test")
        if rng.random() < 0.4:
            revert_exclusion(session, record, "核实后恢复", actor="test")
            if rng.random() < 0.5:
                exclude(session, response, "再次核实为重复", actor="test")
    session.commit()
    with pytest.raises(ExclusionError):  # sanity: one active exclusion per response
        active = session.scalar(select(Exclusion).where(Exclusion.reverted_at.is_(None)))
        exclude(session, session.get(Response, active.response_id), "again", actor="test")
    session.rollback()


def _china_day(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment.astimezone(dt.UTC) + dt.timedelta(hours=8)).date().isoformat()


def _reference(session, questionnaire, *, simulated=False, leave_out=frozenset(),  # type: ignore[no-untyped-def]
               sample=None):
    """What the figures must rest on, computed row by row from the ORM objects. ``sample``: the drawn
    cards' ids when only answers through them count (a random draw, posters not pooled)."""
    everything = session.scalars(select(Response)).all()
    superseded = {r.supersedes_id for r in everything if r.supersedes_id is not None}
    active = {e.response_id for e in session.scalars(select(Exclusion)) if e.reverted_at is None}
    numbers = {v.id: v.number for v in questionnaire.versions}
    kept = [r for r in everything if r.questionnaire_id == questionnaire.id and r.simulated == simulated
            and r.id not in superseded]
    remaining = [r for r in kept if r.id not in active and r.id not in leave_out]
    counted = [r for r in remaining if sample is None or r.card_id in sample]
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for r in counted:
        per_day[_china_day(r.submitted_at)][r.satisfaction] += 1
    trend, cumulative = [], Counter()
    for day in sorted(per_day):
        cumulative.update(per_day[day])
        plain = figure([(None, None, option, count) for option, count in cumulative.items()])
        trend.append((day, plain.valid_n, plain.value))
    return {
        "excluded": sum(1 for r in kept if r.id in active),
        "cells": Counter((r.village_id, numbers[r.version_id], r.satisfaction) for r in counted),
        "channels": {c.value: sum(1 for r in counted if r.channel == c) for c in Channel},
        "trend": trend,
        "left_out": len(remaining) - len(counted),
    }


def _assert_matches(result, reference):  # type: ignore[no-untyped-def]
    cells = reference["cells"]
    expected = figure([(*key, count) for key, count in cells.items()], excluded=reference["excluded"])
    got = result.figure
    assert got.counts == expected.counts and {type(n) for n in got.counts.values()} <= {int}  # not Decimal
    assert {type(n) for n in result.channels.values()} == {int}
    assert got.versions == expected.versions
    assert (got.total, got.valid_n, got.dont_know, got.successes, got.excluded) == (
        expected.total, expected.valid_n, expected.dont_know, expected.successes, reference["excluded"])
    per_village = {v.village: (v.total, v.n, v.successes, v.dont_know) for v in got.villages}
    assert per_village == {v.village: (v.total, v.n, v.successes, v.dont_know) for v in expected.villages}
    assert result.channels == reference["channels"]
    assert [(t["date"], t["n"]) for t in result.trend] == [(d, n) for d, n, _ in reference["trend"]]
    assert [t["rate"] for t in result.trend] == pytest.approx([rate for _, _, rate in reference["trend"]])
    assert result.left_out == reference["left_out"]


def _check_all(session, chosen, samples, rng):  # type: ignore[no-untyped-def]
    everyone = {r.questionnaire.id: r for r in compute_all(session)}
    simulated = {r.questionnaire.id: r for r in compute_all(session, simulated=True)}
    for questionnaire in chosen:
        sample = None if questionnaire.pool_posters else samples.get(questionnaire.id)
        _assert_matches(compute(session, questionnaire), _reference(session, questionnaire, sample=sample))
        _assert_matches(everyone[questionnaire.id], _reference(session, questionnaire, sample=sample))
        _assert_matches(simulated[questionnaire.id], _reference(session, questionnaire, simulated=True, sample=sample))
        ids = session.scalars(select(Response.id).where(Response.questionnaire_id == questionnaire.id)).all()
        leave_out = set(rng.sample(ids, len(ids) // 4))
        _assert_matches(compute(session, questionnaire, leave_out=leave_out),
                        _reference(session, questionnaire, leave_out=leave_out, sample=sample))


@pytest.mark.parametrize("seed", [1, 2])
def test_aggregation_matches_row_by_row_reference(published, session, clock, seed):
    from survey_app.services import sampling
    from tests.test_sampling_app import _drawn

    rng = random.Random(seed)
    chosen = [published["村办公经费"], published["村干部工资"], published["自收自支人员补助"]]
    villages = list(chosen[0].indicator.project.unit.villages)[:6]
    _, cards = _drawn(session, chosen[2], sizes=(12, 10), frames=(40, 30))  # a random draw: cards only count
    samples = {chosen[2].id: {card.id for card in cards}}
    for questionnaire in chosen:
        _fill(session, questionnaire, villages, rng, clock, 90, cards=cards[:18] if questionnaire is chosen[2] else ())
    assert session.scalar(select(Response.id).where(Response.supersedes_id.is_not(None))) is not None
    _check_all(session, chosen, samples, rng)
    assert compute(session, chosen[2]).left_out > 0
    sampling.set_pool_posters(session, chosen[2], True, actor="test")  # staff pool the posters in
    session.commit()
    _check_all(session, chosen, samples, rng)
