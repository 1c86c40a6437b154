"""Demo data beyond the seed table."""

from __future__ import annotations

from sqlalchemy.orm import Session

from survey_app.models import Link, LinkKind, Questionnaire, Unit, Village

#: the seed says 34 villages (所辖村数量 34个) but not their names
DEMO_VILLAGE_COUNT = 34


def ensure_demo_villages(session: Session, unit: Unit) -> int:
    """Give the demo unit 34 placeholder villages, once. Returns the village count."""
    if not unit.villages:
        for n in range(1, DEMO_VILLAGE_COUNT + 1):
            session.add(Village(unit=unit, code=f"{n:03d}", name=f"演示村{n:02d}"))
        session.flush()
    return len(unit.villages)


#: villages that get card sheets in the demo, and how many cards each
DEMO_CARD_VILLAGES = 3
DEMO_CARDS = 10


def publish_demo_questionnaires(session: Session, unit: Unit) -> list[tuple[Questionnaire, Link]]:
    """Generate and publish the unit's questionnaires with posters and a few card sheets (once)."""
    from survey_app.services.distribution import by_village, ensure_posters, issue_cards
    from survey_app.services.questionnaires import ensure_questionnaire, publish

    published = []
    villages = list(unit.villages)
    for project in unit.projects:
        for indicator in project.indicators:
            if not indicator.is_satisfaction:
                continue
            questionnaire, _ = ensure_questionnaire(session, indicator, actor="demo")
            if questionnaire.current_version is None:
                publish(session, questionnaire, actor="demo")
            links = ensure_posters(session, questionnaire, villages, actor="demo")
            for village in villages[:DEMO_CARD_VILLAGES] if by_village(questionnaire) else [None]:
                has_cards = any(link.kind == LinkKind.CARD
                                and link.village_id == (village.id if village is not None else None)
                                for link in questionnaire.links)
                if not has_cards:
                    issue_cards(session, questionnaire, village, DEMO_CARDS, actor="demo")
            published.append((questionnaire, links[0]))
    return published


#: simulated answers per questionnaire, by project: (responses, satisfied, dont_know)
SIMULATION = {"村干部工资": (150, 146, 0), "自收自支人员补助": (31, 30, 0), "村办公经费": (240, 226, 6),
              "服务基层专项经费": (40, 37, 1)}


def simulate(session: Session, unit: Unit, *, seed: int = 2024) -> int:
    """Add labelled simulated responses (kept out of every real figure) once per questionnaire."""
    import random

    from sqlalchemy import func, select

    from survey_app.models import Channel, Response
    from survey_app.services.collection import Answers, new_submission_key, submit

    rng = random.Random(seed)
    added = 0
    villages = list(unit.villages)
    for project in unit.projects:
        for indicator in project.indicators:
            questionnaire = session.scalar(select(Questionnaire).where(Questionnaire.indicator_id == indicator.id))
            if questionnaire is None or questionnaire.current_version is None:
                continue
            if session.scalar(select(func.count(Response.id)).where(
                    Response.questionnaire_id == questionnaire.id, Response.simulated.is_(True))):
                continue
            total, satisfied, dont_know = SIMULATION.get(project.name, (60, 57, 1))
            answers = (["非常满意", "满意"] * total)[:satisfied]
            answers += ["不了解"] * dont_know
            answers += [rng.choice(["一般", "不满意", "非常不满意"]) for _ in range(total - satisfied - dont_know)]
            rng.shuffle(answers)
            version = questionnaire.current_version
            for n, choice in enumerate(answers):
                village = villages[n % min(len(villages), 8)] if villages else None
                channel = rng.choice([Channel.POSTER, Channel.POSTER, Channel.PAPER, Channel.INTERVIEW])
                values = {"satisfaction": choice, "identity": "其他"}
                submit(session, link=None, version=version,
                       answers=Answers(values, choice, "", village.id if village else None),
                       submission_key=new_submission_key(), channel=channel, entered_by="模拟数据",
                       simulated=True)
                added += 1
    return added
